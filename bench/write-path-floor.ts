// The floor of one acknowledged write under DESIGN.md's contracts, with no mailledger code in
// it, and of the doorbell that follows it. N clients, each in a loop, one write at a time:
//
//   1. a PostgreSQL transaction inserting one event row (BEGIN, INSERT, COMMIT);
//   1b. the same insert as one statement, outside any transaction: what STORE, EXPUNGE and
//      APPEND take when nothing moved since they read (src/commands/commit.ts). Contract 1 and
//      2: the tagged OK waits for this commit, and for nothing after it;
//   2. that event produced to Kafka with acks from all replicas, keyed by user (contract 5), by
//      one sender that sends what queued meanwhile together, as the relay does;
//   3. received by a consumer group;
//   4. then a Redis PUBLISH heard by the writer: the notifier's doorbell, rung as soon as an event
//      is read (contract 9) — the floor of an IDLE client's EXISTS on another node;
//   5. with a consumer transaction before the PUBLISH instead: what every OK waited for before the
//      contracts were restated (the projector's batch, then its notice).
//
// Steps 2 to 4 happen after the OK, in the background; they are here for the doorbell's latency.
// The real paths have more on top (the index rows in the same statement, the relay reading the
// log from PostgreSQL, the session's own reads), so each line is a lower bound.
//
// Usage: node bench/write-path-floor.ts [--clients 4] [--seconds 10]
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { ulid } from "ulid";
import { Kafka, logLevel } from "../src/events/kafka.ts";
import { admin, BENCH_POSTGRES_URL, percentile } from "./support.ts";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "4" },
    seconds: { type: "string", default: "10" },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const KAFKA_BROKERS = process.env.BENCH_KAFKA_BROKERS ?? "127.0.0.1:9092";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

const unique = ulid().toLowerCase();
const database = `mailledger_bench_floor_${unique}`;
const url = new URL(BENCH_POSTGRES_URL);
url.pathname = `/${database}`;
const topic = `mailledger.bench.floor.${unique}`;
const groupId = `bench-floor-${unique}`;
const channel = `mailledger.bench.floor.${unique}`;

const kafka = new Kafka({
  clientId: `bench-floor-${unique}`,
  brokers: [KAFKA_BROKERS],
  logLevel: logLevel.NOTHING,
});

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return client;
}

/** Runs `write` in a loop on each client for `seconds`; the latencies in ms, sorted. */
async function runLoop(write: (client: number, n: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let n = 0; performance.now() < until; n++) {
        const started = performance.now();
        await write(client, n);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

function report(label: string, latencies: readonly number[]): void {
  const perSecond = (latencies.length / seconds).toFixed(0).padStart(6);
  const p50 = percentile(latencies, 50).toFixed(2);
  const p99 = percentile(latencies, 99).toFixed(2);
  console.log(`${label.padEnd(46)} ${perSecond} writes/s   p50 ${p50} ms   p99 ${p99} ms`);
}

await admin(`CREATE DATABASE ${database}`);
const setup = await connect();
await setup.query(`
  CREATE TABLE events (global_position bigserial PRIMARY KEY, user_id text NOT NULL, data jsonb NOT NULL);
  CREATE TABLE view_rows (user_id text PRIMARY KEY, global_position bigint NOT NULL, applied int NOT NULL)`);
await setup.end();

const kafkaAdmin = kafka.admin();
await kafkaAdmin.connect();
await kafkaAdmin.createTopics({
  topics: [{ topic, numPartitions: 8, replicationFactor: 1 }],
  waitForLeaders: true,
});
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, allowAutoTopicCreation: false });
const publisher = new Redis(REDIS_URL);
const subscriber = new Redis(REDIS_URL);
const writers = await Promise.all(Array.from({ length: clients }, connect));
const projector = new pg.Pool({ connectionString: url.toString(), max: 4 });

/** position → resolve of the writer waiting for its event to be seen. */
const waiting = new Map<number, () => void>();
const seen = (positions: readonly number[]) => {
  for (const position of positions) {
    waiting.get(position)?.();
    waiting.delete(position);
  }
};
/** What the consumer does with a batch before the writer hears of it. */
let consumerMode: "receive" | "ring" | "project" = "receive";

async function project(rows: readonly { user: string; position: number }[]): Promise<void> {
  const connection = await projector.connect();
  try {
    await connection.query("BEGIN");
    for (const row of rows) {
      await connection.query(
        `INSERT INTO view_rows (user_id, global_position, applied) VALUES ($1, $2, 1)
         ON CONFLICT (user_id) DO UPDATE SET global_position = EXCLUDED.global_position,
           applied = view_rows.applied + 1
         WHERE view_rows.global_position < EXCLUDED.global_position`,
        [row.user, row.position],
      );
    }
    await connection.query("COMMIT");
  } finally {
    connection.release();
  }
}

try {
  await producer.connect();
  await subscriber.subscribe(channel);
  subscriber.on("message", (_channel, message: string) => seen(JSON.parse(message) as number[]));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommitInterval: 500,
    partitionsConsumedConcurrently: 8,
    eachBatch: async ({ batch }) => {
      const rows = batch.messages.map(
        (message) => JSON.parse(message.value!.toString()) as { user: string; position: number },
      );
      const positions = rows.map((row) => row.position);
      if (consumerMode === "receive") {
        seen(positions);
        return;
      }
      if (consumerMode === "project") await project(rows);
      await publisher.publish(channel, JSON.stringify(positions));
    },
  });
  // Let the group settle before timing.
  await new Promise((resolve) => setTimeout(resolve, 2_000));

  const insert = async (client: number, n: number) => {
    const connection = writers[client]!;
    await connection.query("BEGIN");
    const result = await connection.query<{ global_position: string }>(
      "INSERT INTO events (user_id, data) VALUES ($1, $2) RETURNING global_position",
      [`user-${client}`, JSON.stringify({ n })],
    );
    await connection.query("COMMIT");
    return Number(result.rows[0]!.global_position);
  };
  const insertAlone = async (client: number, n: number) => {
    const result = await writers[client]!.query<{ global_position: string }>(
      "INSERT INTO events (user_id, data) VALUES ($1, $2) RETURNING global_position",
      [`user-${client}`, JSON.stringify({ n })],
    );
    return Number(result.rows[0]!.global_position);
  };
  // One sender, as the relay: what queues while a send is out goes in the next one.
  let queued: { client: number; position: number; sent: () => void; failed: (error: unknown) => void }[] = [];
  let sending = false;
  const sendQueued = async () => {
    sending = true;
    while (queued.length > 0) {
      const batch = queued;
      queued = [];
      try {
        await producer.send({
          topic,
          acks: -1,
          messages: batch.map(({ client, position }) => ({
            key: `user-${client}`,
            value: JSON.stringify({ user: `user-${client}`, position }),
          })),
        });
        for (const entry of batch) entry.sent();
      } catch (error) {
        for (const entry of batch) entry.failed(error);
      }
    }
    sending = false;
  };
  const produce = (client: number, position: number) =>
    new Promise<void>((sent, failed) => {
      queued.push({ client, position, sent, failed });
      if (!sending) void sendQueued();
    });
  const throughKafka = async (client: number, n: number) => {
    const position = await insertAlone(client, n);
    const visible = new Promise<void>((resolve) => waiting.set(position, resolve));
    await produce(client, position);
    await visible;
  };

  console.log(`${clients} clients, one write at a time each, ${seconds} s per loop`);
  report("1. PostgreSQL transaction", await runLoop(async (client, n) => void (await insert(client, n))));
  report(
    "1b. one statement: the OK waits for this",
    await runLoop(async (client, n) => void (await insertAlone(client, n))),
  );
  console.log("after the OK, in the background:");
  report(
    "2. + produced to Kafka (acks all)",
    await runLoop(async (client, n) => void (await produce(client, await insertAlone(client, n)))),
  );
  consumerMode = "receive";
  report("3. + received by the consumer group", await runLoop(throughKafka));
  consumerMode = "ring";
  report("4. + Redis doorbell (the notifier)", await runLoop(throughKafka));
  consumerMode = "project";
  report("5. consumer transaction, then notice (old OK)", await runLoop(throughKafka));
} finally {
  await consumer.disconnect().catch(() => {});
  await producer.disconnect().catch(() => {});
  await kafkaAdmin.deleteGroups([groupId]).catch(() => {});
  await kafkaAdmin.deleteTopics({ topics: [topic] }).catch(() => {});
  await kafkaAdmin.disconnect().catch(() => {});
  publisher.disconnect();
  subscriber.disconnect();
  for (const client of writers) await client.end().catch(() => {});
  await projector.end().catch(() => {});
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
}
