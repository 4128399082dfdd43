// IMAP4rev2 (RFC 9051) beside IMAP4rev1, chosen per session with ENABLE IMAP4rev2: the same
// commands sent by a rev1 session and a rev2 session over TCP, and what differs on the wire
// (README's table): \Recent and RECENT, SELECT's LIST line and UNSEEN, ESEARCH for SEARCH, STATUS
// RECENT, UTF-8 mailbox names; and what rev2 folded in unchanged (STATUS DELETED/SIZE, LIST's
// \NonExistent and \Subscribed, NAMESPACE, UNSELECT, MOVE). Python's imaplib enables rev2 and
// finds ESEARCH where SEARCH was; imapflow enables it by itself and works as before.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { imapflowConnected, imaplib, rawLoggedIn } from "./helpers/clients.ts";

let server: TestMailServer;
const bob = { user: "bob", pass: "bob-password" };

const literal = (text: string) => `{${Buffer.byteLength(text)}+}\r\n${text}`;
const message = (subject: string) => `From: b@example.org\r\nSubject: ${subject}\r\n\r\nhello\r\n`;
/** The raw client reads Latin-1; names sent as UTF-8 are read back as UTF-8 here. */
const utf8 = (lines: readonly string[]) => lines.map((line) => Buffer.from(line, "latin1").toString("utf8"));

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser(bob.user, bob.pass);
  const raw = await rawLoggedIn(server, bob);
  await raw.command("a", `APPEND INBOX (\\Deleted) ${literal(message("one"))}`);
  await raw.command("b", `APPEND INBOX (\\Seen) ${literal(message("two"))}`);
  await raw.command("c", `APPEND INBOX ${literal(message("three"))}`);
  await raw.command("d", 'CREATE "Caf&AOk-/Men&APw-"');
  await raw.command("e", "CREATE Archive");
  await raw.command("f", "SUBSCRIBE Ghost");
  raw.close();
});
afterAll(async () => server?.close());

async function session(rev2: boolean): Promise<RawImapClient> {
  const raw = await rawLoggedIn(server, bob);
  if (rev2)
    expect(await raw.command("E", "ENABLE IMAP4rev2")).toEqual([
      "* ENABLED IMAP4rev2",
      "E OK ENABLE completed",
    ]);
  return raw;
}

describe("IMAP4rev2 beside IMAP4rev1", () => {
  it("advertises both, and ENABLE IMAP4rev2 is refused once a mailbox is selected", async () => {
    const raw = await rawLoggedIn(server, bob);
    expect((await raw.command("C", "CAPABILITY"))[0]).toMatch(/^\* CAPABILITY IMAP4rev1 IMAP4rev2 /);
    await raw.command("S", "EXAMINE INBOX");
    expect((await raw.command("E", "ENABLE IMAP4rev2")).at(-1)).toMatch(/^E BAD /);
    raw.close();
  });

  it("SELECT: rev2 takes no \\Recent and answers LIST instead of RECENT and UNSEEN", async () => {
    // rev2 first: it takes \Recent from no one, so the rev1 session after it still gets all three.
    const rev2 = await session(true);
    const rev2Select = await rev2.command("S", "SELECT INBOX");
    const rev1 = await session(false);
    const rev1Select = await rev1.command("S", "SELECT INBOX");
    const differing = (lines: string[]) =>
      lines.filter((line) => /RECENT|UNSEEN|^\* LIST/.test(line)).map((line) => line.replace(/\] .*/, "]"));
    expect(differing(rev1Select)).toEqual(["* 3 RECENT", "* OK [UNSEEN 1]"]);
    expect(differing(rev2Select)).toEqual(['* LIST (\\HasNoChildren) "/" INBOX']);
    // The rest is the same.
    const common = (lines: string[]) =>
      lines.filter((line) => !/RECENT|UNSEEN|^\* LIST/.test(line) && !line.startsWith("S OK"));
    expect(common(rev2Select)).toEqual(common(rev1Select));

    expect((await rev1.command("F", "FETCH 1:* (FLAGS)")).slice(0, 3)).toEqual([
      "* 1 FETCH (FLAGS (\\Deleted \\Recent))",
      "* 2 FETCH (FLAGS (\\Seen \\Recent))",
      "* 3 FETCH (FLAGS (\\Recent))",
    ]);
    expect((await rev2.command("F", "FETCH 1:* (FLAGS)")).slice(0, 3)).toEqual([
      "* 1 FETCH (FLAGS (\\Deleted))",
      "* 2 FETCH (FLAGS (\\Seen))",
      "* 3 FETCH (FLAGS ())",
    ]);

    // A new message: both see EXISTS; only rev1 hears RECENT (and would see \Recent).
    const other = await rawLoggedIn(server, bob);
    await other.command("A", `APPEND INBOX ${literal(message("four"))}`);
    other.close();
    // RECENT counts every message \\Recent to the session: the three and the new one.
    expect(await rev1.command("N", "NOOP")).toEqual(["* 4 EXISTS", "* 4 RECENT", "N OK NOOP completed"]);
    expect(await rev2.command("N", "NOOP")).toEqual(["* 4 EXISTS", "N OK NOOP completed"]);
    expect(await rev2.command("T", "STORE 4 +FLAGS (\\Flagged)")).toEqual([
      "* 4 FETCH (FLAGS (\\Flagged))",
      "T OK STORE completed",
    ]);
    expect((await rev1.command("N", "NOOP"))[0]).toBe("* 4 FETCH (UID 4 FLAGS (\\Flagged \\Recent))");
    // RECENT, NEW and OLD still parse in rev2, where no message is \Recent.
    expect(await rev2.command("R", "SEARCH RECENT")).toEqual([
      '* ESEARCH (TAG "R")',
      "R OK SEARCH completed",
    ]);
    expect(await rev2.command("O", "SEARCH OLD")).toEqual([
      '* ESEARCH (TAG "O") ALL 1:4',
      "O OK SEARCH completed",
    ]);
    rev1.close();
    rev2.close();
  });

  it("SEARCH answers ESEARCH in rev2, SEARCH in rev1; RETURN works in both", async () => {
    const rev1 = await session(false);
    const rev2 = await session(true);
    for (const raw of [rev1, rev2]) await raw.command("S", "EXAMINE INBOX");
    const both = async (command: string) => [
      await rev1.command("Q", command),
      await rev2.command("Q", command),
    ];
    expect(await both("SEARCH DELETED")).toEqual([
      ["* SEARCH 1", "Q OK SEARCH completed"],
      ['* ESEARCH (TAG "Q") ALL 1', "Q OK SEARCH completed"],
    ]);
    expect(await both("UID SEARCH SEEN")).toEqual([
      ["* SEARCH 2", "Q OK SEARCH completed"],
      ['* ESEARCH (TAG "Q") UID ALL 2', "Q OK SEARCH completed"],
    ]);
    expect(await both("SEARCH SUBJECT nothing-like-this")).toEqual([
      ["* SEARCH", "Q OK SEARCH completed"],
      ['* ESEARCH (TAG "Q")', "Q OK SEARCH completed"],
    ]);
    const [countRev1, countRev2] = await both("SEARCH RETURN (COUNT MIN) ALL");
    expect(countRev1).toEqual(countRev2);
    expect(countRev2![0]).toBe('* ESEARCH (TAG "Q") MIN 1 COUNT 4');
    // CHARSET stays as RFC 9051 has it (only UTF8=ACCEPT refuses it).
    expect(await rev2.command("Q", "SEARCH CHARSET UTF-8 SEEN")).toEqual([
      '* ESEARCH (TAG "Q") ALL 2',
      "Q OK SEARCH completed",
    ]);
    // A bad search is BAD in both.
    for (const answer of await both("SEARCH FROBNICATE")) expect(answer.at(-1)).toMatch(/^Q BAD /);
    rev1.close();
    rev2.close();
  });

  it("STATUS: DELETED and SIZE in both, RECENT only in rev1", async () => {
    const rev1 = await session(false);
    const rev2 = await session(true);
    const items = "STATUS INBOX (MESSAGES DELETED SIZE UNSEEN)";
    const rev1Status = await rev1.command("S", items);
    expect(rev1Status[0]).toMatch(/^\* STATUS INBOX \(MESSAGES 4 DELETED 1 SIZE \d+ UNSEEN 3\)$/);
    expect(await rev2.command("S", items)).toEqual(rev1Status);
    expect((await rev1.command("R", "STATUS INBOX (RECENT)"))[0]).toMatch(/^\* STATUS INBOX \(RECENT \d+\)$/);
    expect(await rev2.command("R", "STATUS INBOX (RECENT)")).toEqual([
      "R BAD RECENT is not a STATUS item in IMAP4rev2 (RFC 9051 removed \\Recent)",
    ]);
    expect((await rev2.command("L", 'LIST "" INBOX RETURN (STATUS (RECENT))')).at(-1)).toMatch(/^L BAD /);
    rev1.close();
    rev2.close();
  });

  it("LIST: the same attributes (\\NonExistent, \\Subscribed); names in modified UTF-7 or UTF-8", async () => {
    const rev1 = await session(false);
    const rev2 = await session(true);
    const list = 'LIST (SUBSCRIBED) "" *';
    expect(await rev1.command("L", list)).toEqual(await rev2.command("L", list));
    expect((await rev2.command("L", list))[0]).toBe('* LIST (\\NonExistent \\Subscribed) "/" Ghost');
    expect(await rev1.command("L", 'LIST "" Caf*')).toEqual([
      '* LIST (\\HasChildren) "/" Caf&AOk-',
      '* LIST (\\HasNoChildren) "/" Caf&AOk-/Men&APw-',
      "L OK LIST completed",
    ]);
    expect(utf8(await rev2.command("L", 'LIST "" Caf*'))).toEqual([
      '* LIST (\\HasChildren) "/" "Café"',
      '* LIST (\\HasNoChildren) "/" "Café/Menü"',
      "L OK LIST completed",
    ]);
    // A rev2 session names mailboxes in UTF-8: the same mailbox as rev1's modified UTF-7.
    expect(utf8(await rev2.command("S", 'STATUS "Café/Menü" (MESSAGES)'))[0]).toBe(
      '* STATUS "Café/Menü" (MESSAGES 0)',
    );
    expect((await rev1.command("S", 'STATUS "Caf&AOk-/Men&APw-" (MESSAGES)'))[0]).toBe(
      "* STATUS Caf&AOk-/Men&APw- (MESSAGES 0)",
    );
    // 8-bit in a rev1 session's name is BAD, as before.
    expect((await rev1.command("B", 'STATUS "Café" (MESSAGES)')).at(-1)).toMatch(/^B BAD /);
    rev1.close();
    rev2.close();
  });

  it("NAMESPACE, MOVE and UNSELECT behave the same in both", async () => {
    const rev1 = await session(false);
    const rev2 = await session(true);
    expect(await rev2.command("N", "NAMESPACE")).toEqual(await rev1.command("N", "NAMESPACE"));
    await rev2.command("A", `APPEND Archive ${literal(message("to move"))}`);
    await rev2.command("A", `APPEND Archive ${literal(message("to move too"))}`);
    await rev2.command("S", "SELECT Archive");
    const moved = await rev2.command("M", "MOVE 1 INBOX");
    expect(moved[0]).toMatch(/^\* OK \[COPYUID \d+ 1 5\] moved$/);
    expect(moved.slice(1)).toEqual(["* 1 EXPUNGE", "M OK MOVE completed"]);
    await rev1.command("S", "SELECT Archive");
    const movedRev1 = await rev1.command("M", "MOVE 1 INBOX");
    expect(movedRev1[0]).toMatch(/^\* OK \[COPYUID \d+ 2 6\] moved$/);
    expect(movedRev1.slice(1)).toEqual(["* 1 EXPUNGE", "M OK MOVE completed"]);
    expect(await rev2.command("U", "UNSELECT")).toEqual(["U OK UNSELECT completed"]);
    expect(await rev1.command("U", "UNSELECT")).toEqual(["U OK UNSELECT completed"]);
    rev1.close();
    rev2.close();
  });

  it("Python's imaplib: ENABLE IMAP4rev2, then SEARCH's answer is ESEARCH", async () => {
    const [enable, select, search] = await imaplib(server, bob, [
      ["enable", "IMAP4rev2"],
      ["select", "INBOX"],
      ["search", null, "SEEN"],
    ]);
    expect(enable).toMatchObject({ typ: "OK", untagged: { ENABLED: ["IMAP4rev2"] } });
    expect(select).toMatchObject({ typ: "OK", untagged: { LIST: ['(\\HasNoChildren) "/" INBOX'] } });
    expect(select && "untagged" in select && select.untagged).not.toHaveProperty("RECENT");
    // imaplib knows no ESEARCH: its search() finds no SEARCH data, the ESEARCH is left untagged.
    expect(search).toMatchObject({
      typ: "OK",
      data: [null],
      untagged: { ESEARCH: [expect.stringMatching(/^\(TAG "\w+"\) ALL 2$/)] },
    });
  });

  it("imapflow enables IMAP4rev2 (and UTF8=ACCEPT) itself, and searches, lists and fetches", async () => {
    const flow = await imapflowConnected(server, bob);
    expect(flow.enabled.has("IMAP4REV2")).toBe(true);
    expect(flow.enabled.has("UTF8=ACCEPT")).toBe(true);
    const names = (await flow.list()).map((entry) => entry.path).sort();
    expect(names).toEqual(["Archive", "Café", "Café/Menü", "INBOX"]);
    const lock = await flow.getMailboxLock("INBOX");
    try {
      expect(await flow.search({ seen: true })).toEqual([2]);
      expect(await flow.search({ deleted: true }, { uid: true })).toEqual([1]);
      const flags = [];
      for await (const entry of flow.fetch("1:3", { flags: true })) flags.push([...(entry.flags ?? [])]);
      expect(flags).toEqual([["\\Deleted"], ["\\Seen"], []]);
    } finally {
      lock.release();
    }
    await flow.logout();
  });
});
