import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { appendToStream } from "./appendToStream.ts";
import { readAll } from "./readAll.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 16 });
});
afterAll(async () => db?.drop());

const metadata = { userId: "u-readall" };

describe("readAll", () => {
  it("returns events in position order in pages", async () => {
    for (let i = 0; i < 5; i += 1) {
      await appendToStream(db.pool, `page-${i}`, 0, [{ type: "T", schemaVersion: 1, data: { i } }], metadata);
    }
    const first = await readAll(db.pool, 0, 3);
    expect(first.events.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2]);
    const second = await readAll(db.pool, first.position, 10);
    expect(second.events.map((e) => (e.data as { i: number }).i)).toEqual([3, 4]);
    const third = await readAll(db.pool, second.position, 10);
    expect(third.events).toEqual([]);
    expect(third.position).toBe(second.position);
  });

  it("moves past positions of rolled-back transactions without waiting forever", async () => {
    const start = (await readAll(db.pool, 0, 1000)).position;
    await db.pool
      .transaction(async (tx) => {
        await appendToStream(tx, "rolled-back", 0, [{ type: "T", schemaVersion: 1, data: {} }], metadata);
        throw new Error("rollback");
      })
      .catch(() => {});
    await appendToStream(db.pool, "after-rollback", 0, [{ type: "T", schemaVersion: 1, data: {} }], metadata);
    const result = await readAll(db.pool, start, 100);
    expect(result.events.map((e) => e.streamId)).toEqual(["after-rollback"]);
    expect(result.waitingOnGap).toBe(false);
  });

  it("does not hand out a position while a smaller one is held by a running transaction", async () => {
    const start = (await readAll(db.pool, 0, 1000)).position;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let appended!: () => void;
    const appendedInside = new Promise<void>((resolve) => {
      appended = resolve;
    });
    const slow = db.pool.transaction(async (tx) => {
      await appendToStream(tx, "slow", 0, [{ type: "T", schemaVersion: 1, data: {} }], metadata);
      appended();
      await held;
    });
    await appendedInside;
    await appendToStream(db.pool, "fast", 0, [{ type: "T", schemaVersion: 1, data: {} }], metadata);

    const blocked = await readAll(db.pool, start, 100, { gapWaitMs: 50 });
    expect(blocked.events).toEqual([]);
    expect(blocked.waitingOnGap).toBe(true);
    expect(blocked.position).toBe(start);

    release();
    await slow;
    const settled = await readAll(db.pool, start, 100);
    expect(settled.events.map((e) => e.streamId)).toEqual(["slow", "fast"]);
  });

  it("waits only for transactions that append to this database, not for other writers", async () => {
    const start = (await readAll(db.pool, 0, 1000)).position;
    const other = await createTestDatabase();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holding!: () => void;
    const started = new Promise<void>((resolve) => {
      holding = resolve;
    });
    // A gap here, while another database has an append in flight and this one a plain writer.
    await db.pool
      .transaction(async (tx) => {
        await appendToStream(tx, "gap", 0, [{ type: "T", schemaVersion: 1, data: {} }], metadata);
        throw new Error("rollback");
      })
      .catch(() => {});
    await appendToStream(db.pool, "after-gap", 0, [{ type: "T", schemaVersion: 1, data: {} }], metadata);
    const elsewhere = other.pool.transaction(async (tx) => {
      await appendToStream(tx, "elsewhere", 0, [{ type: "T", schemaVersion: 1, data: {} }], metadata);
      holding();
      await held;
    });
    const plainWriter = db.pool.transaction(async (tx) => {
      await tx.query(sql.unsafe`CREATE TEMP TABLE holding_an_xid (x int)`);
      await held;
    });
    try {
      await started;
      const read = await readAll(db.pool, start, 100, { gapWaitMs: 2_000 });
      expect(read.events.map((e) => e.streamId)).toEqual(["after-gap"]);
      expect(read.waitingOnGap).toBe(false);
    } finally {
      release();
      await elsewhere;
      await plainWriter;
      await other.drop();
    }
  });

  it("a concurrent tailing reader sees every event of 8 writers x 1000 exactly once, in position order", async () => {
    const start = (await readAll(db.pool, 0, 100_000)).position;
    const writers = 8;
    const perWriter = 1000;
    let writing = true;
    const writeAll = Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i += 1) {
          // Some transactions roll back after drawing positions, to make real gaps.
          if (i % 97 === 13) {
            await db.pool
              .transaction(async (tx) => {
                await appendToStream(
                  tx,
                  `w${w}`,
                  "any",
                  [{ type: "Doomed", schemaVersion: 1, data: {} }],
                  metadata,
                );
                throw new Error("rollback");
              })
              .catch(() => {});
          }
          await appendToStream(
            db.pool,
            `w${w}`,
            "any",
            [{ type: "T", schemaVersion: 1, data: { w, i } }],
            metadata,
          );
        }
      }),
    ).finally(() => {
      writing = false;
    });

    const seen: { position: number; w: number; i: number }[] = [];
    let position = start;
    while (writing || seen.length < writers * perWriter) {
      const batch = await readAll(db.pool, position, 137);
      for (const event of batch.events) {
        const data = event.data as { w: number; i: number };
        seen.push({ position: event.globalPosition, w: data.w, i: data.i });
      }
      position = batch.position;
      if (batch.events.length === 0) {
        if (!writing) {
          const rest = await readAll(db.pool, position, 100_000);
          if (rest.events.length === 0) break;
          for (const event of rest.events) {
            const data = event.data as { w: number; i: number };
            seen.push({ position: event.globalPosition, w: data.w, i: data.i });
          }
          position = rest.position;
        } else {
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
    }
    await writeAll;

    expect(seen).toHaveLength(writers * perWriter);
    for (let k = 1; k < seen.length; k += 1) expect(seen[k]!.position).toBeGreaterThan(seen[k - 1]!.position);
    const keys = new Set(seen.map((s) => `${s.w}:${s.i}`));
    expect(keys.size).toBe(writers * perWriter);
    // Per writer, its events arrive in the order it wrote them.
    for (let w = 0; w < writers; w += 1) {
      const mine = seen.filter((s) => s.w === w).map((s) => s.i);
      expect(mine).toEqual(Array.from({ length: perWriter }, (_, i) => i));
    }
    // Nothing the store holds was missed.
    const stored = await db.pool.oneFirst(sql.unsafe`
      SELECT count(*)::int FROM events WHERE global_position > ${start} AND type = 'T'`);
    expect(stored).toBe(writers * perWriter);
  });
});
