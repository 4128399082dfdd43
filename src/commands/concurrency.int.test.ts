// Many writers on real connections at once (STYLE.md: concurrency tests use many real
// connections, not loops on one). The write model must also equal what the events say.
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { parseDomainEvent } from "../events/domain/index.ts";
import type { MailboxEvent } from "../events/domain/mailboxEvents.ts";
import { mailboxStreamId } from "../events/envelope.ts";
import { readStream } from "../events/readStream.ts";
import type { DomainContext } from "./context.ts";
import { evolveAll, initialState } from "./mailbox/decider.ts";
import { createMailbox } from "./mailbox/handlers.ts";
import { appendMessage } from "./messages/append.ts";
import { expungeMessages } from "./messages/expunge.ts";
import { storeFlags } from "./messages/store.ts";
import { moveMessages } from "./messages/transfer.ts";
import { claimRecent } from "./recent.ts";
import { testDomainContext, testMessage } from "./testing/context.ts";
import { createUser } from "./user/handlers.ts";

let db: TestDatabase;
let ctx: DomainContext;

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 60 });
  ctx = testDomainContext(db.pool);
});
afterAll(async () => db.drop());

const messageRows = z.object({ uid: z.number(), flags: z.array(z.string()), subject: z.string().nullable() });

async function messagesIn(mailboxId: string) {
  return db.pool.any(sql.type(messageRows)`
    SELECT uid, flags, header_summary ->> 'subject' AS subject FROM messages WHERE mailbox_id = ${mailboxId} ORDER BY uid`);
}

/** Folds the mailbox's stream from scratch and compares it with the write model's rows. */
async function expectStreamMatchesWriteModel(mailboxId: string) {
  const events = (await readStream(db.pool, mailboxStreamId(mailboxId))).map(
    (event) => parseDomainEvent(event) as MailboxEvent,
  );
  const replayed = evolveAll(initialState(mailboxId), events);
  const header = await db.pool.one(sql.type(z.object({ uid_next: z.number(), highest_modseq: z.number() }))`
    SELECT uid_next, highest_modseq FROM mailboxes WHERE id = ${mailboxId}`);
  expect({ uidNext: replayed.uidNext, highestModSeq: replayed.highestModSeq }).toEqual({
    uidNext: header.uid_next,
    highestModSeq: header.highest_modseq,
  });
  expect(replayed.highestModSeq).toBe(events.length);
  const rows = await messagesIn(mailboxId);
  expect(
    [...replayed.messages]
      .map(([uid, message]) => ({ uid, flags: [...message.flags] }))
      .sort((a, b) => a.uid - b.uid),
  ).toEqual(rows.map(({ uid, flags }) => ({ uid, flags })));
}

describe("concurrent writers", () => {
  it("50 concurrent appends to one mailbox over 50 connections: all succeed, UIDs uidNext..uidNext+49", async () => {
    const { userId, inboxMailboxId } = await createUser(ctx, { username: "concurrent", password: "pw" });
    const warmup = await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("first") });
    const uidNext = warmup.uid + 1;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage(`concurrent ${i}`, 10_000) }),
      ),
    );
    const uids = results.map((result) => result.uid).sort((a, b) => a - b);
    expect(uids).toEqual(Array.from({ length: 50 }, (_, i) => uidNext + i));
    const modseqs = results.map((result) => result.modseq).sort((a, b) => a - b);
    expect(new Set(modseqs).size).toBe(50);
    expect((await messagesIn(inboxMailboxId)).map((row) => row.uid)).toEqual([warmup.uid, ...uids]);
    await expectStreamMatchesWriteModel(inboxMailboxId);
  });

  it("two mailboxes moved between concurrently: no message lost or duplicated", async () => {
    const { userId, inboxMailboxId: a } = await createUser(ctx, { username: "mover", password: "pw" });
    const { mailboxId: b } = await createMailbox(ctx, { userId, name: "B" });
    const perSide = 60;
    for (let i = 0; i < perSide; i++) {
      await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage(`A${i}`) });
      await appendMessage(ctx, { userId, mailboxName: "B", body: testMessage(`B${i}`) });
    }
    const batches = (from: string, to: string) =>
      Array.from({ length: perSide / 3 }, (_, i) =>
        moveMessages(ctx, {
          userId,
          mailboxId: from,
          uids: [3 * i + 1, 3 * i + 2, 3 * i + 3],
          targetName: to,
        }),
      );
    const outcomes = await Promise.all([
      ...batches(a, "B"),
      ...batches(b, "INBOX"),
      // Flag changes and appends racing with the moves.
      ...Array.from({ length: 10 }, (_, i) =>
        storeFlags(ctx, { userId, mailboxId: a, uids: [i + 1], operation: "add", flags: ["\\Seen"] }),
      ),
      ...Array.from({ length: 10 }, (_, i) =>
        appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage(`late A${i}`) }),
      ),
    ]);
    expect(outcomes).toHaveLength(2 * (perSide / 3) + 20);
    const inA = await messagesIn(a);
    const inB = await messagesIn(b);
    const subjectsA = inA.map((row) => row.subject).sort();
    const subjectsB = inB.map((row) => row.subject).sort();
    const expectedA = [
      ...Array.from({ length: perSide }, (_, i) => `B${i}`),
      ...Array.from({ length: 10 }, (_, i) => `late A${i}`),
    ].sort();
    expect(subjectsA).toEqual(expectedA);
    expect(subjectsB).toEqual(Array.from({ length: perSide }, (_, i) => `A${i}`).sort());
    expect(new Set(inA.map((row) => row.uid)).size).toBe(inA.length);
    expect(new Set(inB.map((row) => row.uid)).size).toBe(inB.length);
    await expectStreamMatchesWriteModel(a);
    await expectStreamMatchesWriteModel(b);
  });
});

describe("concurrent STORE and EXPUNGE on one message", () => {
  it("30 sessions each add their own keyword at once: no change is lost, every MODSEQ is new", async () => {
    const { userId, inboxMailboxId } = await createUser(ctx, { username: "stores", password: "pw" });
    const { uid } = await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("flagged") });
    const keywords = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    const outcomes = await Promise.all(
      keywords.map((keyword) =>
        storeFlags(ctx, {
          userId,
          mailboxId: inboxMailboxId,
          uids: [uid],
          operation: "add",
          flags: [keyword],
        }),
      ),
    );
    const [row] = await messagesIn(inboxMailboxId);
    expect(row!.flags).toEqual(keywords);
    expect(new Set(outcomes.map((outcome) => outcome.highestModSeq)).size).toBe(30);
    // Each saw the keywords committed before it, never fewer than it could have.
    for (const outcome of outcomes) {
      const after = outcome.messages[0]!;
      expect(after.flags.length).toBe(
        after.modseq - outcomes.reduce((low, o) => Math.min(low, o.highestModSeq), Infinity) + 1,
      );
    }
    await expectStreamMatchesWriteModel(inboxMailboxId);

    // \Deleted set while an EXPUNGE runs: the EXPUNGE sees it or not, the message is never half gone.
    await Promise.all([
      storeFlags(ctx, {
        userId,
        mailboxId: inboxMailboxId,
        uids: [uid],
        operation: "add",
        flags: ["\\Deleted"],
      }),
      expungeMessages(ctx, { userId, mailboxId: inboxMailboxId }),
    ]);
    await expungeMessages(ctx, { userId, mailboxId: inboxMailboxId });
    expect(await messagesIn(inboxMailboxId)).toEqual([]);
    await expectStreamMatchesWriteModel(inboxMailboxId);
  });
});

describe("\\Recent claims", () => {
  it("concurrent claimers on many connections get disjoint ranges that cover every UID once", async () => {
    const mailboxId = "mbx-recent-claims";
    const claimers = 40;
    // Each claimer sees the mailbox at a different size, in no particular order.
    const throughUids = Array.from({ length: claimers }, (_, i) => ((i * 17) % claimers) + 1);
    const claims = await Promise.all(throughUids.map((through) => claimRecent(db.pool, mailboxId, through)));
    const owners = new Map<number, number>();
    claims.forEach((claim, claimer) => {
      expect(claim.through).toBe(throughUids[claimer]);
      for (let uid = claim.after + 1; uid <= claim.through; uid++) {
        expect(owners.has(uid), `UID ${uid} claimed twice`).toBe(false);
        owners.set(uid, claimer);
      }
    });
    expect([...owners.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: claimers }, (_, i) => i + 1),
    );
    // A later session finds nothing new up to the mark, and only the new UIDs past it.
    expect(await claimRecent(db.pool, mailboxId, claimers)).toEqual({ after: claimers, through: claimers });
    expect(await claimRecent(db.pool, mailboxId, claimers + 3)).toEqual({
      after: claimers,
      through: claimers + 3,
    });
  });

  it("respects claims made elsewhere: another node's mark is never claimed again", async () => {
    const mailboxId = "mbx-recent-elsewhere";
    expect(await claimRecent(db.pool, mailboxId, 5)).toEqual({ after: 0, through: 5 });
    // Another node (its own process, its own remembered marks) claims through 8.
    await db.pool.query(sql.unsafe`
      UPDATE recent_claims SET previous_through_uid = 5, claimed_through_uid = 8 WHERE mailbox_id = ${mailboxId}`);
    expect(await claimRecent(db.pool, mailboxId, 4)).toEqual({ after: 4, through: 4 });
    expect(await claimRecent(db.pool, mailboxId, 7)).toEqual({ after: 7, through: 7 });
    expect(await claimRecent(db.pool, mailboxId, 10)).toEqual({ after: 8, through: 10 });
    expect(await claimRecent(db.pool, mailboxId, 10)).toEqual({ after: 10, through: 10 });
  });
});
