import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureCli } from "../../test/support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import type { DomainContext } from "../commands/context.ts";
import { storeFlags } from "../commands/messages/store.ts";
import { testMessage } from "../commands/testing/context.ts";
import { findMailboxByName, findUserByName } from "../commands/writeModel.ts";
import { createPostgresBlobStore } from "../events/blobs/postgresBlobStore.ts";
import { type HistoryEntry, type MailboxAt, runHistoryCommand } from "./history.ts";
import { runMailboxCommand } from "./mailbox.ts";
import { runMessageCommand } from "./message.ts";
import { runUserCommand } from "./user.ts";

let db: TestDatabase;
/** Instants between the steps of the story below. */
const at: Record<string, Date> = {};

type Runner = typeof runHistoryCommand;
async function run(command: Runner, argv: string[], stdin: Buffer | string = "") {
  return captureCli((io) => command(argv, { pool: db.pool, ...io }), stdin);
}

async function mark(name: string) {
  await sleep(20);
  at[name] = new Date();
  await sleep(20);
}

const hello = testMessage("Hello");
const later = testMessage("Later");

beforeAll(async () => {
  db = await createTestDatabase();
  expect((await run(runUserCommand, ["create", "carol", "--password-stdin"], "pw")).code).toBe(0);
  expect((await run(runMailboxCommand, ["create", "carol", "Work"])).code).toBe(0);
  expect((await run(runMessageCommand, ["add", "carol", "Work", "-"], hello)).code).toBe(0);
  await mark("oneMessage");
  // A change from an IMAP session: actor, address and command are the gateway's.
  const user = (await findUserByName(db.pool, "carol"))!;
  const work = (await findMailboxByName(db.pool, user.id, "Work"))!;
  const session: DomainContext = {
    pool: db.pool,
    blobStore: createPostgresBlobStore(db.pool),
    metadata: {
      actor: "carol",
      remoteAddress: "192.0.2.7",
      sessionId: "s1",
      command: { tag: "a7", name: "UID STORE" },
    },
    now: () => new Date(),
  };
  await storeFlags(session, {
    userId: user.id,
    mailboxId: work.id,
    uids: [1],
    operation: "add",
    flags: ["\\Seen"],
  });
  expect((await run(runMessageCommand, ["add", "carol", "Work", "-"], later)).code).toBe(0);
  await mark("twoMessages");
  expect((await run(runMessageCommand, ["remove", "carol", "Work", "1"])).code).toBe(0);
  expect((await run(runMailboxCommand, ["rename", "carol", "Work", "Job"])).code).toBe(0);
  expect((await run(runMailboxCommand, ["create", "carol", "Work"])).code).toBe(0);
  await mark("end");
});
afterAll(async () => db.drop());

describe("mailledger history", () => {
  it("shows the account's audit trail: when, who, from where, which command, what", async () => {
    const result = await run(runHistoryCommand, ["carol"]);
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t"));
    expect(lines.every((line) => line.length === 6 && !Number.isNaN(Date.parse(line[0]!)))).toBe(true);
    const rows = lines.map(([, who, from, command, mailbox, what]) => [who, from, command, mailbox, what]);
    expect(rows).toEqual([
      ["admin", "-", "user create", "-", "created user carol"],
      ["admin", "-", "user create", "INBOX", "created mailbox INBOX"],
      ["admin", "-", "user create", "INBOX", expect.stringMatching(/^mailbox stream started/)],
      ["admin", "-", "mailbox create", "Work", "created mailbox Work"],
      ["admin", "-", "mailbox create", "Work", expect.stringMatching(/^mailbox stream started/)],
      ["admin", "-", "message add", "Work", expect.stringMatching(/^appended UID 1 "Hello" \(\d+ octets\)$/)],
      ["carol", "192.0.2.7", "UID STORE", "Work", "+FLAGS (\\Seen) on UID 1"],
      ["admin", "-", "message add", "Work", expect.stringMatching(/^appended UID 2 "Later"/)],
      ["admin", "-", "message remove", "Work", "+FLAGS (\\Deleted) on UID 1"],
      ["admin", "-", "message remove", "Work", "expunged UID 1 (uid-expunge)"],
      ["admin", "-", "mailbox rename", "Work", "renamed Work to Job"],
      ["admin", "-", "mailbox create", "Work", "created mailbox Work"],
      ["admin", "-", "mailbox create", "Work", expect.stringMatching(/^mailbox stream started/)],
    ]);
  });

  it("as JSON, with password hashes redacted", async () => {
    const result = await run(runHistoryCommand, ["carol", "--json"]);
    const entries = JSON.parse(result.stdout) as HistoryEntry[];
    expect(entries).toHaveLength(13);
    expect(entries[0]).toMatchObject({
      type: "UserCreated",
      actor: "admin",
      data: { passwordHash: "[redacted]" },
    });
    expect(result.stdout).not.toContain("argon2");
    expect(entries[6]).toMatchObject({
      type: "MessageFlagsChanged",
      remoteAddress: "192.0.2.7",
      sessionId: "s1",
    });
    expect(entries.map((e) => e.globalPosition)).toEqual(
      [...entries.map((e) => e.globalPosition)].sort((a, b) => a - b),
    );
  });

  it("narrows to the mailboxes that bore a name, and to a time window", async () => {
    const work = (await run(runHistoryCommand, ["carol", "Work", "--json"])).stdout;
    const entries = JSON.parse(work) as HistoryEntry[];
    expect(entries.map((e) => e.type)).toEqual([
      "MailboxCreated",
      "MailboxInitialized",
      "MessageAppended",
      "MessageFlagsChanged",
      "MessageAppended",
      "MessageFlagsChanged",
      "MessagesExpunged",
      "MailboxRenamed",
      "MailboxCreated",
      "MailboxInitialized",
    ]);
    const windowed = JSON.parse(
      (
        await run(runHistoryCommand, [
          "carol",
          "--since",
          at.oneMessage!.toISOString(),
          "--until",
          at.twoMessages!.toISOString(),
          "--json",
        ])
      ).stdout,
    ) as HistoryEntry[];
    expect(windowed.map((e) => e.description)).toEqual([
      "+FLAGS (\\Seen) on UID 1",
      expect.stringMatching(/^appended UID 2 "Later"/),
    ]);
    expect((await run(runHistoryCommand, ["carol", "Nothing"])).code).toBe(1);
    expect((await run(runHistoryCommand, ["nobody"])).code).toBe(1);
    expect((await run(runHistoryCommand, ["carol", "--since", "soon"])).code).toBe(2);
    expect((await run(runHistoryCommand, [])).code).toBe(2);
  });

  it("folds a mailbox's state at a past time", async () => {
    const one = await run(runHistoryCommand, ["carol", "Work", "--at", at.oneMessage!.toISOString()]);
    expect(one.stdout).toMatch(
      /^Work at \S+: 1 message\(s\), UIDVALIDITY \d+, UIDNEXT 2, HIGHESTMODSEQ 2\n1\t\(\)\tHello\n$/,
    );
    const two = JSON.parse(
      (await run(runHistoryCommand, ["carol", "Work", "--at", at.twoMessages!.toISOString(), "--json"]))
        .stdout,
    ) as MailboxAt;
    expect(two.messages.map((m) => [m.uid, m.flags, m.subject])).toEqual([
      [1, ["\\Seen"], "Hello"],
      [2, [], "Later"],
    ]);
    // At the end "Work" is a new, empty mailbox; the old one is "Job".
    const end = JSON.parse(
      (await run(runHistoryCommand, ["carol", "Work", "--at", at.end!.toISOString(), "--json"])).stdout,
    ) as MailboxAt;
    expect(end.messages).toEqual([]);
    expect(end.mailboxId).not.toBe(two.mailboxId);
    const job = JSON.parse(
      (await run(runHistoryCommand, ["carol", "Job", "--at", at.end!.toISOString(), "--json"])).stdout,
    ) as MailboxAt;
    expect(job.mailboxId).toBe(two.mailboxId);
    expect(job.messages.map((m) => m.uid)).toEqual([2]);
    expect((await run(runHistoryCommand, ["carol", "Job", "--at", at.oneMessage!.toISOString()])).code).toBe(
      1,
    );
    expect((await run(runHistoryCommand, ["carol", "--at", at.end!.toISOString()])).code).toBe(2);
  });

  it("dumps a message as stored at a past time, though expunged since", async () => {
    const dumped = await run(runMessageCommand, [
      "dump",
      "carol",
      "Work",
      "1",
      "--at",
      at.twoMessages!.toISOString(),
    ]);
    expect(dumped.code).toBe(0);
    expect(dumped.bytes.equals(hello)).toBe(true);
    expect((await run(runMessageCommand, ["dump", "carol", "Job", "1"])).code).toBe(1);
    expect(
      (await run(runMessageCommand, ["dump", "carol", "Work", "2", "--at", at.oneMessage!.toISOString()]))
        .code,
    ).toBe(1);
  });

  it("still reads the history of a deleted account", async () => {
    expect((await run(runUserCommand, ["delete", "carol"])).code).toBe(0);
    const entries = JSON.parse((await run(runHistoryCommand, ["carol", "--json"])).stdout) as HistoryEntry[];
    expect(entries.at(-1)).toMatchObject({ type: "UserDeleted", description: "deleted user carol" });
  });
});
