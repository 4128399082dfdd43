// A refused command keeps its database connection. slonik discards a pooled connection whenever
// the work it was lent for throws; a refusal (NO [ALREADYEXISTS], [NONEXISTENT], [TRYCREATE]) is
// not a broken connection, and discarding it cost a new PostgreSQL backend per NO. The refusal
// still reaches the caller as a DomainError, and what the refused command began is rolled back.
import { sql } from "slonik";
import { afterAll, beforeAll, expect, it } from "vitest";
import { z } from "zod";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { createDatabasePool, type DatabasePool } from "../events/db.ts";
import type { DomainContext } from "./context.ts";
import { DomainError } from "./errors.ts";
import { createMailbox, deleteMailbox } from "./mailbox/handlers.ts";
import { testDomainContext } from "./testing/context.ts";
import { createUser } from "./user/handlers.ts";

let db: TestDatabase;
let pool: DatabasePool;
let ctx: DomainContext;
let userId: string;

/** Backends started for this database so far (PostgreSQL 14+). */
async function sessionsStarted(): Promise<number> {
  return db.pool.oneFirst(sql.type(z.object({ sessions: z.number() }))`
    SELECT sessions::int AS sessions FROM pg_stat_database WHERE datname = current_database()`);
}

beforeAll(async () => {
  db = await createTestDatabase();
  // A pool of its own, as a gateway's: its connections are the ones counted.
  pool = await createDatabasePool(db.url, { maximumPoolSize: 2 });
  ctx = testDomainContext(pool);
  ({ userId } = await createUser(ctx, { username: "refused", password: "pw" }));
  await createMailbox(ctx, { userId, name: "Work" });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

it("answers thirty refusals on the connections it has, and each still refuses", async () => {
  const before = await sessionsStarted();
  for (let i = 0; i < 15; i++) {
    await expect(createMailbox(ctx, { userId, name: "Work" })).rejects.toBeInstanceOf(DomainError);
    await expect(deleteMailbox(ctx, { userId, name: "Nope" })).rejects.toBeInstanceOf(DomainError);
  }
  // The counting pool's own backend may start once; the refusals start none.
  expect((await sessionsStarted()) - before).toBeLessThanOrEqual(1);
  // Nothing of a refused command stayed: the mailbox is there once, the missing one still missing.
  const names = await pool.anyFirst(sql.type(z.object({ name: z.string() }))`
    SELECT name FROM mailboxes WHERE user_id = ${userId} AND status <> 'deleted' ORDER BY name`);
  expect(names).toEqual(["INBOX", "Work"]);
});
