// \Seen kept per user on a shared mailbox (RFC 4314 5.3, as Dovecot's private index flags): alice
// shares Team with bob (lrs) and carol (lr). What bob reads is \Seen for him alone; alice's own
// \Seen is never shown to him; carol, without "s", marks nothing for anyone. Every way \Seen
// reaches a client is checked from each user's side: FETCH FLAGS, the implicit \Seen of BODY[],
// STORE's answer, SEARCH and ESEARCH, SELECT's [UNSEEN n], STATUS UNSEEN, unilateral FETCH
// updates and CONDSTORE's CHANGEDSINCE. The log shows who saw what, and the index replays from it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHistoryCommand } from "../../src/cli/history.ts";
import type { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { captureCli } from "../support/cli.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { last, literal, rawLoggedIn, send } from "./helpers/clients.ts";
import { verifyIndex } from "./helpers/verifyIndex.ts";

let server: TestMailServer;
const alice = { user: "alice", pass: "alice-password" };
const bob = { user: "bob", pass: "bob-password" };
const carol = { user: "carol", pass: "carol-password" };
const message = (n: number) => `From: a@example.org\r\nSubject: note ${n}\r\n\r\nbody ${n}\r\n`;
/** The doorbell (Redis) to another session: well under a second when all is well. */
const DOORBELL_MS = 10_000;

let a: RawImapClient;
let b: RawImapClient;
let c: RawImapClient;
/** The FETCH responses of a command's answer, by sequence number, their MODSEQ left out. */
async function flagsOf(client: RawImapClient, command: string): Promise<Record<number, string>> {
  const lines = await send(client, command);
  expect(lines.at(-1)).toMatch(/^OK/);
  return fetchedFlags(lines);
}
function fetchedFlags(lines: readonly string[]): Record<number, string> {
  const flags: Record<number, string> = {};
  for (const line of lines) {
    const match = /^\* (\d+) FETCH \(.*FLAGS \(([^)]*)\)/.exec(line);
    if (match) flags[Number(match[1])] = match[2]!.replace(/ ?\\Recent/, "").trim();
  }
  return flags;
}

/** NOOP until the doorbell's unilateral FETCH of message 1 arrives: the updates it carried. */
async function updatesOf(client: RawImapClient): Promise<Record<number, string>> {
  const deadline = Date.now() + DOORBELL_MS;
  for (;;) {
    const updates = fetchedFlags(await send(client, "NOOP"));
    if (updates[1] !== undefined || Date.now() > deadline) return updates;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  server = await startTestMailServer();
  for (const account of [alice, bob, carol]) await server.createUser(account.user, account.pass);
  a = await rawLoggedIn(server, alice);
  b = await rawLoggedIn(server, bob);
  c = await rawLoggedIn(server, carol);
  expect(await last(a, "CREATE Team")).toMatch(/^OK/);
  for (const i of [1, 2, 3]) expect(await last(a, `APPEND Team ${literal(message(i))}`)).toMatch(/^OK/);
  // Alice has read message 3 herself.
  expect(await last(a, "SELECT Team")).toMatch(/^OK/);
  expect(await last(a, "STORE 3 +FLAGS.SILENT (\\Seen)")).toMatch(/^OK/);
  expect(await last(a, "SETACL Team bob lrs")).toMatch(/^OK/);
  expect(await last(a, "SETACL Team carol lr")).toMatch(/^OK/);
});
afterAll(async () => {
  for (const client of [a, b, c]) client?.close();
  await server?.close();
});

describe("\\Seen of a shared mailbox, per user", () => {
  it("starts as nobody's but the owner's: alice's \\Seen is not shown to bob", async () => {
    expect(await send(b, "STATUS Shared/alice/Team (MESSAGES UNSEEN)")).toEqual([
      "* STATUS Shared/alice/Team (MESSAGES 3 UNSEEN 3)",
      "OK STATUS completed",
    ]);
    const selected = await send(b, "SELECT Shared/alice/Team");
    expect(selected).toContainEqual(expect.stringMatching(/^\* OK \[UNSEEN 1\]/));
    expect(selected).toContainEqual(expect.stringMatching(/^\* OK \[PERMANENTFLAGS \(\\Seen\)\]/));
    expect(await flagsOf(b, "FETCH 1:3 FLAGS")).toEqual({ 1: "", 2: "", 3: "" });
    expect(await send(b, "SEARCH SEEN")).toEqual(["* SEARCH", "OK SEARCH completed"]);
    expect(await flagsOf(a, "FETCH 1:3 FLAGS")).toEqual({ 1: "", 2: "", 3: "\\Seen" });
  });

  it("bob reading a message marks it \\Seen for bob alone", async () => {
    const read = await send(b, "FETCH 1 BODY[]");
    expect(read.at(-1)).toMatch(/^OK/);
    expect(read.join("\n")).toMatch(/FLAGS \(\\Seen\)/);
    expect(await flagsOf(b, "FETCH 1:3 FLAGS")).toEqual({ 1: "\\Seen", 2: "", 3: "" });
    expect(await send(b, "SEARCH UNSEEN")).toEqual(["* SEARCH 2 3", "OK SEARCH completed"]);
    expect(await send(b, "UID SEARCH SEEN")).toEqual(["* SEARCH 1", "OK SEARCH completed"]);
    const esearch = (await send(b, "SEARCH RETURN (COUNT MIN) UNSEEN"))[0];
    expect(esearch).toMatch(/^\* ESEARCH \(TAG "t\d+"\) /);
    expect(esearch).toMatch(/ COUNT 2\b/);
    expect(esearch).toMatch(/ MIN 2\b/);
    expect((await send(b, "STATUS Shared/alice/Team (UNSEEN)"))[0]).toBe(
      "* STATUS Shared/alice/Team (UNSEEN 2)",
    );
    // Alice's view is untouched: her 3 alone is \Seen.
    expect(await flagsOf(a, "FETCH 1:3 FLAGS")).toEqual({ 1: "", 2: "", 3: "\\Seen" });
    expect(await send(a, "SEARCH UNSEEN")).toEqual(["* SEARCH 1 2", "OK SEARCH completed"]);
    expect((await send(a, "STATUS Team (UNSEEN)"))[0]).toBe("* STATUS Team (UNSEEN 2)");
    // SELECT and EXAMINE again: [UNSEEN n] is bob's first unseen.
    expect(await send(b, "EXAMINE Shared/alice/Team")).toContainEqual(
      expect.stringMatching(/^\* OK \[UNSEEN 2\]/),
    );
    expect(await send(a, "EXAMINE Team")).toContainEqual(expect.stringMatching(/^\* OK \[UNSEEN 1\]/));
    expect(await last(a, "SELECT Team")).toMatch(/^OK/);
    expect(await last(b, "SELECT Shared/alice/Team")).toMatch(/^OK/);
  });

  it("bob's STORE of \\Seen answers his flags and changes only his; the MODSEQ moves for CONDSTORE", async () => {
    const before = (await send(a, "STATUS Team (HIGHESTMODSEQ)"))[0]!;
    const modseq = Number(/HIGHESTMODSEQ (\d+)/.exec(before)![1]);
    expect(await send(b, "STORE 2 +FLAGS (\\Seen)")).toEqual([
      "* 2 FETCH (FLAGS (\\Seen))",
      "OK STORE completed",
    ]);
    expect(await send(b, "STORE 1 -FLAGS (\\Seen)")).toEqual(["* 1 FETCH (FLAGS ())", "OK STORE completed"]);
    // Bob stores \Seen on a message only alice has seen: his, so it changes.
    expect(await send(b, "STORE 3 +FLAGS (\\Seen)")).toEqual([
      "* 3 FETCH (FLAGS (\\Seen))",
      "OK STORE completed",
    ]);
    expect(await send(b, "STORE 3 -FLAGS (\\Seen)")).toEqual(["* 3 FETCH (FLAGS ())", "OK STORE completed"]);
    expect(await flagsOf(b, "FETCH 1:3 FLAGS")).toEqual({ 1: "", 2: "\\Seen", 3: "" });
    // "s" is not "w": bob sets no other flag.
    expect(await last(b, "STORE 2 +FLAGS (\\Flagged)")).toMatch(/^NO \[NOPERM\]/);
    // Alice: her flags did not change, but messages 1 to 3 moved past her MODSEQ, and she is told
    // of them with her own flags (RFC 7162 3.1: a MODSEQ may move without a visible change).
    const changed = await send(a, `FETCH 1:3 (FLAGS) (CHANGEDSINCE ${modseq})`);
    expect(fetchedFlags(changed)).toEqual({ 1: "", 2: "", 3: "\\Seen" });
    // Unilateral updates (the doorbell's) and the answers alike: every one with alice's flags.
    const lines = changed.filter((line) => /^\* \d+ FETCH /.test(line));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(line).toMatch(/ MODSEQ \(\d+\)/);
      const [seq] = Object.entries(fetchedFlags([line]))[0]!;
      expect(fetchedFlags([line])).toEqual({ [seq]: seq === "3" ? "\\Seen" : "" });
    }
    expect(await send(a, "SEARCH SEEN")).toEqual(["* SEARCH 3", "OK SEARCH completed"]);
  });

  it("a change by one user reaches the other's session with the other's own \\Seen", async () => {
    // Alice marks 1 \Seen and \Flagged: bob is told of \Flagged, not of her \Seen.
    expect(await last(a, "STORE 1 +FLAGS.SILENT (\\Seen \\Flagged)")).toMatch(/^OK/);
    expect((await updatesOf(b))[1]).toBe("\\Flagged");
    // Bob reads 1: alice is told of it (its MODSEQ moved) with her own flags, unchanged.
    const read = await send(b, "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]");
    expect(read.join("\n")).not.toMatch(/\\Seen/);
    expect(await send(b, "FETCH 1 RFC822.TEXT")).toContainEqual(
      expect.stringMatching(/FLAGS \(\\Flagged \\Seen\)|FLAGS \(\\Seen \\Flagged\)/),
    );
    // Under CONDSTORE alice is told of the MODSEQ that moved, with her own flags.
    expect((await updatesOf(a))[1]).toBe("\\Flagged \\Seen");
    expect(await flagsOf(a, "FETCH 1 FLAGS")).toEqual({ 1: "\\Flagged \\Seen" });
  });

  it('carol, without "s", reads as with BODY.PEEK and marks nothing for anyone', async () => {
    const bobBefore = await flagsOf(b, "FETCH 1:3 FLAGS");
    const aliceBefore = await flagsOf(a, "FETCH 1:3 FLAGS");
    expect(await send(c, "SELECT Shared/alice/Team")).toContainEqual(
      expect.stringMatching(/^\* OK \[UNSEEN 1\]/),
    );
    // Neither alice's \Seen (1, 3) nor bob's (2) is carol's.
    expect(await flagsOf(c, "FETCH 1:3 FLAGS")).toEqual({ 1: "\\Flagged", 2: "", 3: "" });
    const read = await send(c, "FETCH 2 BODY[]");
    expect(read.at(-1)).toMatch(/^OK/);
    expect(read.join("\n")).toContain("body 2");
    expect(read.join("\n")).not.toMatch(/\\Seen/);
    expect(await flagsOf(c, "FETCH 2 FLAGS")).toEqual({ 2: "" });
    expect(await last(c, "STORE 2 +FLAGS (\\Seen)")).toMatch(/^NO \[NOPERM\] .*"s"/);
    expect((await send(c, "STATUS Shared/alice/Team (UNSEEN)"))[0]).toBe(
      "* STATUS Shared/alice/Team (UNSEEN 3)",
    );
    expect(await flagsOf(b, "FETCH 1:3 FLAGS")).toEqual(bobBefore);
    expect(await flagsOf(a, "FETCH 1:3 FLAGS")).toEqual(aliceBefore);
  });

  it("an APPEND by bob stores no \\Seen: it would be alice's", async () => {
    expect(await last(a, "SETACL Team bob +i")).toMatch(/^OK/);
    expect(await last(b, `APPEND Shared/alice/Team (\\Seen) ${literal(message(4))}`)).toMatch(
      /^OK \[APPENDUID \d+ 4\]/,
    );
    expect(await flagsOf(a, "UID FETCH 4 FLAGS")).toEqual({ 4: "" });
    expect((await send(a, "STATUS Team (UNSEEN)"))[0]).toBe("* STATUS Team (UNSEEN 2)");
  });

  it("a resync of a large shared mailbox (the size the owner's FETCH reads a node's copy for) shows bob his own \\Seen", async () => {
    const MESSAGES = 1_200;
    const PER_APPEND = 200;
    expect(await last(a, "CREATE Big")).toMatch(/^OK/);
    for (let first = 1; first <= MESSAGES; first += PER_APPEND) {
      const literals = Array.from({ length: PER_APPEND }, (_, i) => {
        const body = message(first + i);
        return ` ${(first + i) % 3 === 0 ? "(\\Seen)" : "()"} ${literal(body)}`;
      }).join("");
      expect(await last(a, `APPEND Big${literals}`)).toMatch(/^OK/);
    }
    expect(await last(a, "SELECT Big")).toMatch(/^OK/);
    const seenBy = (lines: readonly string[]) =>
      lines
        .filter((line) => /^\* \d+ FETCH .*\\Seen/.test(line))
        .map((line) => Number(/UID (\d+)/.exec(line)![1]));
    // Alice's resync (from her node's copy): every third message is hers \Seen.
    const alices = await send(a, "UID FETCH 1:* (FLAGS)");
    expect(alices.at(-1)).toMatch(/^OK/);
    expect(seenBy(alices)).toHaveLength(MESSAGES / 3);
    expect(await last(a, "SETACL Big bob lrs")).toMatch(/^OK/);
    expect(await last(b, "SELECT Shared/alice/Big")).toMatch(/^OK/);
    const before = await send(b, "UID FETCH 1:* (FLAGS)");
    expect(before.filter((line) => /^\* \d+ FETCH /.test(line))).toHaveLength(MESSAGES);
    expect(seenBy(before)).toEqual([]);
    expect(await last(b, "UID STORE 5 +FLAGS.SILENT (\\Seen)")).toMatch(/^OK/);
    expect(seenBy(await send(b, "UID FETCH 1:* (FLAGS)"))).toEqual([5]);
    const after = await send(a, "UID FETCH 1:* (FLAGS)");
    expect(seenBy(after)).toHaveLength(MESSAGES / 3);
    expect(seenBy(after)).not.toContain(5);
  });

  it("is in alice's history, by whom, and the index replays from the log", async () => {
    const human = await captureCli((io) =>
      runHistoryCommand(["alice", "Team"], { pool: server.db.pool, ...io }),
    );
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/\tbob\t.*\+FLAGS \(\\Seen\) for the actor alone on UID 1/);
    expect(human.stdout).toMatch(/\tbob\t.*-FLAGS \(\\Seen\) for the actor alone on UID 1/);
    expect(human.stdout).not.toMatch(/\tcarol\t/);
    const { code, out } = await verifyIndex(server.db.pool);
    expect(out).toContain('"equal":true');
    expect(code).toBe(0);
  });
});
