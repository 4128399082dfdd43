// UTF8=ACCEPT (RFC 6855) over TCP: after ENABLE UTF8=ACCEPT, mailbox names and quoted strings
// travel as raw UTF-8 both ways; a name is stored once, so a client that did not enable it sees
// the same mailbox in modified UTF-7; `UTF8 (~{n})` APPEND data stores an RFC 6532 message as
// sent; SEARCH with CHARSET, and SORT/THREAD with a charset other than UTF-8, are BAD. The same
// commands without ENABLE get the IMAP4rev1 answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { imaplib, rawLoggedIn } from "./helpers/clients.ts";

let server: TestMailServer;
const carol = { user: "carol", pass: "carol-password" };

/** Commands go out as UTF-8; the raw client reads Latin-1, turned back into UTF-8 here. */
const utf8 = (lines: readonly string[]) => lines.map((line) => Buffer.from(line, "latin1").toString("utf8"));
const literal = (text: string) => `{${Buffer.byteLength(text)}+}\r\n${text}`;

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser(carol.user, carol.pass);
});
afterAll(async () => server?.close());

async function accepting(): Promise<RawImapClient> {
  const raw = await rawLoggedIn(server, carol);
  expect(await raw.command("E", "ENABLE UTF8=ACCEPT")).toEqual([
    "* ENABLED UTF8=ACCEPT",
    "E OK ENABLE completed",
  ]);
  return raw;
}

describe("UTF8=ACCEPT", () => {
  it("is advertised before and after login", async () => {
    const raw = await rawLoggedIn(server, carol);
    expect((await raw.command("C", "CAPABILITY"))[0]).toContain(" UTF8=ACCEPT");
    raw.close();
  });

  it("names in UTF-8 once enabled, stored once, shown in modified UTF-7 to others", async () => {
    const raw = await accepting();
    expect(utf8(await raw.command("C", 'CREATE "Отчёты/2026"')).at(-1)).toMatch(/^C OK /);
    expect(utf8(await raw.command("L", 'LIST "" "Отчёты*"'))).toEqual([
      '* LIST (\\HasChildren) "/" "Отчёты"',
      '* LIST (\\HasNoChildren) "/" "Отчёты/2026"',
      "L OK LIST completed",
    ]);
    // A quoted string with 8-bit in a rev1 session without ENABLE: BAD, as before.
    const plain = await rawLoggedIn(server, carol);
    expect((await plain.command("B", 'STATUS "Отчёты/2026" (MESSAGES)')).at(-1)).toMatch(/^B BAD /);
    const listed = await plain.command("L", 'LIST "" *');
    expect(listed).toContain('* LIST (\\HasChildren) "/" &BB4EQgRHBFEEQgRL-');
    expect(listed).toContain('* LIST (\\HasNoChildren) "/" &BB4EQgRHBFEEQgRL-/2026');
    // Both name the same mailbox: an APPEND in modified UTF-7 shows in the UTF-8 session's STATUS.
    const text = "Subject: hi\r\n\r\nbody\r\n";
    expect((await plain.command("A", `APPEND &BB4EQgRHBFEEQgRL-/2026 ${literal(text)}`)).at(-1)).toMatch(
      /^A OK/,
    );
    expect(utf8(await raw.command("S", 'STATUS "Отчёты/2026" (MESSAGES)'))[0]).toBe(
      '* STATUS "Отчёты/2026" (MESSAGES 1)',
    );
    // Modified UTF-7 is not decoded once UTF-8 is on: that spelling names another (missing) mailbox.
    expect((await raw.command("S", "STATUS &BB4EQgRHBFEEQgRL-/2026 (MESSAGES)")).at(-1)).toMatch(
      /^S NO \[NONEXISTENT\]/,
    );
    plain.close();
    raw.close();
  });

  it("APPEND UTF8 (~{n}) stores an RFC 6532 message as sent, refused before ENABLE", async () => {
    const message = "From: Jörg <jörg@bücher.example>\r\nSubject: Grüße\r\n\r\nHallo\r\n";
    const size = Buffer.byteLength(message);
    const plain = await rawLoggedIn(server, carol);
    expect((await plain.command("A", `APPEND INBOX UTF8 (~{${size}+}\r\n${message})`)).at(-1)).toMatch(
      /^A BAD .*UTF8 message data needs ENABLE UTF8=ACCEPT/,
    );
    plain.close();
    const raw = await accepting();
    const appended = await raw.command("A", `APPEND INBOX (\\Seen) UTF8 (~{${size}+}\r\n${message})`);
    expect(appended.at(-1)).toMatch(/^A OK \[APPENDUID \d+ 1\] APPEND completed$/);
    await raw.command("S", "SELECT INBOX");
    const fetched = utf8(await raw.command("F", "FETCH 1 (RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])"));
    expect(fetched[0]).toBe(`* 1 FETCH (RFC822.SIZE ${size} BODY[HEADER.FIELDS (SUBJECT)] {20}`);
    expect(fetched[1]).toBe("Subject: Grüße");
    // Found by a UTF-8 search string, with no CHARSET.
    expect(utf8(await raw.command("Q", 'SEARCH SUBJECT "grüße"'))).toEqual([
      "* SEARCH 1",
      "Q OK SEARCH completed",
    ]);
    raw.close();
  });

  it("SEARCH with CHARSET and SORT/THREAD with a charset other than UTF-8 are BAD once enabled", async () => {
    const raw = await accepting();
    await raw.command("S", "SELECT INBOX");
    expect((await raw.command("A", "SEARCH CHARSET UTF-8 ALL")).at(-1)).toBe(
      "A BAD SEARCH takes no CHARSET once UTF8=ACCEPT is enabled (RFC 6855 3)",
    );
    expect((await raw.command("B", "SORT (ARRIVAL) US-ASCII ALL")).at(-1)).toBe(
      "B BAD SORT takes charset UTF-8 once UTF8=ACCEPT is enabled (RFC 6855 3)",
    );
    expect((await raw.command("C", "SORT (ARRIVAL) UTF-8 ALL")).at(-1)).toBe("C OK SORT completed");
    expect((await raw.command("D", "THREAD REFERENCES US-ASCII ALL")).at(-1)).toMatch(/^D BAD THREAD takes/);
    raw.close();
    // Without ENABLE, CHARSET is fine.
    const plain = await rawLoggedIn(server, carol);
    await plain.command("S", "SELECT INBOX");
    expect(await plain.command("A", "SEARCH CHARSET UTF-8 ALL")).toEqual([
      "* SEARCH 1",
      "A OK SEARCH completed",
    ]);
    plain.close();
  });

  it("Python's imaplib: enable('UTF8=ACCEPT') then UTF-8 names, as imaplib sends them", async () => {
    const [enable, create, list] = await imaplib(server, carol, [
      ["enable", "UTF8=ACCEPT"],
      ["create", '"Café"'],
      ["list", '""', '"Caf*"'],
    ]);
    expect(enable).toMatchObject({ typ: "OK" });
    expect(create).toMatchObject({ typ: "OK" });
    // imaplib's data is decoded as Latin-1 by the helper: the UTF-8 bytes of "Café".
    expect(list).toMatchObject({
      typ: "OK",
      data: [`(\\HasNoChildren) "/" "${Buffer.from("Café").toString("latin1")}"`],
    });
  });
});
