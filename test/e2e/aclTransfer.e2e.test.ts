// COPY and MOVE between a user's own mailboxes and those shared with him (RFC 4314 4): from
// Shared/alice/Team into bob's INBOX (needs "r"; the copy is bob's, in his stream, against his
// quota, with the \Seen bob had, not alice's), into Shared/alice/Team (needs "i"; flags bob may not
// set, and \Seen, are not stored), MOVE out of it (needs "t" and "e"); the refusals, and a mailbox
// bob may not look up answered as one that does not exist. The index replays from the log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHistoryCommand } from "../../src/cli/history.ts";
import { setUserQuota } from "../../src/commands/user/handlers.ts";
import type { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { captureCli } from "../support/cli.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { asOperator, last, literal, rawLoggedIn, send } from "./helpers/clients.ts";
import { verifyIndex } from "./helpers/verifyIndex.ts";

let server: TestMailServer;
const alice = { user: "alice", pass: "alice-password" };
const bob = { user: "bob", pass: "bob-password" };
const message = (n: number) =>
  `From: a@example.org\r\nSubject: note ${n}\r\n\r\nbody ${n} ${"x".repeat(400)}\r\n`;

let a: RawImapClient;
let b: RawImapClient;
/** FLAGS of each message a FETCH answered, by UID (its \Recent left out). */
async function flagsByUid(client: RawImapClient, command: string): Promise<Record<number, string>> {
  const lines = await send(client, command);
  expect(lines.at(-1)).toMatch(/^OK/);
  const flags: Record<number, string> = {};
  for (const line of lines) {
    const match = /^\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\)/.exec(line);
    if (match) flags[Number(match[1])] = match[2]!.replace(/ ?\\Recent/, "").trim();
  }
  return flags;
}
async function uidValidity(client: RawImapClient, mailbox: string): Promise<number> {
  const status = (await send(client, `STATUS ${mailbox} (UIDVALIDITY)`))[0]!;
  return Number(/UIDVALIDITY (\d+)/.exec(status)![1]);
}

beforeAll(async () => {
  server = await startTestMailServer();
  for (const account of [alice, bob]) await server.createUser(account.user, account.pass);
  a = await rawLoggedIn(server, alice);
  b = await rawLoggedIn(server, bob);
  for (const command of ["CREATE Team", "CREATE Private"]) expect(await last(a, command)).toMatch(/^OK/);
  expect(await last(a, `APPEND Team (\\Flagged \\Seen) ${literal(message(1))}`)).toMatch(/^OK/);
  expect(await last(a, `APPEND Team ${literal(message(2))}`)).toMatch(/^OK/);
  expect(await last(a, `APPEND Private ${literal(message(3))}`)).toMatch(/^OK/);
  expect(await last(a, "SETACL Team bob lrs")).toMatch(/^OK/);
  // Bob has read message 2 (his own \Seen); alice has read 1 (hers).
  expect(await last(b, "SELECT Shared/alice/Team")).toMatch(/^OK/);
  expect(await last(b, "UID FETCH 2 BODY[]")).toMatch(/^OK/);
});
afterAll(async () => {
  a?.close();
  b?.close();
  await server?.close();
});

describe("COPY and MOVE between two users' mailboxes", () => {
  it("copies from Shared/alice/Team into bob's INBOX: bob's messages, with bob's \\Seen", async () => {
    const inbox = await uidValidity(b, "INBOX");
    expect(await last(b, "UID COPY 1:2 INBOX")).toBe(`OK [COPYUID ${inbox} 1:2 1:2] UID COPY completed`);
    expect(await send(b, "STATUS INBOX (MESSAGES UNSEEN)")).toContain("* STATUS INBOX (MESSAGES 2 UNSEEN 1)");
    expect(await last(b, "EXAMINE INBOX")).toMatch(/^OK/);
    // Alice's \Seen on 1 is not bob's; bob had read 2.
    expect(await flagsByUid(b, "UID FETCH 1:2 FLAGS")).toEqual({ 1: "\\Flagged", 2: "\\Seen" });
    expect((await send(b, "UID FETCH 1 BODY.PEEK[TEXT]")).join("\n")).toContain("body 1");
    // Alice's mailbox is as it was.
    expect(await last(a, "EXAMINE Team")).toMatch(/^OK/);
    expect(await flagsByUid(a, "UID FETCH 1:* FLAGS")).toEqual({ 1: "\\Flagged \\Seen", 2: "" });
  });

  it("counts the copy against bob's quota, not alice's", async () => {
    const size = Buffer.byteLength(message(1));
    await asOperator(server, (ctx) => setUserQuota(ctx, { username: "bob", storageLimit: 2 * size + 10 }));
    expect(await last(b, "SELECT Shared/alice/Team")).toMatch(/^OK/);
    expect(await last(b, "UID COPY 1 INBOX")).toMatch(/^NO \[OVERQUOTA\]/);
    await asOperator(server, (ctx) => setUserQuota(ctx, { username: "bob", storageLimit: null }));
    expect(await send(b, "STATUS INBOX (MESSAGES)")).toContain("* STATUS INBOX (MESSAGES 2)");
  });

  it('copies and moves into Shared/alice/Team only with "i", without the flags bob may not set', async () => {
    expect(await last(b, "SELECT INBOX")).toMatch(/^OK/);
    expect(await last(b, "UID COPY 1 Shared/alice/Team")).toMatch(
      /^NO \[NOPERM\] COPY into "Team" needs the right "i"/,
    );
    expect(await last(b, "UID MOVE 1 Shared/alice/Team")).toMatch(
      /^NO \[NOPERM\] MOVE into "Team" needs the right "i"/,
    );
    expect(await last(a, "SETACL Team bob +i")).toMatch(/^OK/);
    const team = await uidValidity(a, "Team");
    // \Flagged needs "w", which bob lacks; \Seen would be alice's.
    expect(await last(b, "UID COPY 1:2 Shared/alice/Team")).toBe(
      `OK [COPYUID ${team} 1:2 3:4] UID COPY completed`,
    );
    const moved = await send(b, "UID MOVE 2 Shared/alice/Team");
    expect(moved).toEqual([`* OK [COPYUID ${team} 2 5] moved`, "* 2 EXPUNGE", "OK UID MOVE completed"]);
    expect(await send(b, "STATUS INBOX (MESSAGES)")).toContain("* STATUS INBOX (MESSAGES 1)");
    expect(await last(a, "EXAMINE Team")).toMatch(/^OK/);
    expect(await flagsByUid(a, "UID FETCH 1:* FLAGS")).toEqual({
      1: "\\Flagged \\Seen",
      2: "",
      3: "",
      4: "",
      5: "",
    });
    expect((await send(a, "UID FETCH 5 BODY.PEEK[TEXT]")).join("\n")).toContain("body 2");
  });

  it('moves out of Shared/alice/Team only with "t" and "e"', async () => {
    expect(await last(b, "SELECT Shared/alice/Team")).toMatch(/^OK/);
    expect(await last(b, "UID MOVE 4 INBOX")).toMatch(/^NO \[NOPERM\] MOVE needs the right "te"/);
    expect(await last(a, "SETACL Team bob +te")).toMatch(/^OK/);
    const inbox = await uidValidity(b, "INBOX");
    const moved = await send(b, "UID MOVE 4 INBOX");
    expect(moved[0]).toBe(`* OK [COPYUID ${inbox} 4 3] moved`);
    expect(moved).toContain("* 4 EXPUNGE");
    expect(moved.at(-1)).toBe("OK UID MOVE completed");
    expect(await send(a, "STATUS Team (MESSAGES)")).toContain("* STATUS Team (MESSAGES 4)");
    expect(await send(b, "STATUS INBOX (MESSAGES)")).toContain("* STATUS INBOX (MESSAGES 2)");
  });

  it("answers a mailbox bob may not look up as one that does not exist", async () => {
    const hidden = await last(b, "UID COPY 1 Shared/alice/Private");
    const missing = await last(b, "UID COPY 1 Shared/alice/Nothing");
    expect(hidden).toMatch(/^NO \[TRYCREATE\]/);
    expect(hidden.replace("Private", "X")).toBe(missing.replace("Nothing", "X"));
    expect(await send(a, "STATUS Private (MESSAGES)")).toContain("* STATUS Private (MESSAGES 1)");
  });

  it("writes each side's events in its owner's history, by bob, and the index replays", async () => {
    const bobs = await captureCli((io) =>
      runHistoryCommand(["bob", "--json"], { pool: server.db.pool, ...io }),
    );
    const events = JSON.parse(bobs.stdout) as {
      type: string;
      actor: string | null;
      command: string | null;
    }[];
    expect(events.filter((e) => e.type === "MessagesCopiedIn")).toEqual([
      expect.objectContaining({ actor: "bob", command: expect.stringMatching(/COPY$/) }),
    ]);
    expect(events.filter((e) => e.type === "MessagesMovedIn")).toHaveLength(1);
    expect(events.filter((e) => e.type === "MessagesMovedOut")).toHaveLength(1);
    // The other side's mailbox is named with its owner.
    const human = await captureCli((io) =>
      runHistoryCommand(["bob", "INBOX"], { pool: server.db.pool, ...io }),
    );
    expect(human.stdout).toMatch(
      /\tbob\t.*copied in from Team \(of alice\): UID 1 -> 1 "note 1", UID 2 -> 2 "note 2"/,
    );
    expect(human.stdout).toMatch(/moved UID 2 out to Team \(of alice\)/);
    const alices = await captureCli((io) =>
      runHistoryCommand(["alice", "--json"], { pool: server.db.pool, ...io }),
    );
    const aliceEvents = JSON.parse(alices.stdout) as { type: string; actor: string | null }[];
    expect(aliceEvents.filter((e) => e.type === "MessagesCopiedIn" && e.actor === "bob")).toHaveLength(1);
    expect(aliceEvents.filter((e) => e.type === "MessagesMovedIn" && e.actor === "bob")).toHaveLength(1);
    expect(aliceEvents.filter((e) => e.type === "MessagesMovedOut" && e.actor === "bob")).toHaveLength(1);
    const { code, out } = await verifyIndex(server.db.pool);
    expect(out).toContain('"equal":true');
    expect(code).toBe(0);
  });
});

describe("REPLACE across users", () => {
  it("is refused, not half done, on a shared mailbox and into one", async () => {
    const replacement = literal(message(9));
    expect(await last(a, "SELECT Team")).toMatch(/^OK/);
    const before = await flagsByUid(a, "UID FETCH 1:* FLAGS");
    // RFC 4314 would let bob with "i", "t" and "e"; offered only within one account.
    expect(await last(a, "SETACL Team bob +ite")).toMatch(/^OK/);
    expect(await last(b, "SELECT Shared/alice/Team")).toMatch(/^OK/);
    expect(await last(b, `UID REPLACE 1 Shared/alice/Team ${replacement}`)).toMatch(/^NO \[CANNOT\] /);
    expect(await last(b, `UID REPLACE 1 INBOX ${replacement}`)).toMatch(/^NO \[CANNOT\] /);
    expect(await last(b, "SELECT INBOX")).toMatch(/^OK/);
    expect(await last(b, `UID REPLACE 1 Shared/alice/Team ${replacement}`)).toMatch(/^NO \[CANNOT\] /);
    expect(await flagsByUid(a, "UID FETCH 1:* FLAGS")).toEqual(before);
    expect(await last(a, "SETACL Team bob -ite")).toMatch(/^OK/);
  });
});
