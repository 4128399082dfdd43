// The outbox relay on real PostgreSQL and Kafka: one active relay at a time, a standby takes
// over when the active one dies or stops, and while events keep being written every event
// reaches the topic, keyed by user, each user's events in log order.

import { sql } from "slonik";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/database.ts";
import { TEST_KAFKA_BROKERS } from "../../../test/support/services.ts";
import { appendToStream } from "../appendToStream.ts";
import { readCheckpoint, storeCheckpoint } from "../checkpoints.ts";
import { Kafka, logLevel } from "../kafka.ts";
import { createLocalLogWakeup, createPgLogWakeup, type LogWakeup } from "../logWakeup.ts";
import { type OutboxRelay, RELAY_CHECKPOINT, RELAY_LOCK_KEY, startOutboxRelay } from "./outboxRelay.ts";
import { fromWireEnvelope } from "./wireEnvelope.ts";

const kafka = new Kafka({ clientId: "relay-test", brokers: TEST_KAFKA_BROKERS, logLevel: logLevel.NOTHING });
const topic = `mailledger.test.relay.${ulid().toLowerCase()}`;
let db: TestDatabase;
let wakeup: LogWakeup;
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  wakeup = createPgLogWakeup(db.url);
});

afterAll(async () => {
  await Promise.all(relays.map((relay) => relay.stop()));
  await wakeup?.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  await db?.drop();
});

const until = async (condition: () => boolean | Promise<boolean>, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

function start(name: string) {
  const relay = startOutboxRelay({
    pool: db.pool,
    databaseUrl: db.url,
    kafka,
    topic,
    partitions: 4,
    wakeup,
    batchSize: 50,
    standbyPollMs: 100,
    onError: () => {},
  });
  relays.push(relay);
  return Object.assign(relay, { label: name });
}

describe("outbox relay", () => {
  it("fails over under writes and delivers every event, per-user order intact", async () => {
    const users = Array.from({ length: 6 }, () => ulid());
    let writing = true;
    let written = 0;
    // Six concurrent writers, one per user, each on its own stream.
    const writers = users.map(async (userId) => {
      let version = 0;
      while (writing) {
        const result = await appendToStream(
          db.pool,
          `user-${userId}`,
          version,
          [{ type: "MailboxSubscribed", schemaVersion: 1, data: { name: `n${version}` } }],
          { userId },
        );
        if (!result.ok) throw new Error("unexpected conflict");
        version = result.streamVersion;
        written += 1;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    });

    const first = start("first");
    const second = start("second");
    await until(() => first.state === "active" || second.state === "active");
    await until(() => first.position > 0 || second.position > 0);
    expect([first.state, second.state].filter((state) => state === "active")).toHaveLength(1);

    // Kill the active relay's lock connection, as a crashed node's would die.
    const active = first.state === "active" ? first : second;
    const standby = active === first ? second : first;
    const lockHolder = sql.unsafe`
      SELECT pid FROM pg_locks
      WHERE locktype = 'advisory' AND objid = ${RELAY_LOCK_KEY} AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    await db.pool.query(sql.unsafe`SELECT pg_terminate_backend(pid) FROM (${lockHolder}) AS holder`);
    await until(() => standby.state === "active");
    const writtenAtFailover = written;
    await until(() => written > writtenAtFailover + 30);

    // Stop the new active one cleanly; a third relay (and the first, back in standby) takes over.
    await standby.stop();
    const third = start("third");
    await until(() => first.state === "active" || third.state === "active");
    await until(() => written > writtenAtFailover + 80);
    writing = false;
    await Promise.all(writers);

    const head = Number(await db.pool.oneFirst(sql.unsafe`SELECT max(global_position) FROM events`));
    await until(() => first.position >= head || third.position >= head);

    const consumer = kafka.consumer({
      groupId: `relay-test-${ulid()}`,
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
    });
    const received: { key: string; position: number; partition: number; headerPosition: string }[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message, partition }) => {
          const event = fromWireEnvelope(message.value!);
          received.push({
            key: message.key!.toString(),
            position: event.globalPosition,
            partition,
            headerPosition: message.headers?.globalPosition?.toString() ?? "",
          });
        },
      });
      await until(() => new Set(received.map((r) => r.position)).size >= head, 60_000);
    } finally {
      await consumer.disconnect();
    }

    const positions = new Set(received.map((r) => r.position));
    expect(positions.size).toBe(head);
    for (let p = 1; p <= head; p++) expect(positions.has(p)).toBe(true);
    for (const userId of users) {
      const mine = received.filter((r) => r.key === userId);
      // One user, one partition.
      expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
      // At least once: a repeated batch may follow, but what is new always comes in log order.
      let highest = 0;
      const firstSeen: number[] = [];
      for (const r of mine) {
        if (r.position > highest) {
          firstSeen.push(r.position);
          highest = r.position;
        }
      }
      const expected = (
        await db.pool.anyFirst(sql.unsafe`
          SELECT global_position FROM events WHERE metadata ->> 'userId' = ${userId} ORDER BY global_position`)
      ).map(Number);
      expect(firstSeen).toEqual(expected);
      expect(mine.every((r) => r.headerPosition === String(r.position))).toBe(true);
    }
    expect(written).toBe(head);

    // A clean stop stores how far the relay got: it stores at most every 200 ms while it runs,
    // so the second of two quick events is sent but not yet stored when the stop comes.
    const late = async (name: string) => {
      const result = await appendToStream(
        db.pool,
        `user-${users[0]}-late`,
        name === "one" ? 0 : 1,
        [{ type: "MailboxSubscribed", schemaVersion: 1, data: { name } }],
        { userId: users[0]! },
      );
      if (!result.ok) throw new Error("unexpected conflict");
      const sent = result.lastGlobalPosition;
      await until(() => first.position >= sent || third.position >= sent, 30_000);
      return sent;
    };
    await late("one");
    const last = await late("two");
    await Promise.all([first.stop(), third.stop()]);
    expect(await readCheckpoint(db.pool, RELAY_CHECKPOINT)).toBe(last);
  });

  it("sends the last commit of a burst at once, not at its next poll", async () => {
    const wake = createLocalLogWakeup();
    // The relay starts at the head: what earlier tests wrote is not this test's, and publishing
    // it two events a page took longer than the wait below on a loaded machine.
    const head = Number(await db.pool.oneFirst(sql.unsafe`SELECT max(global_position) FROM events`));
    await storeCheckpoint(db.pool, "relay-burst", 0, head);
    const relay = startOutboxRelay({
      pool: db.pool,
      databaseUrl: db.url,
      kafka,
      topic: `${topic}.burst`,
      partitions: 1,
      wakeup: wake,
      // Small pages: a burst makes the relay read ahead while Kafka acknowledges each page.
      batchSize: 2,
      // A commit whose wakeup were lost would wait this long.
      pollIntervalMs: 60_000,
      checkpoint: "relay-burst",
      onError: () => {},
    });
    relays.push(relay);
    await until(() => relay.position >= head);
    for (let burst = 0; burst < 20; burst++) {
      // Concurrent commits, each waking the relay as it lands: the relay runs behind, then
      // catches up while the last ones commit.
      const positions = await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const result = await appendToStream(
            db.pool,
            `burst-${burst}-${i}`,
            0,
            [{ type: "MailboxSubscribed", schemaVersion: 1, data: { name: `b${i}` } }],
            { userId: "burst" },
          );
          if (!result.ok) throw new Error("unexpected conflict");
          wake.wake();
          return result.lastGlobalPosition;
        }),
      );
      const last = Math.max(...positions);
      await until(() => relay.position >= last, 5_000);
    }
    await relay.stop();
  });
});
