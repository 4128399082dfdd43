// The distributed path on real PostgreSQL, Kafka and Redis: commands append and their effect is
// in the index at once; the relay publishes, the notifier rings the Redis doorbell from its own
// consumer group, the projector consumes group-wise; the bodies view converges on the index; a
// redelivered batch changes nothing; a blue/green rebuild under concurrent writes ends equal to a
// fresh one, and no reader ever sees a message lose what is derived from its body meanwhile.

import { sql } from "slonik";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { bodiesViewCaughtUp } from "../../test/support/bodiesView.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from "../../test/support/services.ts";
import {
  appendMessage,
  copyMessages,
  createMailbox,
  createUser,
  type DomainContext,
  deleteMailbox,
  expungeMessages,
  moveMessages,
  renameMailbox,
  storeFlags,
  subscribeMailbox,
} from "../commands/index.ts";
import { testDomainContext } from "../commands/testing/context.ts";
import { Kafka, logLevel } from "../events/kafka.ts";
import { createPgLogWakeup, type LogWakeup } from "../events/logWakeup.ts";
import { type OutboxRelay, startOutboxRelay } from "../events/relay/outboxRelay.ts";
import { blobSourceFromStore } from "./bodiesView/storeBlobSource.ts";
import type { MailboxNotice, NoticeBus } from "./notices/notice.ts";
import { createRedisNoticeBus } from "./notices/redisNoticeBus.ts";
import { startKafkaNotifier } from "./notifier/notifier.ts";
import { createMailboxQueries, type MailboxQueries } from "./queries/index.ts";
import { dumpProjectionSchema } from "./rebuild/dumpVersion.ts";
import { rebuildProjection } from "./rebuild/rebuild.ts";
import type { RunningTransport } from "./runner/embeddedTransport.ts";
import { startKafkaTransport } from "./runner/kafkaTransport.ts";
import { createBodiesProjection } from "./runner/projection.ts";
import { createProjector, type Projector } from "./runner/projector.ts";
import { sampleMessage } from "./testSupport.ts";

const kafka = new Kafka({
  clientId: "projection-test",
  brokers: TEST_KAFKA_BROKERS,
  logLevel: logLevel.NOTHING,
});
const topic = `mailledger.test.projection.${ulid().toLowerCase()}`;
const groupId = `projections-test-${ulid()}`;
let db: TestDatabase;
let ctx: DomainContext;
let wakeup: LogWakeup;
let relay: OutboxRelay;
let bus: NoticeBus;
let heard: NoticeBus;
let transport: RunningTransport | undefined;
let notifier: RunningTransport | undefined;
let queries: MailboxQueries;
let duplicates = 0;
let projector: Projector;
const rung: MailboxNotice[] = [];
const transportErrors: unknown[] = [];

async function startProjector() {
  transport = await startKafkaTransport({
    kafka,
    topic,
    groupId,
    projector,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    onError: (error) => transportErrors.push(error),
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  ctx = testDomainContext(db.pool);
  wakeup = createPgLogWakeup(db.url);
  relay = startOutboxRelay({ pool: db.pool, databaseUrl: db.url, kafka, topic, partitions: 4, wakeup });
  const channel = `mailledger:test:${ulid()}`;
  bus = await createRedisNoticeBus({ url: TEST_REDIS_URL, channel });
  // The doorbell is heard through another bus on the channel, as another node hears it.
  heard = await createRedisNoticeBus({ url: TEST_REDIS_URL, channel });
  heard.subscribe((notice) => rung.push(notice));
  queries = createMailboxQueries(db.pool, { blobs: blobSourceFromStore(ctx.blobStore) });
  const projection = createBodiesProjection(blobSourceFromStore(ctx.blobStore));
  const inner = createProjector({ pool: db.pool, projection });
  projector = {
    projection,
    async applyBatch(events, checkpoint) {
      const outcome = await inner.applyBatch(events, checkpoint);
      duplicates += outcome.duplicates;
      return outcome;
    },
  };
  while (relay.state !== "active") await new Promise((resolve) => setTimeout(resolve, 20));
  await startProjector();
  notifier = await startKafkaNotifier({
    kafka,
    topic,
    groupId: `${groupId}-notifier`,
    notices: bus,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    onError: (error) => transportErrors.push(error),
  });
});

afterAll(async () => {
  await notifier?.stop();
  await transport?.stop();
  await relay?.stop();
  await wakeup?.close();
  await bus?.close();
  await heard?.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups([groupId, `${groupId}-notifier`]).catch(() => {});
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  await db?.drop();
});

const refRow = z.object({ mailbox_id: z.string(), uid: z.number(), blob_digest: z.string() });

/** Once caught up, the bodies view follows the index: the same messages, bodies and MODSEQs. */
async function expectViewMatchesIndex() {
  await bodiesViewCaughtUp(db.pool);
  const indexed = await db.pool.any(sql.type(refRow)`
    SELECT mailbox_id, uid, blob_digest FROM messages ORDER BY mailbox_id, uid`);
  const referenced = await db.pool.any(sql.type(refRow)`
    SELECT mailbox_id, uid, blob_digest FROM proj_bodies.message_refs ORDER BY mailbox_id, uid`);
  expect(referenced).toEqual(indexed);
  const missing = await db.pool.anyFirst(sql.unsafe`
    SELECT DISTINCT m.blob_digest FROM messages AS m
    WHERE NOT EXISTS (SELECT 1 FROM proj_bodies.message_bodies AS b WHERE b.blob_digest = m.blob_digest)`);
  expect(missing).toEqual([]);
  const modseqRow = z.object({ id: z.string(), highest_modseq: z.number() });
  const live = await db.pool.any(sql.type(modseqRow)`
    SELECT id, highest_modseq FROM mailboxes WHERE status = 'selectable' ORDER BY id`);
  const applied = await db.pool.any(sql.type(modseqRow)`
    SELECT v.mailbox_id AS id, v.highest_modseq FROM proj_bodies.mailboxes AS v
    JOIN mailboxes AS m ON m.id = v.mailbox_id AND m.status = 'selectable' ORDER BY v.mailbox_id`);
  expect(applied).toEqual(live);
}

let alice: string;
let bob: string;

describe("projections over Kafka", () => {
  it("commands answer from the index at once; relay → Kafka → notifier and bodies view", async () => {
    const createdAlice = await createUser(ctx, { username: `alice-${ulid()}`, password: "pw" });
    alice = createdAlice.userId;
    bob = (await createUser(ctx, { username: `bob-${ulid()}`, password: "pw" })).userId;
    const archive = await createMailbox(ctx, { userId: alice, name: "Archive/2024" });
    for (let i = 1; i <= 20; i++) {
      await appendMessage(ctx, {
        userId: alice,
        mailboxName: "INBOX",
        body: sampleMessage(i),
        flags: i % 4 ? [] : ["\\Seen"],
      });
      if (i % 5 === 0)
        await appendMessage(ctx, { userId: bob, mailboxName: "inbox", body: sampleMessage(i + 100) });
    }
    const inbox = (await queries.mailboxStatus(alice, "INBOX"))!;
    expect(inbox.messages).toBe(20);
    await storeFlags(ctx, {
      userId: alice,
      mailboxId: inbox.mailboxId,
      uids: [1, 2, 3],
      operation: "add",
      flags: ["\\Deleted"],
    });
    await copyMessages(ctx, {
      userId: alice,
      mailboxId: inbox.mailboxId,
      uids: [4, 5, 6],
      targetName: "Archive/2024",
    });
    await moveMessages(ctx, {
      userId: alice,
      mailboxId: inbox.mailboxId,
      uids: [7, 8],
      targetName: "Archive",
    });
    await expungeMessages(ctx, { userId: alice, mailboxId: inbox.mailboxId });
    await subscribeMailbox(ctx, { userId: alice, name: "Archive" });
    await renameMailbox(ctx, { userId: alice, from: "Archive", to: "Old" });
    await createMailbox(ctx, { userId: alice, name: "Scratch" });
    await deleteMailbox(ctx, { userId: alice, name: "Scratch" });
    await deleteMailbox(ctx, { userId: alice, name: "Old" });

    // Each command's effect is in the index when it returns: read right away, no wait, no retry.
    const listed = await queries.listMailboxes(alice, { pattern: "*" });
    expect(listed.map((m) => [m.name, m.attributes])).toEqual([
      ["INBOX", ["\\HasNoChildren"]],
      ["Old", ["\\Noselect", "\\HasChildren"]],
      ["Old/2024", ["\\HasNoChildren"]],
    ]);
    const status = await queries.mailboxStatus(alice, "INBOX");
    expect(status).toMatchObject({ messages: 20 - 3 - 2, uidNext: 21 });
    expect((await queries.mailboxStatusById(alice, archive.mailboxId))?.messages).toBe(3);
    const changes = await queries.changesSince(alice, inbox.mailboxId, inbox.highestModSeq);
    expect(changes.vanished).toEqual([1, 2, 3, 7, 8]);
    // The doorbell rang for alice's mailboxes, from the notifier's own group, with MODSEQs.
    const deadline = Date.now() + 20_000;
    const inboxRung = () => rung.filter((n) => n.mailboxId === inbox.mailboxId);
    while (Math.max(0, ...inboxRung().map((n) => n.highestModSeq ?? 0)) < (status?.highestModSeq ?? 0)) {
      if (Date.now() > deadline) throw new Error("no doorbell for INBOX's last change");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(rung.some((n) => n.userId === alice && n.mailboxId === null)).toBe(true);
    await expectViewMatchesIndex();
  });

  it("delivering the same batches again changes nothing", async () => {
    const projection = projector.projection;
    const before = await dumpProjectionSchema(db.pool, projection, "proj_bodies_v1");
    await transport!.stop();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.resetOffsets({ groupId, topic, earliest: true });
      const duplicatesBefore = duplicates;
      await startProjector();
      const events = Number(await db.pool.oneFirst(sql.unsafe`SELECT count(*) FROM events`));
      const deadline = Date.now() + 60_000;
      while (duplicates - duplicatesBefore < events && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(duplicates - duplicatesBefore).toBe(events);
    } finally {
      await admin.disconnect();
    }
    expect(await dumpProjectionSchema(db.pool, projection, "proj_bodies_v1")).toEqual(before);
  });

  it("rebuilds blue/green under concurrent writes; readers never see a half-built view", async () => {
    let writing = true;
    let lastPosition = 0;
    const writers = [alice, bob].map(async (userId, w) => {
      for (let i = 0; writing; i++) {
        const outcome = await appendMessage(ctx, {
          userId,
          mailboxName: "INBOX",
          body: sampleMessage(1_000 * (w + 1) + i),
        });
        lastPosition = Math.max(lastPosition, outcome.lastGlobalPosition);
      }
    });
    let reads = 0;
    let reading = true;
    const problems: string[] = [];
    const reader = (async () => {
      let seen = 0;
      while (reading) {
        // Every message says "Quarterly" in its body: a search by body text finds each one, before,
        // during and after the switch, whether its body is in the view yet or not.
        const status = await queries.mailboxStatus(alice, "INBOX");
        const found = await queries.search(alice, status!.mailboxId, { type: "body", value: "quarterly" });
        if (found.uids.length < seen) problems.push(`SEARCH BODY went from ${seen} to ${found.uids.length}`);
        if (found.uids.length < status!.messages - 2)
          problems.push(`SEARCH BODY found ${found.uids.length} of ${status!.messages}`);
        seen = found.uids.length;
        reads += 1;
      }
    })();
    const projection = projector.projection;
    const rebuilt = await rebuildProjection({ pool: db.pool, projection, batchSize: 25 });
    expect(rebuilt.version).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    writing = false;
    await Promise.all(writers);
    expect(lastPosition).toBeGreaterThan(0);
    await bodiesViewCaughtUp(db.pool);
    expect(transportErrors).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    reading = false;
    await reader;
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(10);
    await expectViewMatchesIndex();

    // The version rebuilt under traffic, then kept live, equals one rebuilt from scratch now.
    await transport!.stop();
    transport = undefined;
    const live = await dumpProjectionSchema(db.pool, projection, "proj_bodies_v2");
    const fresh = await rebuildProjection({ pool: db.pool, projection });
    expect(fresh.version).toBe(3);
    expect(await dumpProjectionSchema(db.pool, projection, "proj_bodies_v3")).toEqual(live);
    const schemas = await db.pool.anyFirst(sql.unsafe`
      SELECT nspname FROM pg_namespace WHERE nspname LIKE 'proj_bodies_v%' ORDER BY nspname`);
    expect(schemas).toEqual(["proj_bodies_v3"]);
  });
});
