// Projection benchmark (issue 4): `node bench/projections.ts [--rebuild-events N]`
//  1. latency from commit to the Redis doorbell (p50/p99) under 200 appends/s through the whole
//     distributed path: events table → relay → Kafka → notifier → Redis (no projector on it);
//  2. steady-state projection throughput (events/s) on a backlog, relay and Kafka included;
//  3. rebuild rate (events/s) over a log of at least 1,000,000 events generated in bulk.
// Needs the services of infra/services.sh; works in scratch databases it drops afterwards.
import { parseArgs } from "node:util";
import { sql } from "slonik";
import { ulid } from "ulid";
import { createDatabasePool } from "../src/events/db.ts";
import { Kafka, logLevel } from "../src/events/kafka.ts";
import { createPgLogWakeup } from "../src/events/logWakeup.ts";
import { startOutboxRelay } from "../src/events/relay/outboxRelay.ts";
import { createTableBlobSource } from "../src/projections/bodiesView/tableBlobSource.ts";
import type { MailboxNotice } from "../src/projections/notices/notice.ts";
import { createRedisNoticeBus } from "../src/projections/notices/redisNoticeBus.ts";
import { startKafkaNotifier } from "../src/projections/notifier/notifier.ts";
import { rebuildProjection } from "../src/projections/rebuild/rebuild.ts";
import { startKafkaTransport } from "../src/projections/runner/kafkaTransport.ts";
import { createBodiesProjection } from "../src/projections/runner/projection.ts";
import { createProjector } from "../src/projections/runner/projector.ts";
import { EventWriter, putBlob, sampleMessage } from "../src/projections/testSupport.ts";
import { createTestDatabase, type TestDatabase } from "../test/support/database.ts";
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from "../test/support/services.ts";

const { values } = parseArgs({
  options: {
    "rebuild-events": { type: "string", default: "1000000" },
    "backlog-events": { type: "string", default: "50000" },
    "latency-seconds": { type: "string", default: "10" },
    /** Comma-separated subset of latency,throughput,rebuild. */
    phases: { type: "string", default: "latency,throughput,rebuild" },
  },
});
const PHASES = new Set(values.phases.split(","));
const REBUILD_EVENTS = Number(values["rebuild-events"]);
const BACKLOG_EVENTS = Number(values["backlog-events"]);
const LATENCY_SECONDS = Number(values["latency-seconds"]);
const APPENDS_PER_SECOND = 200;
const USERS = 1_000;
const DISTINCT_BODIES = 10;

const kafka = new Kafka({
  clientId: "bench-projections",
  brokers: TEST_KAFKA_BROKERS,
  logLevel: logLevel.NOTHING,
});
const log = (text: string) => process.stdout.write(`${text}\n`);
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/**
 * A log of `events` events in one statement: USERS users with one mailbox each (MailboxCreated +
 * MailboxInitialized), the rest MessageAppended spread over the mailboxes, bodies from a few blobs.
 */
async function generateLog(db: TestDatabase, events: number, firstUser = 0) {
  const digests: string[] = [];
  for (let i = 0; i < DISTINCT_BODIES; i++) digests.push(await putBlob(db.pool, sampleMessage(i)));
  const size = sampleMessage(0).length;
  const appends = events - 2 * USERS;
  await db.pool.query(sql.unsafe`
    INSERT INTO events (event_id, stream_id, stream_version, type, schema_version, data, metadata)
    SELECT 'bench-' || ${firstUser}::int || '-' || g || '-' || kind, stream_id, stream_version, type, 1, data,
      jsonb_build_object('userId', 'u' || (${firstUser}::int + u))
    FROM (
      SELECT g, u, 0 AS kind, 'user-u' || (${firstUser}::int + u) AS stream_id, 1 AS stream_version,
        'MailboxCreated' AS type,
        jsonb_build_object('mailboxId', 'mb' || (${firstUser}::int + u), 'name', 'INBOX', 'parentName', null,
          'uidValidity', 1 + u, 'uidNext', 1, 'cause', 'create', 'replacesMailboxId', null, 'specialUse', null) AS data
      FROM generate_series(0, ${USERS - 1}) AS g, LATERAL (SELECT g AS u) AS x
      UNION ALL
      SELECT g, u, 1, 'mailbox-mb' || (${firstUser}::int + u), 1, 'MailboxInitialized',
        jsonb_build_object('mailboxId', 'mb' || (${firstUser}::int + u), 'userId', 'u' || (${firstUser}::int + u),
          'uidValidity', 1 + u, 'uidNext', 1, 'modseq', 1)
      FROM generate_series(0, ${USERS - 1}) AS g, LATERAL (SELECT g AS u) AS x
      UNION ALL
      SELECT g + ${USERS}, u, 2, 'mailbox-mb' || (${firstUser}::int + u), uid + 1, 'MessageAppended',
        jsonb_build_object('uid', uid, 'flags', CASE WHEN g % 3 = 0 THEN '["\\\\Seen"]'::jsonb ELSE '[]'::jsonb END,
          'internalDate', '2025-03-10T12:00:00.000Z', 'size', ${size}::int,
          'blobDigest', (${sql.array(digests, "text")})[1 + g % ${DISTINCT_BODIES}],
          'headerSummary', jsonb_build_object('messageId', '<m' || g || '@example.com>',
            'date', '2025-03-10T10:00:00.000Z', 'from', '["Sender <s@example.com>"]'::jsonb,
            'to', '["Team <team@example.org>"]'::jsonb, 'cc', '[]'::jsonb, 'subject', 'Report ' || g,
            'inReplyTo', null),
          'modseq', uid + 1)
      FROM generate_series(0, ${appends - 1}) AS g, LATERAL (SELECT g % ${USERS} AS u, g / ${USERS} + 1 AS uid) AS x
    ) AS rows
    ORDER BY g, kind`);
}

async function latencyUnderLoad() {
  const db = await createTestDatabase();
  const topic = `mailledger.bench.${ulid().toLowerCase()}`;
  const groupId = `bench-${ulid()}`;
  const wakeup = createPgLogWakeup(db.url);
  const relay = startOutboxRelay({ pool: db.pool, databaseUrl: db.url, kafka, topic, wakeup });
  const bus = await createRedisNoticeBus({ url: TEST_REDIS_URL, channel: `mailledger:bench:${ulid()}` });
  while (relay.state !== "active") await new Promise((resolve) => setTimeout(resolve, 20));
  const transport = await startKafkaNotifier({
    kafka,
    topic,
    groupId,
    notices: bus,
    sessionTimeoutMs: 10_000,
  });
  let closeWriterPool = async () => {};
  try {
    // The writers (gateways, in a deployment) have their own pool, as they have their own process:
    // sharing the pipeline's pool made the relay and projector queue behind appends for a connection.
    const writerPool = await createDatabasePool(db.url, { maximumPoolSize: 20 });
    closeWriterPool = () => writerPool.end();
    const writer = new EventWriter(writerPool);
    const mailboxes: { userId: string; mailboxId: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const userId = await writer.createUser();
      mailboxes.push({ userId, mailboxId: await writer.createMailbox(userId, "INBOX") });
    }
    // Pre-store the bodies so an append is one event commit, as for a command.
    const bodies = Array.from({ length: 50 }, (_, i) => sampleMessage(i));
    for (const body of bodies) await putBlob(db.pool, body);
    // Warm up: the group must be joined and the pipeline flowing before we measure.
    const warm = await writer.append(mailboxes[0]!.mailboxId, bodies[0]!);
    await waitForNotice(bus, mailboxes[0]!.userId, warm.position, 60_000);

    const committedAt = new Map<number, number>();
    const latencies: number[] = [];
    const unsubscribe = bus.subscribe((notice: MailboxNotice) => {
      for (const [position, at] of committedAt) {
        if (position <= notice.globalPosition && userOf.get(position) === notice.userId) {
          latencies.push(performance.now() - at);
          committedAt.delete(position);
        }
      }
    });
    const userOf = new Map<number, string>();
    const total = APPENDS_PER_SECOND * LATENCY_SECONDS;
    const started = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / APPENDS_PER_SECOND;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const target = mailboxes[i % mailboxes.length]!;
      pending.push(
        writer.append(target.mailboxId, bodies[i % bodies.length]!).then((result) => {
          userOf.set(result.position, target.userId);
          committedAt.set(result.position, performance.now());
        }),
      );
    }
    await Promise.all(pending);
    const deadline = performance.now() + 30_000;
    while (committedAt.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    unsubscribe();
    const sorted = latencies.sort((a, b) => a - b);
    const rate = total / ((performance.now() - started) / 1000);
    log(
      `commit → doorbell latency at ${APPENDS_PER_SECOND} appends/s (${total} appends, relay+Kafka+notifier+Redis): ` +
        `p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms, ` +
        `max ${sorted.at(-1)!.toFixed(1)} ms, missed ${committedAt.size} (target p99 < 50 ms; offered ${rate.toFixed(0)}/s)`,
    );
  } finally {
    await closeWriterPool();
    await transport.stop();
    await relay.stop();
    await wakeup.close();
    await bus.close();
    await dropKafka(topic, groupId);
    await db.drop();
  }
}

function waitForNotice(
  bus: Awaited<ReturnType<typeof createRedisNoticeBus>>,
  userId: string,
  position: number,
  timeoutMs: number,
) {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no notice")), timeoutMs);
    const unsubscribe = bus.subscribe((notice) => {
      if (notice.userId === userId && notice.globalPosition >= position) {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });
  });
}

async function steadyThroughput() {
  const db = await createTestDatabase();
  const topic = `mailledger.bench.${ulid().toLowerCase()}`;
  const groupId = `bench-${ulid()}`;
  await generateLog(db, BACKLOG_EVENTS);
  const head = Number(await db.pool.oneFirst(sql.unsafe`SELECT max(global_position) FROM events`));
  const relay = startOutboxRelay({ pool: db.pool, databaseUrl: db.url, kafka, topic, batchSize: 2_000 });
  // The relay publishes the backlog first, so the projector's rate is measured on its own.
  const relayStarted = performance.now();
  while (relay.position < head) await new Promise((resolve) => setTimeout(resolve, 20));
  const relaySeconds = (performance.now() - relayStarted) / 1000;
  const projector = createProjector({
    pool: db.pool,
    projection: createBodiesProjection(createTableBlobSource(db.pool)),
  });
  const started = performance.now();
  const transport = await startKafkaTransport({ kafka, topic, groupId, projector, sessionTimeoutMs: 10_000 });
  try {
    for (;;) {
      const applied = Number(
        await db.pool.oneFirst(
          sql.unsafe`SELECT coalesce(sum(message_count), 0) FROM proj_mailbox.mailboxes`,
        ),
      );
      if (applied >= BACKLOG_EVENTS - 2 * USERS) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    log(
      `relay throughput: ${(head / relaySeconds).toFixed(0)} events/s; projection throughput (Kafka consumer group, ` +
        `${head} events incl. group join): ${(head / seconds).toFixed(0)} events/s`,
    );
  } finally {
    await transport.stop();
    await relay.stop();
    await dropKafka(topic, groupId);
    await db.drop();
  }
}

async function rebuildRate() {
  const db = await createTestDatabase();
  try {
    const generated = performance.now();
    await generateLog(db, REBUILD_EVENTS);
    const count = Number(await db.pool.oneFirst(sql.unsafe`SELECT count(*) FROM events`));
    log(`generated ${count} events in ${((performance.now() - generated) / 1000).toFixed(1)} s`);
    const result = await rebuildProjection({
      pool: db.pool,
      projection: createBodiesProjection(createTableBlobSource(db.pool)),
    });
    log(
      `rebuild: ${result.events} events in ${(result.durationMs / 1000).toFixed(1)} s = ` +
        `${Math.round((result.events * 1000) / result.durationMs)} events/s (target ≥ 50,000; ${DISTINCT_BODIES} distinct bodies)`,
    );
  } finally {
    await db.drop();
  }
}

async function dropKafka(topic: string, groupId: string) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups([groupId]).catch(() => {});
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
}

if (PHASES.has("latency")) await latencyUnderLoad();
if (PHASES.has("throughput")) await steadyThroughput();
if (PHASES.has("rebuild")) await rebuildRate();
process.exit(0);
