// The node's copy of a mailbox's FLAGS and MODSEQ on a real PostgreSQL: read in chunks, then kept
// exact by the changes above its MODSEQ, it equals the mailbox index after every kind of write
// (flags changed, appends, expunges), is the same copy brought up to date rather than read again,
// is never handed to another user, and is dropped with its mailbox.
import { sql } from "slonik";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/database.ts";
import { createTableBlobSource } from "../bodiesView/tableBlobSource.ts";
import { EventWriter, sampleMessage } from "../testSupport.ts";
import { createMailboxQueries, type MailboxQueries } from "./index.ts";

let db: TestDatabase;
let writer: EventWriter;
let queries: MailboxQueries;
let alice: string;
let bob: string;
let inbox: string;

const EVERY_UID = [{ start: 1, end: 4_294_967_295 }];

/** The index's own answer, to compare the copy with. */
async function indexed() {
  const batch = await queries.fetchIndex(alice, inbox, EVERY_UID, ["flags", "modseq"]);
  return {
    modseq: batch.highestModSeq,
    uids: [...batch.uids],
    modseqs: [...(batch.modseqs ?? [])],
    flags: [...(batch.flags ?? [])],
  };
}

async function copied() {
  const uids = [...(await queries.fetchIndex(alice, inbox, EVERY_UID, [])).uids];
  const copy = await queries.cachedFlags(alice, inbox, uids);
  if (copy === null) throw new Error("no copy");
  const slice = copy.slice(1, 4_294_967_295);
  return {
    copy,
    seen: {
      modseq: slice.modseq,
      uids: [...slice.uids],
      modseqs: [...slice.modseqs],
      flags: [...slice.flags],
    },
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  writer = new EventWriter(db.pool);
  // Read 7 messages at a time: the first copy is made of several snapshots.
  queries = createMailboxQueries(db.pool, { blobs: createTableBlobSource(db.pool), flagsLoadChunk: 7 });
  alice = await writer.createUser();
  bob = await writer.createUser();
  inbox = await writer.createMailbox(alice, "INBOX");
  for (let i = 1; i <= 40; i++) {
    await writer.append(
      inbox,
      sampleMessage(i),
      i % 3 === 0 ? [] : i % 3 === 1 ? ["\\Seen"] : ["\\Seen", "$Work"],
    );
  }
  await writer.expunge(inbox, [5, 6, 7]);
});

afterAll(async () => {
  await db?.drop();
});

it("equals the index when made, and after each write is the same copy brought up to date", async () => {
  const first = await copied();
  expect(first.seen).toEqual(await indexed());
  expect(first.seen.uids).toHaveLength(37);

  const writes: (() => Promise<unknown>)[] = [
    () =>
      writer.setFlags(inbox, [
        { uid: 1, flags: ["\\Flagged"] },
        { uid: 40, flags: [] },
      ]),
    () => writer.append(inbox, sampleMessage(41), ["\\Draft"]),
    () => writer.expunge(inbox, [2, 3, 41]),
    () => writer.setFlags(inbox, [{ uid: 8, flags: ["\\Seen", "\\Answered", "$New"] }]),
    async () => {
      await writer.append(inbox, sampleMessage(42));
      await writer.expunge(inbox, [9]);
      await writer.setFlags(inbox, [{ uid: 42, flags: ["\\Seen"] }]);
    },
  ];
  for (const write of writes) {
    await write();
    const now = await copied();
    expect(now.copy).toBe(first.copy);
    expect(now.seen).toEqual(await indexed());
  }
});

it("answers callers at once one after another, each with the mailbox as it is", async () => {
  const [a, b] = await Promise.all([
    copied(),
    writer.setFlags(inbox, [{ uid: 10, flags: ["\\Deleted"] }]).then(copied),
  ]);
  expect(a.copy).toBe(b.copy);
  expect(b.seen).toEqual(await indexed());
});

it("is never another user's, and goes with a deleted mailbox", async () => {
  expect(await queries.cachedFlags(bob, inbox, [])).toBeNull();
  await db.pool.query(sql.unsafe`UPDATE mailboxes SET status = 'deleted' WHERE id = ${inbox}`);
  expect(await queries.cachedFlags(alice, inbox, [])).toBeNull();
  await db.pool.query(sql.unsafe`UPDATE mailboxes SET status = 'selectable' WHERE id = ${inbox}`);
});
