import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendToStream } from "../appendToStream.ts";
import { createDatabasePool, type DatabasePool } from "../db.ts";
import { migrateDatabase } from "../migrations.ts";
import { readAll } from "../readAll.ts";
import { readStream } from "../readStream.ts";
import { type EmbeddedDatabase, openEmbeddedDatabase } from "./embeddedDatabase.ts";

const execFileAsync = promisify(execFile);
let dataDir: string;
let embedded: EmbeddedDatabase;
let pool: DatabasePool;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "ml-emb-"));
  embedded = await openEmbeddedDatabase(dataDir);
  await migrateDatabase(embedded.url);
  pool = await createDatabasePool(embedded.url, { maximumPoolSize: 8, preparedStatements: false });
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await embedded?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const metadata = { userId: "u-embedded" };

describe("embedded database (PGlite)", () => {
  it("keeps each connection's exchanges whole when many run at once, transactions included", async () => {
    // Statements with different numbers of parameters on the unnamed statement, from eight
    // connections at once, with transactions in between: each answer is its own.
    const work = Array.from({ length: 240 }, async (_, i) => {
      if (i % 10 === 0) {
        return pool.transaction(async (tx) => {
          const a = await tx.oneFirst(sql.unsafe`SELECT ${i}::int AS v`);
          const b = await tx.oneFirst(sql.unsafe`SELECT ${i}::int + ${1}::int AS v`);
          return [a, b];
        });
      }
      const values = Array.from({ length: 1 + (i % 4) }, (_, k) => sql.fragment`${i * 10 + k}::int`);
      return [await pool.oneFirst(sql.unsafe`SELECT ${sql.join(values, sql.fragment` + `)} AS v`)];
    });
    const answers = await Promise.all(work);
    answers.forEach((answer, i) => {
      if (i % 10 === 0) expect(answer).toEqual([i, i + 1]);
      else {
        const count = 1 + (i % 4);
        expect(answer).toEqual([count * i * 10 + (count * (count - 1)) / 2]);
      }
    });
  });

  it("runs the event store: append, conflict, read back", async () => {
    const first = await appendToStream(
      pool,
      "e-1",
      0,
      [{ type: "T", schemaVersion: 1, data: { n: 1 } }],
      metadata,
    );
    expect(first).toMatchObject({ ok: true, streamVersion: 1 });
    const conflict = await appendToStream(
      pool,
      "e-1",
      0,
      [{ type: "T", schemaVersion: 1, data: { n: 2 } }],
      metadata,
    );
    expect(conflict).toMatchObject({ ok: false, actualVersion: 1 });
    const events = await readStream(pool, "e-1");
    expect(events.map((e) => e.data)).toEqual([{ n: 1 }]);
  });

  it("keeps concurrent transactions atomic over the shared session", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        pool
          .transaction(async (tx) => {
            const result = await appendToStream(
              tx,
              `e-tx-${i % 4}`,
              "any",
              [{ type: "T", schemaVersion: 1, data: { i } }],
              metadata,
            );
            if (i % 5 === 0) throw new Error("rollback");
            return result;
          })
          .catch(() => null),
      ),
    );
    expect(results.filter((r) => r === null)).toHaveLength(4);
    const all = await readAll(pool, 0, 1000);
    const committed = all.events
      .filter((e) => e.streamId.startsWith("e-tx-"))
      .map((e) => (e.data as { i: number }).i);
    expect(committed.sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 5 !== 0),
    );
  });

  it("refuses to open the same directory twice in one process", async () => {
    await expect(openEmbeddedDatabase(dataDir)).rejects.toThrow(/already open in this process/);
  });

  it("lets a second process join through the socket instead of opening the directory twice", async () => {
    const script = `
      import { openEmbeddedDatabase } from ${JSON.stringify(path.resolve("src/events/embedded/embeddedDatabase.ts"))};
      import pg from "pg";
      const db = await openEmbeddedDatabase(${JSON.stringify(dataDir)});
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query("SELECT count(*)::int AS n FROM events WHERE stream_id = 'e-1'");
      await client.end();
      await db.close();
      console.log(JSON.stringify({ owner: db.owner, n: rows[0].n }));
    `;
    const { stdout } = await execFileAsync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: path.resolve("."),
    });
    expect(JSON.parse(stdout)).toEqual({ owner: false, n: 1 });
    // The joiner's close() leaves the owner's database serving.
    expect(await readStream(pool, "e-1")).toHaveLength(1);
  });
});
