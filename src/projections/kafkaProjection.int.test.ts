// The distributed path on real PostgreSQL, Kafka and Redis: commands append, the relay
// publishes, the projector consumes group-wise and sends Redis notices that resolve
// read-your-writes; the views converge on the write model; a redelivered batch changes nothing;
// a blue/green rebuild under concurrent writes ends equal to a fresh one, and no reader ever
// sees an empty or half-built view meanwhile.

import { sql } from "slonik";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from "../../test/support/services.ts";
import {
  appendMessage,
  type CommandContext,
  copyMessages,
  createMailbox,
  createUser,
  deleteMailbox,
  expungeMessages,
  moveMessages,
  renameMailbox,
  storeFlags,
  subscribeMailbox,
} from "../commands/index.ts";
import { testCommandContext } from "../commands/testing/context.ts";
import { Kafka, logLevel } from "../events/kafka.ts";
import { createPgLogWakeup, type LogWakeup } from "../events/logWakeup.ts";
import { type OutboxRelay, startOutboxRelay } from "../events/relay/outboxRelay.ts";
import { blobSourceFromStore } from "./mailboxView/storeBlobSource.ts";
import type { NoticeBus } from "./notices/notice.ts";
import { createRedisNoticeBus } from "./notices/redisNoticeBus.ts";
import { createProjectionQueries } from "./queries/index.ts";
import { createPositionWaiter, type PositionWaiter } from "./readYourWrites.ts";
import { dumpProjectionSchema } from "./rebuild/dumpVersion.ts";
import { rebuildProjection } from "./rebuild/rebuild.ts";
import type { RunningTransport } from "./runner/embeddedTransport.ts";
import { startKafkaTransport } from "./runner/kafkaTransport.ts";
import { createMailboxProjection } from "./runner/projection.ts";
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
let ctx: CommandContext;
let wakeup: LogWakeup;
let relay: OutboxRelay;
let bus: NoticeBus;
let transport: RunningTransport | undefined;
let waiter: PositionWaiter;
let duplicates = 0;
let projector: Projector;
const via: string[] = [];
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
  ctx = testCommandContext(db.pool);
  wakeup = createPgLogWakeup(db.url);
  relay = startOutboxRelay({ pool: db.pool, databaseUrl: db.url, kafka, topic, partitions: 4, wakeup });
  bus = await createRedisNoticeBus({ url: TEST_REDIS_URL, channel: `mailledger:test:${ulid()}` });
  const projection = createMailboxProjection(blobSourceFromStore(ctx.blobStore));
  const inner = createProjector({ pool: db.pool, projection, notices: bus });
  projector = {
    projection,
    async applyBatch(events, checkpoint) {
      const outcome = await inner.applyBatch(events, checkpoint);
      duplicates += outcome.duplicates;
      return outcome;
    },
  };
  waiter = createPositionWaiter({ connection: db.pool, notices: bus });
  while (relay.state !== "active") await new Promise((resolve) => setTimeout(resolve, 20));
  await startProjector();
});

afterAll(async () => {
  await transport?.stop();
  await relay?.stop();
  await wakeup?.close();
  await bus?.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups([groupId]).catch(() => {});
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  await db?.drop();
});

/** Waits for the command's effect like the gateway does before its tagged OK. */
async function visible<T extends { lastGlobalPosition: number | null }>(userId: string, outcome: Promise<T>) {
  const result = await outcome;
  if (result.lastGlobalPosition !== null) {
    const wait = await waiter.waitForPosition({ userId }, result.lastGlobalPosition, 20_000);
    if (!wait.ok) throw new Error(`not visible: ${JSON.stringify(wait)}`);
    via.push(wait.via);
  }
  return result;
}

const mailboxSummaryRow = z.object({
  id: z.string(),
  user_id: z.string(),
  name: z.string(),
  status: z.string(),
  uid_next: z.number(),
  highest_modseq: z.number(),
});

/** The view matches the write model, the exact state the commands decided from. */
async function expectViewMatchesWriteModel() {
  const model = await db.pool.any(
    sql.type(
      mailboxSummaryRow,
    )`SELECT id, user_id, name, status, uid_next, highest_modseq FROM mailboxes WHERE status <> 'deleted' ORDER BY id`,
  );
  const view = await db.pool.any(
    sql.type(
      mailboxSummaryRow,
    )`SELECT mailbox_id AS id, user_id, name, status, uid_next, highest_modseq FROM proj_mailbox.mailboxes ORDER BY mailbox_id`,
  );
  expect(view).toEqual(model);
  const messageRow = z.object({
    mailbox_id: z.string(),
    uid: z.number(),
    modseq: z.number(),
    flags: z.array(z.string()),
  });
  const modelMessages = await db.pool.any(sql.type(messageRow)`
    SELECT mailbox_id, uid, modseq, flags FROM messages ORDER BY mailbox_id, uid`);
  const viewMessages = await db.pool.any(sql.type(messageRow)`
    SELECT mailbox_id, uid, modseq, flags FROM proj_mailbox.messages ORDER BY mailbox_id, uid`);
  expect(viewMessages).toEqual(modelMessages);
  const counts = await db.pool.any(sql.type(
    z.object({
      mailbox_id: z.string(),
      message_count: z.number(),
      unseen_count: z.number(),
      total_size: z.number(),
      actual_count: z.number(),
      actual_unseen: z.number(),
      actual_size: z.number(),
    }),
  )`
    SELECT mb.mailbox_id, mb.message_count, mb.unseen_count, mb.total_size,
      (SELECT count(*) FROM proj_mailbox.messages m WHERE m.mailbox_id = mb.mailbox_id) AS actual_count,
      (SELECT count(*) FROM proj_mailbox.messages m WHERE m.mailbox_id = mb.mailbox_id
         AND NOT ('\\Seen' = ANY (m.flags))) AS actual_unseen,
      (SELECT coalesce(sum(size), 0)::int8 FROM proj_mailbox.messages m WHERE m.mailbox_id = mb.mailbox_id) AS actual_size
    FROM proj_mailbox.mailboxes mb`);
  for (const row of counts) {
    expect([row.message_count, row.unseen_count, row.total_size]).toEqual([
      row.actual_count,
      row.actual_unseen,
      row.actual_size,
    ]);
  }
}

let alice: string;
let bob: string;

describe("projections over Kafka", () => {
  it("commands → relay → Kafka → views, read-your-writes by Redis notice", async () => {
    const createdAlice = await createUser(ctx, { username: `alice-${ulid()}`, password: "pw" });
    alice = createdAlice.userId;
    await visible(alice, Promise.resolve(createdAlice));
    bob = (await createUser(ctx, { username: `bob-${ulid()}`, password: "pw" })).userId;
    const archive = await visible(alice, createMailbox(ctx, { userId: alice, name: "Archive/2024" }));
    for (let i = 1; i <= 20; i++) {
      await visible(
        alice,
        appendMessage(ctx, {
          userId: alice,
          mailboxName: "INBOX",
          body: sampleMessage(i),
          flags: i % 4 ? [] : ["\\Seen"],
        }),
      );
      if (i % 5 === 0)
        await appendMessage(ctx, { userId: bob, mailboxName: "inbox", body: sampleMessage(i + 100) });
    }
    const queries = createProjectionQueries(db.pool);
    const inbox = (await queries.mailboxStatus(alice, "INBOX"))!;
    await visible(
      alice,
      storeFlags(ctx, {
        userId: alice,
        mailboxId: inbox.mailboxId,
        uids: [1, 2, 3],
        operation: "add",
        flags: ["\\Deleted"],
      }),
    );
    await visible(
      alice,
      copyMessages(ctx, {
        userId: alice,
        mailboxId: inbox.mailboxId,
        uids: [4, 5, 6],
        targetName: "Archive/2024",
      }),
    );
    await visible(
      alice,
      moveMessages(ctx, { userId: alice, mailboxId: inbox.mailboxId, uids: [7, 8], targetName: "Archive" }),
    );
    await visible(alice, expungeMessages(ctx, { userId: alice, mailboxId: inbox.mailboxId }));
    await visible(alice, subscribeMailbox(ctx, { userId: alice, name: "Archive" }));
    await visible(alice, renameMailbox(ctx, { userId: alice, from: "Archive", to: "Old" }));
    await visible(alice, createMailbox(ctx, { userId: alice, name: "Scratch" }));
    await visible(alice, deleteMailbox(ctx, { userId: alice, name: "Scratch" }));
    await visible(alice, deleteMailbox(ctx, { userId: alice, name: "Old" }));

    // Each OK above was sent only once the view showed it: read right away, no retry.
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
    expect(via.filter((v) => v === "notice").length).toBeGreaterThan(10);
    await expectViewMatchesWriteModel();
  });

  it("delivering the same batches again changes nothing", async () => {
    const projection = projector.projection;
    const before = await dumpProjectionSchema(db.pool, projection, "proj_mailbox_v1");
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
    expect(await dumpProjectionSchema(db.pool, projection, "proj_mailbox_v1")).toEqual(before);
  });

  it("rebuilds blue/green under concurrent writes; readers never see a half-built view", async () => {
    const queries = createProjectionQueries(db.pool);
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
        const status = await queries.mailboxStatus(alice, "INBOX");
        const listed = await queries.listMailboxes(alice, { pattern: "*" });
        if (!status || status.messages < seen)
          problems.push(`INBOX went from ${seen} to ${status?.messages}`);
        if (listed.length !== 3) problems.push(`listed ${listed.length} mailboxes`);
        seen = status?.messages ?? seen;
        reads += 1;
      }
    })();
    const projection = projector.projection;
    const rebuilt = await rebuildProjection({ pool: db.pool, projection, batchSize: 25 });
    expect(rebuilt.version).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    writing = false;
    await Promise.all(writers);
    const caughtUp = await waiter.waitForPosition({ userId: alice }, lastPosition - 1, 20_000);
    expect(transportErrors).toEqual([]);
    expect(caughtUp.ok).toBe(true);
    expect((await waiter.waitForPosition({ userId: bob }, lastPosition - 1, 20_000)).ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    reading = false;
    await reader;
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(10);
    await expectViewMatchesWriteModel();

    // The version rebuilt under traffic, then kept live, equals one rebuilt from scratch now.
    await transport!.stop();
    transport = undefined;
    const live = await dumpProjectionSchema(db.pool, projection, "proj_mailbox_v2");
    const fresh = await rebuildProjection({ pool: db.pool, projection });
    expect(fresh.version).toBe(3);
    expect(await dumpProjectionSchema(db.pool, projection, "proj_mailbox_v3")).toEqual(live);
    const schemas = await db.pool.anyFirst(sql.unsafe`
      SELECT nspname FROM pg_namespace WHERE nspname LIKE 'proj_mailbox_v%' ORDER BY nspname`);
    expect(schemas).toEqual(["proj_mailbox_v3"]);
  });
});
