import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { appendToStream } from "./appendToStream.ts";
import { appendToStreams } from "./appendToStreams.ts";
import { readStream } from "./readStream.ts";

const metadata = { userId: "u1", actor: "test" };
const event = (n: number) => ({ type: "TestHappened", schemaVersion: 1, data: { n } });

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 40 });
});
afterAll(async () => db?.drop());

const countRows = (streamId: string) =>
  db.pool.oneFirst(sql.type(z.object({ count: z.number() }))`
    SELECT count(*)::int AS count FROM events WHERE stream_id = ${streamId}`);

describe("appendToStream", () => {
  it("appends to a new stream and returns versions and global positions in order", async () => {
    const result = await appendToStream(db.pool, "s-new", 0, [event(1), event(2), event(3)], metadata);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.streamVersion).toBe(3);
    expect(result.globalPositions).toHaveLength(3);
    expect([...result.globalPositions].sort((a, b) => a - b)).toEqual(result.globalPositions);
    const events = await readStream(db.pool, "s-new");
    expect(events.map((e) => [e.streamVersion, (e.data as { n: number }).n])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(events.map((e) => e.globalPosition)).toEqual(result.globalPositions);
    expect(events[0]!.metadata).toEqual(metadata);
    expect(events[0]!.eventId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(events[0]!.recordedAt).toBeInstanceOf(Date);
  });

  it("refuses a wrong expected version with a typed conflict and writes nothing", async () => {
    await appendToStream(db.pool, "s-conflict", 0, [event(1)], metadata);
    const stale = await appendToStream(db.pool, "s-conflict", 0, [event(2)], metadata);
    expect(stale).toMatchObject({
      ok: false,
      kind: "version_conflict",
      expectedVersion: 0,
      actualVersion: 1,
    });
    const ahead = await appendToStream(db.pool, "s-conflict", 5, [event(2)], metadata);
    expect(ahead).toMatchObject({ ok: false, actualVersion: 1 });
    const missing = await appendToStream(db.pool, "s-missing", "exists", [event(1)], metadata);
    expect(missing).toMatchObject({ ok: false, actualVersion: 0 });
    expect(await countRows("s-conflict")).toBe(1);
    expect(await countRows("s-missing")).toBe(0);
  });

  it("accepts any version with 'any'", async () => {
    await appendToStream(db.pool, "s-any", "any", [event(1)], metadata);
    const result = await appendToStream(db.pool, "s-any", "any", [event(2), event(3)], metadata);
    expect(result).toMatchObject({ ok: true, streamVersion: 3 });
  });

  it("lets exactly one of N concurrent appenders with the same expected version win, with no partial rows", async () => {
    const streamId = "s-race";
    await appendToStream(db.pool, streamId, 0, [event(0)], metadata);
    const writers = 30;
    const results = await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        appendToStream(db.pool, streamId, 1, [event(i * 10 + 1), event(i * 10 + 2)], metadata),
      ),
    );
    const winners = results.filter((r) => r.ok);
    const conflicts = results.filter((r) => !r.ok);
    expect(winners).toHaveLength(1);
    expect(conflicts).toHaveLength(writers - 1);
    for (const conflict of conflicts)
      expect(conflict).toMatchObject({ kind: "version_conflict", actualVersion: 3 });
    expect(await countRows(streamId)).toBe(3);
    const versions = (await readStream(db.pool, streamId)).map((e) => e.streamVersion);
    expect(versions).toEqual([1, 2, 3]);
  });

  it("lets exactly one of N concurrent creators of a new stream win", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => appendToStream(db.pool, "s-create-race", 0, [event(i)], metadata)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(await countRows("s-create-race")).toBe(1);
  });

  it("joins the caller's transaction: a rollback leaves nothing", async () => {
    await expect(
      db.pool.transaction(async (tx) => {
        const result = await appendToStream(tx, "s-rolled-back", 0, [event(1)], metadata);
        expect(result.ok).toBe(true);
        throw new Error("caller changes its mind");
      }),
    ).rejects.toThrow("caller changes its mind");
    expect(await countRows("s-rolled-back")).toBe(0);
    const again = await appendToStream(db.pool, "s-rolled-back", 0, [event(1)], metadata);
    expect(again).toMatchObject({ ok: true, streamVersion: 1 });
  });
});

describe("appendToStreams", () => {
  it("appends to several streams atomically", async () => {
    const result = await appendToStreams(
      db.pool,
      [
        { streamId: "m-a", expectedVersion: 0, events: [event(1)] },
        { streamId: "m-b", expectedVersion: 0, events: [event(2)] },
      ],
      metadata,
    );
    expect(result.ok).toBe(true);
    expect(await countRows("m-a")).toBe(1);
    expect(await countRows("m-b")).toBe(1);
  });

  it("writes nothing to any stream when one of them conflicts", async () => {
    await appendToStream(db.pool, "m-c", 0, [event(1)], metadata);
    const result = await appendToStreams(
      db.pool,
      [
        { streamId: "m-d", expectedVersion: 0, events: [event(1)] },
        { streamId: "m-c", expectedVersion: 0, events: [event(2)] },
      ],
      metadata,
    );
    expect(result).toMatchObject({ ok: false, streamId: "m-c", actualVersion: 1 });
    expect(await countRows("m-d")).toBe(0);
    expect(await countRows("m-c")).toBe(1);
  });

  it("inside a caller's transaction, undoes only its own appends on conflict", async () => {
    await appendToStream(db.pool, "m-e", 0, [event(1)], metadata);
    await db.pool.transaction(async (tx) => {
      await appendToStream(tx, "m-f", 0, [event(1)], metadata);
      const result = await appendToStreams(
        tx,
        [
          { streamId: "m-g", expectedVersion: 0, events: [event(1)] },
          { streamId: "m-e", expectedVersion: 0, events: [event(1)] },
        ],
        metadata,
      );
      expect(result.ok).toBe(false);
    });
    expect(await countRows("m-f")).toBe(1);
    expect(await countRows("m-g")).toBe(0);
  });
});

describe("the log is append-only", () => {
  it("refuses UPDATE and DELETE of events", async () => {
    await appendToStream(db.pool, "s-immutable", 0, [event(1)], metadata);
    await expect(
      db.pool.query(sql.unsafe`UPDATE events SET type = 'x' WHERE stream_id = 's-immutable'`),
    ).rejects.toThrow(/append-only/);
    await expect(
      db.pool.query(sql.unsafe`DELETE FROM events WHERE stream_id = 's-immutable'`),
    ).rejects.toThrow(/append-only/);
  });
});
