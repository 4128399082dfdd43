// Event store throughput: appends/s by batch size and writer count, and readAll events/s.
// Usage: node bench/event-store.ts [--seconds 3]
// Targets (issue 2): >= 3,000 single-event appends/s with 8 writers, >= 50,000 events/s in
// batches of 100, readAll >= 100,000 events/s.
import { parseArgs } from "node:util";
import { appendToStream } from "../src/events/appendToStream.ts";
import { readAll } from "../src/events/readAll.ts";
import { createScratchDatabase, formatRate } from "./support.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "3" } } });
const seconds = Number(values.seconds);

const db = await createScratchDatabase(16);
const metadata = { userId: "bench-user", actor: "bench", sessionId: "bench-session", nodeId: "bench" };
const payload = {
  uid: 1,
  modSeq: 1,
  flags: ["\\Seen"],
  internalDate: new Date().toISOString(),
  size: 10_240,
  blobDigest: "0".repeat(64),
  headerSummary: { messageId: "<bench@example.org>", subject: "Benchmark message", from: "a@example.org" },
};

async function appendRun(batchSize: number, writers: number): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  let events = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      const streamId = `bench-${batchSize}-${writers}-${writer}`;
      let version = 0;
      const batch = Array.from({ length: batchSize }, () => ({
        type: "BenchHappened",
        schemaVersion: 1,
        data: payload,
      }));
      while (performance.now() < deadline) {
        const result = await appendToStream(db.pool, streamId, version, batch, metadata);
        if (!result.ok) throw new Error(`unexpected conflict on ${streamId}`);
        version = result.streamVersion;
        events += batchSize;
      }
    }),
  );
  const elapsed = performance.now() - started;
  console.log(
    `append  batch=${String(batchSize).padStart(3)}  writers=${writers}  ${formatRate(events, elapsed).padStart(9)} events/s  ${formatRate(events / batchSize, elapsed).padStart(7)} appends/s`,
  );
}

console.log(`event store bench (${seconds}s per run, PostgreSQL at ${new URL(db.url).host})`);
try {
  for (const batchSize of [1, 10, 100]) {
    for (const writers of [1, 8]) await appendRun(batchSize, writers);
  }
  for (const pageSize of [1_000, 5_000]) {
    const started = performance.now();
    let position = 0;
    let events = 0;
    for (;;) {
      const page = await readAll(db.pool, position, pageSize);
      if (page.events.length === 0) break;
      events += page.events.length;
      position = page.position;
    }
    console.log(
      `readAll page=${pageSize}  ${formatRate(events, performance.now() - started).padStart(9)} events/s  (${events.toLocaleString("en-US")} events)`,
    );
  }
} finally {
  await db.drop();
}
