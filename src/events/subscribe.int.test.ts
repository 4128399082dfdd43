import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { appendToStream } from "./appendToStream.ts";
import type { RecordedEvent } from "./envelope.ts";
import { createAppendNotifier, createPgLogWakeup, type LogWakeup } from "./logWakeup.ts";
import { subscribe } from "./subscribe.ts";

let db: TestDatabase;
let wakeup: LogWakeup;
beforeAll(async () => {
  db = await createTestDatabase();
  wakeup = createPgLogWakeup(db.url);
});
afterAll(async () => {
  await wakeup?.close();
  await db?.drop();
});

const metadata = { userId: "u-sub" };

function collector() {
  const events: RecordedEvent[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  return {
    events,
    onBatch: async (batch: RecordedEvent[]) => {
      events.push(...batch);
      for (const waiter of waiters) if (events.length >= waiter.count) waiter.resolve();
    },
    until: (count: number) =>
      new Promise<void>((resolve) => {
        if (events.length >= count) resolve();
        else waiters.push({ count, resolve });
      }),
  };
}

describe("subscribe", () => {
  it("delivers existing events from the start position, then new ones within milliseconds of commit", async () => {
    await appendToStream(db.pool, "sub-a", 0, [{ type: "T", schemaVersion: 1, data: { n: 1 } }], metadata);
    const sink = collector();
    // A poll interval far above the expected latency: only LISTEN/NOTIFY can make it fast.
    const subscription = subscribe(db.pool, {
      after: 0,
      wakeup,
      pollIntervalMs: 10_000,
      onBatch: sink.onBatch,
    });
    await sink.until(1);

    const notifier = createAppendNotifier(db.pool);
    const latencies: number[] = [];
    for (let n = 2; n <= 11; n += 1) {
      const started = performance.now();
      await appendToStream(db.pool, "sub-a", "any", [{ type: "T", schemaVersion: 1, data: { n } }], metadata);
      notifier.notify();
      await sink.until(n);
      latencies.push(performance.now() - started);
    }
    await subscription.stop();
    expect(sink.events.map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    latencies.sort((a, b) => a - b);
    expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(1_000);
  });

  it("resumes after a checkpoint without redelivering what was handled", async () => {
    const first = collector();
    const s1 = subscribe(db.pool, { after: 0, wakeup, onBatch: first.onBatch });
    await first.until(11);
    await s1.stop();
    const checkpoint = s1.position;

    await appendToStream(db.pool, "sub-b", 0, [{ type: "T", schemaVersion: 1, data: { n: 12 } }], metadata);
    const second = collector();
    const s2 = subscribe(db.pool, { after: checkpoint, wakeup, onBatch: second.onBatch });
    await second.until(1);
    await s2.stop();
    expect(second.events.map((e) => e.streamId)).toEqual(["sub-b"]);
  });

  it("falls back to polling when no wakeup source is given", async () => {
    const sink = collector();
    const subscription = subscribe(db.pool, { after: 0, pollIntervalMs: 20, onBatch: sink.onBatch });
    await sink.until(12);
    await appendToStream(db.pool, "sub-c", 0, [{ type: "T", schemaVersion: 1, data: { n: 13 } }], metadata);
    await sink.until(13);
    await subscription.stop();
    expect(sink.events.at(-1)?.streamId).toBe("sub-c");
  });

  it("retries a failing handler without skipping the batch", async () => {
    const sink = collector();
    let failures = 0;
    const subscription = subscribe(db.pool, {
      after: 0,
      pollIntervalMs: 20,
      onBatch: async (batch) => {
        if (failures < 1) {
          failures += 1;
          throw new Error("projection down");
        }
        await sink.onBatch(batch);
      },
      onError: () => {},
    });
    await sink.until(13);
    await subscription.stop();
    expect(failures).toBe(1);
    expect(sink.events[0]?.streamId).toBe("sub-a");
  });
});
