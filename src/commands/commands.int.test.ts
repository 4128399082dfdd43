import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { collectGarbage } from "../events/blobs/collectGarbage.ts";
import { mailboxStreamId, userStreamId } from "../events/envelope.ts";
import { readStream } from "../events/readStream.ts";
import { commitOptimistically } from "./commit.ts";
import { type DomainContext, DomainError, type DomainErrorCode } from "./index.ts";
import { decide } from "./mailbox/decider.ts";
import {
  createMailbox,
  deleteMailbox,
  renameMailbox,
  setMailboxAppendLimit,
  setMailboxSpecialUse,
  subscribeMailbox,
  unsubscribeMailbox,
} from "./mailbox/handlers.ts";
import { appendMessage, appendMessages } from "./messages/append.ts";
import { expungeMessages } from "./messages/expunge.ts";
import { storeFlags, storeFlagsFrom } from "./messages/store.ts";
import { copyMessages, moveMessages } from "./messages/transfer.ts";
import { testDomainContext, testMessage } from "./testing/context.ts";
import {
  changePassword,
  createUser,
  deleteUser,
  findUser,
  listUsers,
  setUserAppendLimit,
  verifyCredentials,
} from "./user/handlers.ts";
import { findMailboxByName, listMailboxRows, readMailboxForDecision } from "./writeModel.ts";

let db: TestDatabase;
let ctx: DomainContext;

beforeAll(async () => {
  db = await createTestDatabase();
  ctx = testDomainContext(db.pool);
});
afterAll(async () => db.drop());

async function expectDomainError(promise: Promise<unknown>, code: DomainErrorCode) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe(code);
}

let userCount = 0;
async function newUser() {
  const username = `user${++userCount}@example.org`;
  return createUser(ctx, { username, password: "correct horse" });
}

async function mailboxNamed(userId: string, name: string) {
  const row = await findMailboxByName(db.pool, userId, name);
  if (!row) throw new Error(`no mailbox ${name}`);
  return row;
}

async function uidsIn(mailboxId: string): Promise<number[]> {
  return [
    ...(await db.pool.anyFirst(sql.type(z.object({ uid: z.number() }))`
      SELECT uid FROM messages WHERE mailbox_id = ${mailboxId} ORDER BY uid`)),
  ];
}

describe("accounts", () => {
  it("creates a user with an INBOX, records events, never the password", async () => {
    const created = await createUser(ctx, { username: "Alice@Example.org", password: "s3cret-pass" });
    expect(created.username).toBe("alice@example.org");
    const inbox = await mailboxNamed(created.userId, "INBOX");
    expect(inbox.id).toBe(created.inboxMailboxId);
    expect(inbox.uid_validity).toBeGreaterThan(0);
    const events = await readStream(db.pool, userStreamId(created.userId));
    expect(events.map((event) => event.type)).toEqual(["UserCreated", "MailboxCreated"]);
    expect(JSON.stringify(events)).not.toContain("s3cret-pass");
    expect((events[0]!.data as { passwordHash: string }).passwordHash).toMatch(/^\$argon2id\$/);
    expect(events[0]!.metadata).toMatchObject({ userId: created.userId, actor: "test" });
    const inboxEvents = await readStream(db.pool, mailboxStreamId(inbox.id));
    expect(inboxEvents.map((event) => [event.type, event.streamVersion])).toEqual([
      ["MailboxInitialized", 1],
    ]);
  });

  it("refuses a second account of the same name, in any case", async () => {
    await expectDomainError(
      createUser(ctx, { username: "ALICE@example.org", password: "x" }),
      "ALREADYEXISTS",
    );
  });

  it("verifies credentials without throwing on a bad password or an unknown user", async () => {
    expect(
      await verifyCredentials(ctx, { username: "alice@EXAMPLE.org", password: "s3cret-pass" }),
    ).toMatchObject({
      ok: true,
      username: "alice@example.org",
    });
    expect(await verifyCredentials(ctx, { username: "alice@example.org", password: "wrong" })).toEqual({
      ok: false,
    });
    expect(await verifyCredentials(ctx, { username: "nobody", password: "x" })).toEqual({ ok: false });
    expect(await verifyCredentials(ctx, { username: "bad name", password: "x" })).toEqual({ ok: false });
  });

  it("changes the password", async () => {
    await changePassword(ctx, { username: "alice@example.org", password: "new-pass" });
    expect((await verifyCredentials(ctx, { username: "alice@example.org", password: "new-pass" })).ok).toBe(
      true,
    );
    expect(
      (await verifyCredentials(ctx, { username: "alice@example.org", password: "s3cret-pass" })).ok,
    ).toBe(false);
    await expectDomainError(changePassword(ctx, { username: "nobody", password: "x" }), "NONEXISTENT");
  });

  it("lists, sets an append limit, deletes; the name can then be reused", async () => {
    const { userId } = await createUser(ctx, { username: "bob", password: "pw" });
    await setUserAppendLimit(ctx, { username: "bob", appendLimit: 5000 });
    expect((await findUser(ctx, "bob"))?.appendLimit).toBe(5000);
    expect((await listUsers(ctx)).map((user) => user.username)).toContain("bob");
    await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("bob") });
    await deleteUser(ctx, { username: "bob" });
    expect(await findUser(ctx, "bob")).toBeNull();
    expect(await listMailboxRows(db.pool, userId)).toEqual([]);
    expect((await verifyCredentials(ctx, { username: "bob", password: "pw" })).ok).toBe(false);
    await expectDomainError(deleteUser(ctx, { username: "bob" }), "NONEXISTENT");
    const again = await createUser(ctx, { username: "bob", password: "pw2" });
    expect(again.userId).not.toBe(userId);
  });
});

describe("mailboxes", () => {
  it("CREATE makes missing superiors; a trailing separator declares intent only", async () => {
    const { userId } = await newUser();
    const created = await createMailbox(ctx, { userId, name: "Projects/2026/Q1/" });
    expect(created.created).toEqual(["Projects", "Projects/2026", "Projects/2026/Q1"]);
    expect((await listMailboxRows(db.pool, userId)).map((row) => row.name)).toEqual([
      "INBOX",
      "Projects",
      "Projects/2026",
      "Projects/2026/Q1",
    ]);
    await expectDomainError(createMailbox(ctx, { userId, name: "Projects/2026" }), "ALREADYEXISTS");
    await expectDomainError(createMailbox(ctx, { userId, name: "inbox" }), "ALREADYEXISTS");
    await expectDomainError(createMailbox(ctx, { userId, name: "a//b" }), "BADNAME");
  });

  it("DELETE then CREATE of a name: new UIDVALIDITY and UIDs above every old one", async () => {
    const { userId } = await newUser();
    const first = await createMailbox(ctx, { userId, name: "Reused" });
    const oldUids: number[] = [];
    for (let i = 0; i < 3; i++) {
      oldUids.push(
        (await appendMessage(ctx, { userId, mailboxName: "Reused", body: testMessage(`r${i}`) })).uid,
      );
    }
    const deleted = await deleteMailbox(ctx, { userId, name: "Reused" });
    expect(deleted).toMatchObject({ keptAsNoselect: false, expungedCount: 3 });
    await expectDomainError(
      appendMessage(ctx, { userId, mailboxName: "Reused", body: testMessage("x") }),
      "TRYCREATE",
    );
    const second = await createMailbox(ctx, { userId, name: "Reused" });
    expect(second.mailboxId).not.toBe(first.mailboxId);
    expect(second.uidValidity).not.toBe(first.uidValidity);
    const appended = await appendMessage(ctx, { userId, mailboxName: "Reused", body: testMessage("new") });
    expect(appended.uid).toBeGreaterThan(Math.max(...oldUids));
    expect(appended.uidValidity).toBe(second.uidValidity);
  });

  it("DELETE of a mailbox with inferiors keeps it as \\Noselect with no messages; INBOX cannot go", async () => {
    const { userId } = await newUser();
    await createMailbox(ctx, { userId, name: "Parent/Child" });
    await appendMessage(ctx, { userId, mailboxName: "Parent", body: testMessage("p") });
    const parent = await mailboxNamed(userId, "Parent");
    const result = await deleteMailbox(ctx, { userId, name: "Parent" });
    expect(result).toMatchObject({ keptAsNoselect: true, expungedCount: 1 });
    expect((await mailboxNamed(userId, "Parent")).status).toBe("noselect");
    expect((await mailboxNamed(userId, "Parent/Child")).status).toBe("selectable");
    expect(await uidsIn(parent.id)).toEqual([]);
    const parentEvents = await readStream(db.pool, mailboxStreamId(parent.id));
    expect(parentEvents.at(-1)).toMatchObject({
      type: "MessagesExpunged",
      data: { uids: [1], cause: "mailbox-deleted" },
    });
    await expectDomainError(
      appendMessage(ctx, { userId, mailboxName: "Parent", body: testMessage("x") }),
      "TRYCREATE",
    );
    await expectDomainError(deleteMailbox(ctx, { userId, name: "Parent" }), "HASCHILDREN");
    await expectDomainError(deleteMailbox(ctx, { userId, name: "INBOX" }), "CANNOT");
    await expectDomainError(deleteMailbox(ctx, { userId, name: "Nope" }), "NONEXISTENT");
    // CREATE over the placeholder makes it a mailbox again, with UIDs above the old ones.
    await createMailbox(ctx, { userId, name: "Parent" });
    expect((await appendMessage(ctx, { userId, mailboxName: "Parent", body: testMessage("p2") })).uid).toBe(
      2,
    );
  });

  it("RENAME moves inferiors along and creates missing superiors", async () => {
    const { userId } = await newUser();
    await createMailbox(ctx, { userId, name: "Old/Sub" });
    await createMailbox(ctx, { userId, name: "Oldish" });
    await appendMessage(ctx, { userId, mailboxName: "Old/Sub", body: testMessage("kept") });
    const sub = await mailboxNamed(userId, "Old/Sub");
    const result = await renameMailbox(ctx, { userId, from: "Old", to: "Archive/New" });
    expect(result.renamed.map((r) => [r.from, r.to])).toEqual([
      ["Old", "Archive/New"],
      ["Old/Sub", "Archive/New/Sub"],
    ]);
    expect((await listMailboxRows(db.pool, userId)).map((row) => row.name)).toEqual([
      "Archive",
      "Archive/New",
      "Archive/New/Sub",
      "INBOX",
      "Oldish",
    ]);
    const moved = await mailboxNamed(userId, "Archive/New/Sub");
    expect(moved.id).toBe(sub.id);
    expect(await uidsIn(moved.id)).toEqual([1]);
    await expectDomainError(renameMailbox(ctx, { userId, from: "Oldish", to: "Archive" }), "ALREADYEXISTS");
    await expectDomainError(renameMailbox(ctx, { userId, from: "Gone", to: "X" }), "NONEXISTENT");
    // The old name, recreated, starts above the UIDs it had.
    await createMailbox(ctx, { userId, name: "Old/Sub" });
    expect((await appendMessage(ctx, { userId, mailboxName: "Old/Sub", body: testMessage("n") })).uid).toBe(
      2,
    );
  });

  it("RENAME INBOX moves its messages to a new mailbox and leaves INBOX empty", async () => {
    const { userId, inboxMailboxId } = await newUser();
    await createMailbox(ctx, { userId, name: "INBOX/Lists" });
    for (const subject of ["a", "b", "c"]) {
      await appendMessage(ctx, {
        userId,
        mailboxName: "INBOX",
        body: testMessage(subject),
        flags: ["\\Seen"],
      });
    }
    const result = await renameMailbox(ctx, { userId, from: "inbox", to: "Old Mail" });
    expect(result.inboxMovedTo).toMatchObject({ name: "Old Mail", messageCount: 3 });
    const oldMail = await mailboxNamed(userId, "Old Mail");
    expect(await uidsIn(oldMail.id)).toEqual([1, 2, 3]);
    expect(await uidsIn(inboxMailboxId)).toEqual([]);
    expect((await mailboxNamed(userId, "INBOX")).id).toBe(inboxMailboxId);
    expect((await mailboxNamed(userId, "INBOX/Lists")).status).toBe("selectable");
    const appended = await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("d") });
    expect(appended.uid).toBe(4);
    const events = await readStream(db.pool, mailboxStreamId(oldMail.id));
    expect(events.map((event) => event.type)).toEqual(["MailboxInitialized", "MessagesMovedIn"]);
  });

  it("subscribes by name, existing or not; special use; append limit", async () => {
    const { userId } = await newUser();
    await subscribeMailbox(ctx, { userId, name: "Does/Not/Exist" });
    expect((await subscribeMailbox(ctx, { userId, name: "Does/Not/Exist" })).lastGlobalPosition).toBeNull();
    await unsubscribeMailbox(ctx, { userId, name: "Does/Not/Exist" });
    await createMailbox(ctx, { userId, name: "Sent", specialUse: "\\Sent" });
    expect((await mailboxNamed(userId, "Sent")).special_use).toBe("\\Sent");
    await setMailboxSpecialUse(ctx, { userId, name: "Sent", specialUse: null });
    expect((await mailboxNamed(userId, "Sent")).special_use).toBeNull();
    await setMailboxAppendLimit(ctx, { userId, name: "Sent", appendLimit: 10 });
    expect((await mailboxNamed(userId, "Sent")).append_limit).toBe(10);
    await expectDomainError(
      setMailboxAppendLimit(ctx, { userId, name: "Nope", appendLimit: 1 }),
      "NONEXISTENT",
    );
  });

  it("keeps users apart: another user's mailbox id is not found", async () => {
    const alice = await newUser();
    const mallory = await newUser();
    await appendMessage(ctx, { userId: alice.userId, mailboxName: "INBOX", body: testMessage("private") });
    await expectDomainError(
      storeFlags(ctx, {
        userId: mallory.userId,
        mailboxId: alice.inboxMailboxId,
        uids: [1],
        operation: "add",
        flags: ["\\Deleted"],
      }),
      "NONEXISTENT",
    );
    await expectDomainError(
      copyMessages(ctx, {
        userId: mallory.userId,
        mailboxId: alice.inboxMailboxId,
        uids: [1],
        targetName: "INBOX",
      }),
      "NONEXISTENT",
    );
  });
});

describe("messages", () => {
  it("APPEND assigns UIDs and MODSEQs, stores the body once, summarizes the header", async () => {
    const { userId, inboxMailboxId } = await newUser();
    const body = testMessage("hello");
    const first = await appendMessage(ctx, {
      userId,
      mailboxName: "INBOX",
      body,
      flags: ["\\Seen", "$Work"],
      internalDate: new Date("2024-05-01T12:00:00Z"),
    });
    const second = await appendMessage(ctx, {
      userId,
      mailboxName: "INBOX",
      body: (async function* () {
        yield body;
      })(),
    });
    expect([first.uid, first.modseq, second.uid, second.modseq]).toEqual([1, 2, 2, 3]);
    expect(second.blobDigest).toBe(first.blobDigest);
    expect(first.lastGlobalPosition).toBeLessThan(second.lastGlobalPosition);
    const events = await readStream(db.pool, mailboxStreamId(inboxMailboxId));
    expect(events[1]).toMatchObject({
      type: "MessageAppended",
      streamVersion: 2,
      data: {
        uid: 1,
        modseq: 2,
        flags: ["$Work", "\\Seen"],
        internalDate: "2024-05-01T12:00:00.000Z",
        size: body.length,
        headerSummary: { subject: "hello", from: ["Test <test@example.org>"] },
      },
    });
    await expectDomainError(appendMessage(ctx, { userId, mailboxName: "Nope", body }), "TRYCREATE");
  });

  it("append limit: mailbox over user over global; refused before storing when declared", async () => {
    const limited = testDomainContext(db.pool, { appendLimit: 100 });
    const { userId } = await newUser();
    const username = `user${userCount}@example.org`;
    const big = testMessage("big", 150);
    await expectDomainError(appendMessage(limited, { userId, mailboxName: "INBOX", body: big }), "TOOBIG");
    // Declared too big: refused before a byte is stored.
    const unseen = testMessage("never stored", 500);
    await expectDomainError(
      appendMessage(limited, { userId, mailboxName: "INBOX", body: unseen, declaredSize: unseen.length }),
      "TOOBIG",
    );
    const { sha256Hex } = await import("../events/blobs/blobStore.ts");
    expect(await limited.blobStore.has(sha256Hex(unseen))).toBe(false);
    // The user's limit overrides the global one.
    await setUserAppendLimit(ctx, { username, appendLimit: 1000 });
    await appendMessage(limited, { userId, mailboxName: "INBOX", body: big });
    // The mailbox's limit overrides the user's, even when smaller.
    await setMailboxAppendLimit(ctx, { userId, name: "INBOX", appendLimit: 120 });
    await expectDomainError(appendMessage(limited, { userId, mailboxName: "INBOX", body: big }), "TOOBIG");
    await setMailboxAppendLimit(ctx, { userId, name: "INBOX", appendLimit: 0 });
    await expectDomainError(
      appendMessage(limited, { userId, mailboxName: "INBOX", body: testMessage("s", 0) }),
      "TOOBIG",
    );
  });

  it("MULTIAPPEND appends all messages in one transaction, or none", async () => {
    const { userId, inboxMailboxId } = await newUser();
    const outcome = await appendMessages(ctx, {
      userId,
      mailboxName: "INBOX",
      messages: [
        { body: testMessage("one"), flags: ["\\Seen"] },
        { body: testMessage("two") },
        { body: testMessage("three"), internalDate: new Date("2022-01-01T00:00:00Z") },
      ],
    });
    expect(outcome.messages.map((m) => [m.uid, m.modseq])).toEqual([
      [1, 2],
      [2, 3],
      [3, 4],
    ]);
    const events = await readStream(db.pool, mailboxStreamId(inboxMailboxId));
    expect(events.map((event) => event.type)).toEqual([
      "MailboxInitialized",
      "MessageAppended",
      "MessageAppended",
      "MessageAppended",
    ]);
    // One commit: the three events are contiguous in the log.
    const positions = events.slice(1).map((event) => event.globalPosition);
    expect(positions).toEqual([positions[0], positions[0]! + 1, positions[0]! + 2]);
    expect(outcome.lastGlobalPosition).toBe(positions[2]);

    // Over the limit by what was stored (no declared size): refused, naming the message.
    const limited = testDomainContext(db.pool, { appendLimit: 200 });
    const refused = appendMessages(limited, {
      userId,
      mailboxName: "INBOX",
      messages: [{ body: testMessage("small", 0) }, { body: testMessage("big", 300) }],
    });
    await expect(refused).rejects.toThrow(
      /^message 2 of 2: the message is \d+ octets, above the append limit of 200; none was appended$/,
    );
    await expectDomainError(refused, "TOOBIG");
    expect(await uidsIn(inboxMailboxId)).toEqual([1, 2, 3]);

    // The mailbox's own limit set while the bodies were being stored: the third message is
    // refused under the lock, after the first two were decided; none of them is appended.
    let stored = 0;
    const racing = testDomainContext(db.pool, {
      blobStore: {
        ...ctx.blobStore,
        // Bodies stored before the statement (as a store outside the database does).
        stageInStatement: undefined,
        async put(body) {
          const result = await ctx.blobStore.put(body);
          if (++stored === 3) await setMailboxAppendLimit(ctx, { userId, name: "INBOX", appendLimit: 200 });
          return result;
        },
      },
    });
    await expectDomainError(
      appendMessages(racing, {
        userId,
        mailboxName: "INBOX",
        messages: [
          { body: testMessage("a", 0) },
          { body: testMessage("b", 0) },
          { body: testMessage("c", 300) },
        ],
      }),
      "TOOBIG",
    );
    expect(await uidsIn(inboxMailboxId)).toEqual([1, 2, 3]);
    const after = await readStream(db.pool, mailboxStreamId(inboxMailboxId));
    expect(after.filter((event) => event.type === "MessageAppended")).toHaveLength(3);
    // UIDs go on from where they were: nothing was drawn for the refused command.
    await setMailboxAppendLimit(ctx, { userId, name: "INBOX", appendLimit: null });
    expect((await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("d") })).uid).toBe(4);
  });

  it("commits a decision from an unlocked read only if nothing it read moved since", async () => {
    const { userId, inboxMailboxId: mailboxId } = await newUser();
    await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("first") });
    const read = (await readMailboxForDecision(db.pool, userId, mailboxId, [1]))!;
    const events = decide(
      { type: "StoreFlags", uids: [1], operation: "add", flags: ["\\Flagged"] },
      read,
      new Date(),
    );
    // Another writer moves the mailbox in between: the decision is not committed, nothing is written.
    await storeFlags(ctx, { userId, mailboxId, uids: [1], operation: "add", flags: ["$Other"] });
    const positionBefore = await db.pool.oneFirst(sql.unsafe`SELECT max(global_position) FROM events`);
    expect(await commitOptimistically(db.pool, userId, ctx.metadata, { before: read, events })).toBeNull();
    expect(await db.pool.oneFirst(sql.unsafe`SELECT max(global_position) FROM events`)).toBe(positionBefore);
    expect(
      await db.pool.oneFirst(sql.unsafe`
      SELECT flags FROM messages WHERE mailbox_id = ${mailboxId} AND uid = 1`),
    ).toEqual(["$Other"]);

    // An APPEND decided with the mailbox's limit as read is not committed once the limit changed.
    const target = (await readMailboxForDecision(db.pool, userId, mailboxId, []))!;
    await setMailboxAppendLimit(ctx, { userId, name: "INBOX", appendLimit: 10 });
    const appended = decide(
      {
        type: "AppendMessage",
        flags: [],
        size: 500,
        blobDigest: "0".repeat(64),
        headerSummary: {
          messageId: null,
          date: null,
          from: [],
          to: [],
          cc: [],
          subject: null,
          inReplyTo: null,
        },
        appendLimit: null,
      },
      target,
      new Date(),
    );
    expect(
      await commitOptimistically(
        db.pool,
        userId,
        ctx.metadata,
        { before: target, events: appended },
        { appendLimit: null },
      ),
    ).toBeNull();
    expect(await uidsIn(mailboxId)).toEqual([1]);
    await setMailboxAppendLimit(ctx, { userId, name: "INBOX", appendLimit: null });

    // Many writers at once on one mailbox: each decision that loses falls back to the lock; all land.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2
          ? appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage(`racer ${i}`) })
          : storeFlags(ctx, { userId, mailboxId, uids: [1], operation: "add", flags: [`$k${i}`] }),
      ),
    );
    expect(await uidsIn(mailboxId)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const flags = (await db.pool.oneFirst(sql.unsafe`
      SELECT flags FROM messages WHERE mailbox_id = ${mailboxId} AND uid = 1`)) as string[];
    expect([...flags].sort()).toEqual(["$Other", "$k0", "$k10", "$k2", "$k4", "$k6", "$k8"]);
  });

  it("a STORE decided from rows a FETCH read commits them, or decides again when they went stale", async () => {
    const { userId, inboxMailboxId: mailboxId } = await newUser();
    await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("read by a fetch") });
    const read = (await readMailboxForDecision(db.pool, userId, mailboxId, [1]))!;
    const known = {
      highestModSeq: read.highestModSeq,
      uidValidity: read.uidValidity,
      messages: read.messages,
    };
    const seen = await storeFlagsFrom(
      ctx,
      { userId, mailboxId, uids: [1], operation: "add", flags: ["\\Seen"] },
      known,
    );
    expect(seen).toMatchObject({ changed: [1], previousHighestModSeq: read.highestModSeq });
    // The same rows again, now stale: decided afresh, so the flag set meanwhile is kept.
    await storeFlags(ctx, { userId, mailboxId, uids: [1], operation: "add", flags: ["$Meanwhile"] });
    const again = await storeFlagsFrom(
      ctx,
      { userId, mailboxId, uids: [1], operation: "add", flags: ["\\Flagged"] },
      known,
    );
    expect(again.messages[0]!.flags.sort()).toEqual(["$Meanwhile", "\\Flagged", "\\Seen"]);
  });

  it("STORE adds, removes, replaces; UNCHANGEDSINCE reports and spares modified messages", async () => {
    const { userId, inboxMailboxId: mailboxId } = await newUser();
    for (const subject of ["1", "2", "3"])
      await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage(subject) });
    const added = await storeFlags(ctx, {
      userId,
      mailboxId,
      uids: [1, 2, 99],
      operation: "add",
      flags: ["\\Seen"],
    });
    expect(added).toMatchObject({
      changed: [1, 2],
      modified: [],
      highestModSeq: 5,
      messages: [
        { uid: 1, flags: ["\\Seen"], modseq: 5 },
        { uid: 2, flags: ["\\Seen"], modseq: 5 },
      ],
    });
    const again = await storeFlags(ctx, {
      userId,
      mailboxId,
      uids: [1],
      operation: "add",
      flags: ["\\Seen"],
    });
    expect(again).toMatchObject({ changed: [], lastGlobalPosition: null, highestModSeq: 5 });
    const conditional = await storeFlags(ctx, {
      userId,
      mailboxId,
      uids: [1, 3],
      operation: "replace",
      flags: ["\\Flagged"],
      unchangedSince: 4,
    });
    expect(conditional).toMatchObject({ changed: [3], modified: [1], highestModSeq: 6 });
    expect(conditional.messages).toEqual([
      { uid: 1, flags: ["\\Seen"], modseq: 5 },
      { uid: 3, flags: ["\\Flagged"], modseq: 6 },
    ]);
    const removed = await storeFlags(ctx, {
      userId,
      mailboxId,
      uids: [3],
      operation: "remove",
      flags: ["\\flagged"],
    });
    expect(removed.messages).toEqual([{ uid: 3, flags: [], modseq: 7 }]);
  });

  it("EXPUNGE removes all \\Deleted; UID EXPUNGE only those given", async () => {
    const { userId, inboxMailboxId: mailboxId } = await newUser();
    for (const subject of ["1", "2", "3", "4"])
      await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage(subject) });
    await storeFlags(ctx, { userId, mailboxId, uids: [1, 2, 4], operation: "add", flags: ["\\Deleted"] });
    expect((await expungeMessages(ctx, { userId, mailboxId, uids: [2, 3] })).expungedUids).toEqual([2]);
    expect(await uidsIn(mailboxId)).toEqual([1, 3, 4]);
    expect((await expungeMessages(ctx, { userId, mailboxId })).expungedUids).toEqual([1, 4]);
    expect(await uidsIn(mailboxId)).toEqual([3]);
    const nothing = await expungeMessages(ctx, { userId, mailboxId });
    expect(nothing).toMatchObject({ expungedUids: [], lastGlobalPosition: null });
  });

  it("COPY gives new UIDs in the target and keeps flags and dates; MOVE also expunges the source", async () => {
    const { userId, inboxMailboxId: inbox } = await newUser();
    const target = await createMailbox(ctx, { userId, name: "Target" });
    await appendMessage(ctx, { userId, mailboxName: "Target", body: testMessage("already there") });
    for (const subject of ["1", "2", "3"]) {
      await appendMessage(ctx, {
        userId,
        mailboxName: "INBOX",
        body: testMessage(subject),
        flags: ["\\Flagged"],
      });
    }
    const copied = await copyMessages(ctx, {
      userId,
      mailboxId: inbox,
      uids: [3, 1, 42],
      targetName: "Target",
    });
    expect(copied).toMatchObject({
      targetMailboxId: target.mailboxId,
      sourceUids: [1, 3],
      targetUids: [2, 3],
    });
    expect(await uidsIn(inbox)).toEqual([1, 2, 3]);
    const copiedFlags = await db.pool.anyFirst(sql.type(z.object({ flags: z.array(z.string()) }))`
      SELECT flags FROM messages WHERE mailbox_id = ${target.mailboxId} AND uid = 2`);
    expect(copiedFlags).toEqual([["\\Flagged"]]);
    const moved = await moveMessages(ctx, {
      userId,
      mailboxId: inbox,
      uids: [2, 3],
      targetName: "Target",
    });
    expect(moved).toMatchObject({ sourceUids: [2, 3], targetUids: [4, 5] });
    expect(await uidsIn(inbox)).toEqual([1]);
    expect(await uidsIn(target.mailboxId)).toEqual([1, 2, 3, 4, 5]);
    const inboxEvents = await readStream(db.pool, mailboxStreamId(inbox));
    expect(inboxEvents.at(-1)).toMatchObject({ type: "MessagesMovedOut", data: { uids: [2, 3] } });
    await expectDomainError(
      copyMessages(ctx, { userId, mailboxId: inbox, uids: [1], targetName: "Nope" }),
      "TRYCREATE",
    );
  });

  it("MOVE within one mailbox gives the messages new UIDs", async () => {
    const { userId, inboxMailboxId: inbox } = await newUser();
    await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("self") });
    const moved = await moveMessages(ctx, { userId, mailboxId: inbox, uids: [1], targetName: "INBOX" });
    expect(moved.targetUids).toEqual([2]);
    expect(await uidsIn(inbox)).toEqual([2]);
  });

  it("garbage collection keeps bodies still referenced and removes expunged ones", async () => {
    const { userId, inboxMailboxId: mailboxId } = await newUser();
    const kept = await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("gc kept") });
    const gone = await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("gc gone") });
    await storeFlags(ctx, { userId, mailboxId, uids: [gone.uid], operation: "add", flags: ["\\Deleted"] });
    await expungeMessages(ctx, { userId, mailboxId });
    const result = await collectGarbage(db.pool, ctx.blobStore, {
      gracePeriodMs: 0,
      now: new Date(Date.now() + 1000),
    });
    expect(result.deleted).toContain(gone.blobDigest);
    expect(result.deleted).not.toContain(kept.blobDigest);
    expect(await ctx.blobStore.has(kept.blobDigest)).toBe(true);
  });
});
