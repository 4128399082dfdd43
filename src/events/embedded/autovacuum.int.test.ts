// The embedded database's autovacuum, on a real PostgreSQL with the launcher kept off the table:
// a table past the dead-row threshold is vacuumed and analyzed, its dead rows reclaimed; one
// below every threshold is left alone; the loop runs passes until stopped.
import { sql } from "slonik";
import { afterAll, beforeAll, expect, it } from "vitest";
import { z } from "zod";
import { createTestDatabase, type TestDatabase } from "../../../test/support/database.ts";
import { autovacuumPass, startAutovacuum } from "./autovacuum.ts";

let db: TestDatabase;

const counters = z.object({ dead: z.number(), vacuums: z.number(), analyzes: z.number() });

async function countersOf(table: string) {
  // Statistics reach pg_stat_user_tables when a backend flushes them: this one's at once.
  await db.pool.query(sql.unsafe`SELECT pg_stat_force_next_flush()`);
  return db.pool.one(sql.type(counters)`
    SELECT n_dead_tup::int AS dead, vacuum_count::int AS vacuums, analyze_count::int AS analyzes
    FROM pg_stat_user_tables WHERE relname = ${table}`);
}

beforeAll(async () => {
  db = await createTestDatabase();
  for (const table of ["churned", "quiet"]) {
    // PostgreSQL's own launcher stays off these two: only the pass under test vacuums them.
    await db.pool.query(
      sql.unsafe`CREATE TABLE ${sql.identifier([table])} (id int PRIMARY KEY, flags text[]) WITH (autovacuum_enabled = false)`,
    );
  }
  await db.pool.query(sql.unsafe`INSERT INTO churned SELECT g, '{}' FROM generate_series(1, 300) AS g`);
  await db.pool.query(sql.unsafe`INSERT INTO quiet SELECT g, '{}' FROM generate_series(1, 20) AS g`);
  // A first pass settles what the inserts left due (the insert and analyze thresholds).
  await countersOf("churned");
  await autovacuumPass(db.pool);
  // As a mailbox's flags change: every update leaves a dead version.
  for (let round = 0; round < 4; round++) {
    await db.pool.query(sql.unsafe`UPDATE churned SET flags = array_append(flags, ${`$r${round}`})`);
  }
});

afterAll(async () => {
  await db?.drop();
});

it("vacuums and analyzes a table past the dead-row threshold, and leaves a quiet one alone", async () => {
  const before = { churned: await countersOf("churned"), quiet: await countersOf("quiet") };
  // Above the threshold (50 + 20% of 300) by far, whatever page pruning reclaimed on the way.
  expect(before.churned.dead).toBeGreaterThan(600);

  const done = await autovacuumPass(db.pool);
  expect(done).toContain("public.churned");
  expect(done).not.toContain("public.quiet");
  const after = { churned: await countersOf("churned"), quiet: await countersOf("quiet") };
  expect(after.churned.dead).toBe(0);
  expect(after.churned.vacuums).toBe(before.churned.vacuums + 1);
  expect(after.churned.analyzes).toBe(before.churned.analyzes + 1);
  expect(after.quiet).toEqual(before.quiet);
  // Nothing is due any more.
  expect(await autovacuumPass(db.pool)).not.toContain("public.churned");
});

it("runs passes on its own until stopped", async () => {
  await db.pool.query(sql.unsafe`UPDATE churned SET flags = '{}'`);
  await countersOf("churned");
  const errors: unknown[] = [];
  const loop = startAutovacuum(db.pool, { intervalMs: 50, onError: (error) => errors.push(error) });
  const deadline = Date.now() + 10_000;
  while ((await countersOf("churned")).dead > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await loop.stop();
  expect((await countersOf("churned")).dead).toBe(0);
  expect(errors).toEqual([]);
});
