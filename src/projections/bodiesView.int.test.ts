// The read side on a real PostgreSQL: the queries answer as a gateway needs from the mailbox index
// whether or not the bodies view has caught up (what it lacks is derived on demand, with the same
// result); the bodies view driven in process converges, applying twice changes nothing, and a
// projector killed mid-batch ends, after a restart, equal to a fresh rebuild row for row.
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { readAll } from "../events/readAll.ts";
import { encodeEnvelope } from "../imap-gateway/codec/mimeEncode.ts";
import { createTableBlobSource } from "./bodiesView/tableBlobSource.ts";
import { createMailboxQueries, type MailboxQueries } from "./queries/index.ts";
import { dumpProjectionSchema } from "./rebuild/dumpVersion.ts";
import { rebuildProjection } from "./rebuild/rebuild.ts";
import { startEmbeddedTransport } from "./runner/embeddedTransport.ts";
import { createBodiesProjection } from "./runner/projection.ts";
import { createProjector } from "./runner/projector.ts";
import { EventWriter, sampleMessage } from "./testSupport.ts";

let db: TestDatabase;
let writer: EventWriter;
let alice: string;
let bob: string;
let inbox: string;
let work: string;
let sub: string;
let bobInbox: string;

const activeSchema = async () =>
  `proj_bodies_v${await db.pool.oneFirst(sql.unsafe`SELECT active_version FROM projection_versions WHERE name = 'bodies'`)}`;

const queriesOf = (pool = db.pool): MailboxQueries =>
  createMailboxQueries(pool, { blobs: createTableBlobSource(pool) });

/** Until the bodies view has applied every event of the user up to `position`. */
async function bodiesReached(userId: string, position: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const applied = await db.pool.maybeOneFirst(sql.unsafe`
      SELECT global_position FROM proj_bodies.user_positions WHERE user_id = ${userId}`);
    if (Number(applied ?? 0) >= position) return;
    if (Date.now() > deadline) throw new Error(`the bodies view did not reach ${position} for ${userId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  writer = new EventWriter(db.pool);
  alice = await writer.createUser();
  bob = await writer.createUser();
  inbox = await writer.createMailbox(alice, "INBOX");
  work = await writer.createMailbox(alice, "Work");
  sub = await writer.createMailbox(alice, "Work/Reports", "\\Archive");
  bobInbox = await writer.createMailbox(bob, "INBOX");
  for (let i = 1; i <= 12; i++) await writer.append(inbox, sampleMessage(i), i % 2 === 0 ? ["\\Seen"] : []);
  await writer.append(
    work,
    sampleMessage(100, { subject: "=?utf-8?q?Caf=C3=A9_menu?=", body: "Crème brûlée" }),
  );
  await writer.append(bobInbox, sampleMessage(200, { subject: "bob only" }));
  // Written on the 25th east of Greenwich, the 24th in UTC: SENTON goes by the day written.
  await writer.append(
    bobInbox,
    Buffer.from("From: a@example.org\r\nSubject: late\r\nDate: Tue, 25 Mar 2025 00:30:00 +0200\r\n\r\nx\r\n"),
  );
  await writer.setFlags(inbox, [
    { uid: 1, flags: ["\\Seen", "\\Flagged"] },
    { uid: 2, flags: [] },
  ]);
  await writer.expunge(inbox, [3, 4]);
  await writer.userEvents(alice, [{ type: "MailboxSubscribed", data: { name: "Work" } }]);
  await writer.userEvents(alice, [{ type: "MailboxSubscribed", data: { name: "Gone" } }]);
  await writer.append(inbox, sampleMessage(13));
});

afterAll(async () => {
  await db?.drop();
});

/** SEARCH with RFC 3501 keys, case-insensitively, with parameters only: one answer whatever the view's progress. */
async function expectSearchResults(queries: MailboxQueries) {
  const uids = async (criteria: Parameters<typeof queries.search>[2], mailbox = inbox) =>
    (await queries.search(alice, mailbox, criteria)).uids;
  expect(await uids({ type: "flag", flag: "\\seen", set: true })).toEqual([1, 6, 8, 10, 12]);
  expect(await uids({ type: "body", value: "zebra" })).toEqual([5, 10]);
  expect(await uids({ type: "subject", value: "NUMBER 1" })).toEqual([1, 10, 11, 12, 13]);
  expect(await uids({ type: "address", field: "cc", value: "boss@" })).toEqual([6, 9, 12]);
  expect(await uids({ type: "header", field: "X-Index", value: "" })).toEqual([1, 2, 5, 7, 8, 10, 11, 13]);
  expect(await uids({ type: "sentDate", comparison: "on", date: "2025-03-06" })).toEqual([5]);
  expect(await uids({ type: "internalDate", comparison: "before", date: "2025-03-10" })).toEqual([]);
  expect(await uids({ type: "size", comparison: "larger", octets: 1_000_000 })).toEqual([]);
  expect(await uids({ type: "modseq", modseq: 14 })).toEqual([1, 2, 13]);
  expect(
    await uids({
      type: "and",
      keys: [
        { type: "not", key: { type: "flag", flag: "\\Seen", set: true } },
        {
          type: "or",
          left: { type: "uid", uids: [{ start: 1, end: 5 }] },
          right: { type: "text", value: "ZEBRA" },
        },
      ],
    }),
  ).toEqual([2, 5]);
  // Decoded encoded words and accented body text, matched case-insensitively.
  expect(await uids({ type: "subject", value: "CAFÉ" }, work)).toEqual([1]);
  expect(await uids({ type: "body", value: "CRÈME" }, work)).toEqual([1]);
  // Injection attempts are just strings.
  expect(await uids({ type: "body", value: "'); DROP TABLE events; --" })).toEqual([]);
  expect(await uids({ type: "header", field: "subject' OR 1=1 --", value: "x" })).toEqual([]);
}

describe("the read side and the bodies view", () => {
  it("answers the gateway's queries from the index, before any projector ran", async () => {
    const queries = queriesOf();
    expect(await db.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM proj_bodies.message_bodies`)).toBe(0);
    const all = await queries.listMailboxes(alice, { pattern: "*" });
    expect(all.map((m) => [m.name, m.attributes])).toEqual([
      ["INBOX", ["\\HasNoChildren"]],
      ["Work", ["\\HasChildren", "\\Subscribed"]],
      ["Work/Reports", ["\\HasNoChildren", "\\Archive"]],
    ]);
    expect((await queries.listMailboxes(alice, { pattern: "%" })).map((m) => m.name)).toEqual([
      "INBOX",
      "Work",
    ]);
    expect(
      (await queries.listMailboxes(alice, { reference: "Work/", pattern: "%" })).map((m) => m.name),
    ).toEqual(["Work/Reports"]);
    expect((await queries.listMailboxes(alice, { pattern: "inbox" })).map((m) => m.name)).toEqual(["INBOX"]);
    expect(
      (await queries.listMailboxes(alice, { pattern: "*", subscribedOnly: true })).map((m) => [
        m.name,
        m.attributes,
      ]),
    ).toEqual([
      ["Gone", ["\\NonExistent", "\\Noselect", "\\Subscribed"]],
      ["Work", ["\\HasChildren", "\\Subscribed"]],
    ]);
    // Isolation: bob sees only his own.
    expect((await queries.listMailboxes(bob, { pattern: "*" })).map((m) => m.name)).toEqual(["INBOX"]);
    expect(await queries.mailboxStatusById(bob, inbox)).toBeNull();
    expect(await queries.uidList(bob, inbox)).toHaveLength(0);

    const status = await queries.mailboxStatus(alice, "inbox");
    // 13 appended, 2 expunged; seen: even UIDs minus expunged 4 and 2 (cleared), plus 1.
    expect(status).toMatchObject({
      mailboxId: inbox,
      messages: 11,
      uidNext: 14,
      highestModSeq: 16,
      selectable: true,
    });
    expect(status!.unseen).toBe(11 - 5);
    expect([...(await queries.uidList(alice, inbox))]).toEqual([1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    // SELECT's one query: the same status, UIDs, and the first UID without \Seen (2: its \Seen was cleared).
    const opened = await queries.openMailbox(alice, "Inbox");
    expect(opened?.status).toEqual(status);
    expect([...opened!.uids]).toEqual([1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(opened?.firstUnseenUid).toBe(2);
    expect(await queries.openMailbox(bob, "Work")).toBeNull();
    expect([...(await queries.openMailbox(bob, "INBOX"))!.uids]).toEqual([
      ...(await queries.uidList(bob, bobInbox)),
    ]);

    const { messages: fetched } = await queries.fetchMessages(
      alice,
      inbox,
      [
        { start: 1, end: 2 },
        { start: 12, end: 4294967295 },
      ],
      ["flags", "size", "envelope", "structure", "internalDate", "modseq"],
    );
    expect(fetched.map((m) => m.uid)).toEqual([1, 2, 12, 13]);
    expect(fetched[0]).toMatchObject({ flags: ["\\Seen", "\\Flagged"], modseq: 14 });
    expect(fetched[0]!.envelope!.subject).toBe("Report number 1");
    expect(fetched[0]!.structure!.body.type).toBe("text");
    expect(fetched[0]!.size).toBe(sampleMessage(1).length);
    expect(fetched[0]!.internalDate!.toISOString()).toBe("2025-03-10T12:00:00.000Z");
    // The packed metadata read says the same as the row-per-message one, message for message.
    const everyUid = [{ start: 1, end: 4294967295 }];
    const { messages: metadata, highestModSeq } = await queries.fetchMetadata(alice, inbox, everyUid);
    expect(highestModSeq).toBe(16);
    expect(metadata).toEqual(
      (await queries.fetchMessages(alice, inbox, everyUid, ["flags", "modseq", "internalDate", "size"]))
        .messages,
    );
    expect(metadata.map((m) => m.uid)).toEqual([1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(metadata[0]!.flags).toEqual(["\\Seen", "\\Flagged"]);
    expect(await queries.fetchMetadata(bob, inbox, everyUid)).toEqual({ messages: [], highestModSeq: null });
    // FETCH's packed read of the index: the columns asked, and each ENVELOPE as IMAP text, the same
    // a second time (from the node's cache) as the first (from the bodies view).
    for (let pass = 0; pass < 2; pass++) {
      const indexed = await queries.fetchIndex(alice, inbox, everyUid, ["flags", "internalDate", "envelope"]);
      expect([...indexed.uids]).toEqual(metadata.map((m) => m.uid));
      expect(indexed.flags).toEqual(metadata.map((m) => m.flags!.join(" ")));
      expect([...indexed.internalDates!]).toEqual(metadata.map((m) => m.internalDate!.getTime()));
      expect(indexed.modseqs).toBeUndefined();
      expect(indexed.envelopes![0]).toBe(encodeEnvelope(fetched[0]!.envelope!));
      expect(indexed.envelopes![0]).toContain('"Report number 1"');
    }

    // MODSEQs of INBOX: 1 created, 2..13 appends, 14 flags, 15 expunge, 16 the 13th append.
    const changes = await queries.changesSince(alice, inbox, 13);
    expect(changes.changed.map((c) => c.uid)).toEqual([1, 2, 13]);
    expect(changes.vanished).toEqual([3, 4]);
  });

  it("searches with RFC 3501 keys while no body is derived yet, in one pass or in several", async () => {
    const sentOn = async (date: string) =>
      (await queriesOf().search(bob, bobInbox, { type: "sentDate", comparison: "on", date })).uids;
    expect(await sentOn("2025-03-25")).toEqual([2]);
    expect(await sentOn("2025-03-24")).toEqual([]);
    await expectSearchResults(queriesOf());
    await expectSearchResults(
      createMailboxQueries(db.pool, { blobs: createTableBlobSource(db.pool), onDemandBatch: 2 }),
    );
  });

  it("lists the UIDs of a 100,000-message mailbox in ascending order (timing: bench/imap.ts)", async () => {
    const big = await writer.createMailbox(alice, "Big");
    await db.pool.query(sql.unsafe`
      INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_digest, header_summary)
      SELECT ${big}, g, 1, '{}', now(), 10, 'x', '{}' FROM generate_series(1, 100000) AS g`);
    const queries = queriesOf();
    const uids = await queries.uidList(alice, big);
    expect(uids.length).toBe(100_000);
    expect(uids[0]).toBe(1);
    expect(uids[99_999]).toBe(100_000);
    expect(uids.every((uid, i) => i === 0 || uid > uids[i - 1]!)).toBe(true);
    await db.pool.query(sql.unsafe`DELETE FROM messages WHERE mailbox_id = ${big}`);
  });

  it("applying the same events twice changes nothing", async () => {
    const projection = createBodiesProjection(createTableBlobSource(db.pool));
    const projector = createProjector({ pool: db.pool, projection });
    const schema = await activeSchema();
    await projector.applyBatch((await readAll(db.pool, 0, 10_000)).events);
    const before = await dumpProjectionSchema(db.pool, projection, schema);
    const { events } = await readAll(db.pool, 0, 10_000);
    const outcome = await projector.applyBatch(events);
    expect(events.length).toBeGreaterThan(30);
    expect(outcome.applied).toBe(0);
    expect(outcome.duplicates).toBe(events.length);
    expect(await dumpProjectionSchema(db.pool, projection, schema)).toEqual(before);
  });

  it("answers the same once the bodies view has caught up, from the view", async () => {
    expect(
      await db.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM proj_bodies.message_bodies`),
    ).toBeGreaterThan(10);
    await expectSearchResults(queriesOf());
    const { messages: fetched } = await queriesOf().fetchMessages(
      alice,
      work,
      [{ start: 1, end: 1 }],
      ["envelope", "structure"],
    );
    expect(fetched[0]!.envelope!.subject).toBe("=?utf-8?q?Caf=C3=A9_menu?=");
    expect(fetched[0]!.structure!.body.type).toBe("text");
  });

  it("a projector killed mid-batch and restarted equals a fresh rebuild, row for row", async () => {
    // More traffic that a fresh checkpoint-less consumer must apply from the start.
    for (let i = 20; i < 60; i++)
      await writer.append(i % 2 ? work : sub, sampleMessage(i), i % 3 ? [] : ["\\Seen"]);
    await writer.expunge(work, [2, 3]);
    await writer.userEvents(alice, [
      {
        type: "MailboxRenamed",
        data: {
          renames: [
            { mailboxId: work, from: "Work", to: "Jobs", uidValidity: 1, uidNext: 1 },
            { mailboxId: sub, from: "Work/Reports", to: "Jobs/Reports", uidValidity: 1, uidNext: 1 },
          ],
        },
      },
    ]);

    const real = createBodiesProjection(createTableBlobSource(db.pool));
    let batches = 0;
    // Without openBatch: the projector's generic path (lock, version), apply moving positions.
    const { openBatch: _openBatch, ...generic } = real;
    const crashing: typeof real = {
      ...generic,
      async apply(tx, schema, events, prepared, positions) {
        const result = await real.apply(tx, schema, events, prepared, positions);
        batches += 1;
        if (batches === 2) throw new Error("projector killed mid-batch");
        return result;
      },
    };
    const errors: unknown[] = [];
    const crashed = await startEmbeddedTransport({
      pool: db.pool,
      projector: createProjector({ pool: db.pool, projection: crashing }),
      batchSize: 7,
      pollIntervalMs: 20,
      onError: (error) => errors.push(error),
    });
    while (errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await crashed.stop();

    const restarted = await startEmbeddedTransport({
      pool: db.pool,
      projector: createProjector({ pool: db.pool, projection: real }),
      batchSize: 7,
      pollIntervalMs: 20,
    });
    await bodiesReached(alice, writer.lastPosition);
    await restarted.stop();

    const live = await dumpProjectionSchema(db.pool, real, await activeSchema());
    const rebuilt = await rebuildProjection({ pool: db.pool, projection: real, batchSize: 11 });
    expect(rebuilt.previousVersion).toBe(1);
    expect(rebuilt.version).toBe(2);
    expect(await activeSchema()).toBe("proj_bodies_v2");
    const fresh = await dumpProjectionSchema(db.pool, real, "proj_bodies_v2");
    expect(fresh.message_refs!.length).toBeGreaterThan(40);
    expect(fresh.message_bodies!.length).toBeGreaterThan(40);
    expect(fresh).toEqual(live);
  });
});
