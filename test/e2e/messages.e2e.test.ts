// FETCH, STORE, SEARCH, EXPUNGE, CLOSE, IDLE and \Recent over TCP, with imapflow and a raw client
// that checks the exact wire responses (sequence numbers, held-back EXPUNGEs).
import { ImapFlow } from "imapflow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";

let server: TestMailServer;
beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser("alice", "alice-password");
  await server.createUser("bob", "bob-password");
});
afterAll(async () => server?.close());

function flow(user = "alice") {
  return new ImapFlow({
    host: server.host,
    port: server.port,
    secure: false,
    auth: { user, pass: `${user}-password` },
    logger: false,
  });
}

async function raw(user = "alice"): Promise<RawImapClient> {
  const client = await RawImapClient.connect(server.port);
  await client.greeting();
  const login = await client.command("L", `LOGIN ${user} ${user}-password`);
  expect(login.at(-1)).toMatch(/^L OK/);
  return client;
}

const message = (n: number, extra = "") =>
  Buffer.from(
    [
      `From: Sender ${n} <sender${n}@example.org>`,
      "To: Alice <alice@example.org>",
      `Subject: Report number ${n}${extra}`,
      "Date: Tue, 3 Mar 2026 09:00:00 +0100",
      `Message-ID: <m${n}@example.org>`,
      "Content-Type: text/plain; charset=utf-8",
      "",
      `Body of message ${n}. Größe überprüft.`,
      "",
    ].join("\r\n"),
  );

describe("FETCH", () => {
  it("returns BODY[] byte-identical, sets \\Seen only without PEEK, and renders metadata", async () => {
    const imap = flow();
    await imap.connect();
    await imap.mailboxCreate("Fetch");
    for (let n = 1; n <= 3; n += 1)
      await imap.append("Fetch", message(n), ["\\Flagged"], new Date("2026-03-03T08:00:00Z"));
    await imap.mailboxOpen("Fetch");

    const fetched = await imap.fetchOne(
      "2",
      { source: true, flags: true, envelope: true, size: true, internalDate: true, bodyStructure: true },
      {},
    );
    if (!fetched) throw new Error("message 2 was not returned");
    const peeked = fetched;
    expect(peeked.source!.equals(message(2))).toBe(true);
    expect(peeked.size).toBe(message(2).length);
    expect(peeked.envelope!.subject).toBe("Report number 2");
    expect(peeked.envelope!.from![0]!.address).toBe("sender2@example.org");
    expect(peeked.bodyStructure!.type).toBe("text/plain");
    expect(new Date(peeked.internalDate as Date).toISOString()).toBe("2026-03-03T08:00:00.000Z");
    // imapflow fetches with BODY.PEEK: still unseen.
    expect([...peeked.flags!]).not.toContain("\\Seen");

    const client = await raw();
    await client.command("S", "SELECT Fetch");
    const lines = await client.command("F", "FETCH 2 (BODY[TEXT])");
    expect(lines.join("\n")).toMatch(/FLAGS \(\\Flagged \\Seen/);
    const partial = await client.command("P", "FETCH 1 (BODY.PEEK[TEXT]<5.10>)");
    expect(partial[0]).toBe("* 1 FETCH (BODY[TEXT]<5> {10}");
    expect(partial[1]).toBe("of message)");
    const uid = await client.command("U", "UID FETCH 3 (FLAGS)");
    expect(uid[0]).toMatch(/^\* 3 FETCH \(UID 3 FLAGS \(\\Flagged( \\Recent)?\)\)$/);
    client.close();
    await imap.logout();
  });

  it("answers BAD for a sequence number that does not exist and for a malformed section", async () => {
    const client = await raw();
    await client.command("S", "SELECT Fetch");
    expect((await client.command("A", "FETCH 99 FLAGS")).at(-1)).toMatch(/^A BAD .*99 does not exist/);
    expect((await client.command("B", "FETCH 1 BODY[1.HEADERX]")).at(-1)).toMatch(/^B BAD/);
    expect((await client.command("C", "FETCH 0:2 FLAGS")).at(-1)).toMatch(/^C BAD/);
    client.close();
  });
});

describe("STORE", () => {
  it("adds, removes and replaces flags and keywords, silently when asked", async () => {
    const client = await raw();
    await client.command("S", "SELECT Fetch");
    expect(await client.command("A", "STORE 1 +FLAGS (\\Seen $Important)")).toEqual([
      expect.stringMatching(/^\* 1 FETCH \(FLAGS \(.*\$Important.*\)\)$/),
      expect.stringMatching(/^A OK/),
    ]);
    const removed = await client.command("B", "STORE 1 -FLAGS (\\Flagged)");
    expect(removed[0]).not.toContain("\\Flagged");
    expect(await client.command("C", "STORE 1 FLAGS.SILENT (\\Answered)")).toEqual([
      expect.stringMatching(/^C OK/),
    ]);
    const uidStore = await client.command("D", "UID STORE 1 FLAGS (\\Draft)");
    expect(uidStore[0]).toMatch(/^\* 1 FETCH \(UID 1 FLAGS \(\\Draft/);
    client.close();
  });

  it("refuses STORE on a mailbox opened with EXAMINE, and EXAMINE does not set \\Seen", async () => {
    const client = await raw();
    await client.command("E", "EXAMINE Fetch");
    expect((await client.command("A", "STORE 3 +FLAGS (\\Deleted)")).at(-1)).toMatch(/^A NO \[READ-ONLY\]/);
    const body = await client.command("B", "FETCH 3 (BODY[TEXT] FLAGS)");
    expect(body.join("\n")).not.toMatch(/\\Seen/);
    client.close();
  });
});

describe("SEARCH", () => {
  it("matches every RFC 3501 key family, case-insensitively", async () => {
    const imap = flow();
    await imap.connect();
    await imap.mailboxCreate("Search");
    await imap.append("Search", message(1, " about Kafka"), ["\\Seen"], new Date("2026-01-10T12:00:00Z"));
    await imap.append("Search", message(2, " about Redis"), [], new Date("2026-02-10T12:00:00Z"));
    await imap.append("Search", message(3, " AND KAFKA"), ["$Later"], new Date("2026-03-10T12:00:00Z"));
    await imap.logout();

    const client = await raw();
    await client.command("S", "SELECT Search");
    const search = async (criteria: string) => {
      const lines = await client.command("Q", `SEARCH ${criteria}`);
      expect(lines.at(-1)).toMatch(/^Q OK/);
      return lines[0]!.replace(/^\* SEARCH ?/, "");
    };
    expect(await search("SUBJECT kafka")).toBe("1 3");
    expect(await search("FROM sender2@EXAMPLE.org")).toBe("2");
    // 8-bit text travels in a literal with CHARSET UTF-8 (RFC 3501 6.4.4).
    expect(await search(`CHARSET UTF-8 BODY {${Buffer.byteLength("grösse")}+}\r\ngrösse`)).toBe("");
    const word = "ÜBERPRÜFT";
    expect(await search(`CHARSET UTF-8 BODY {${Buffer.byteLength(word)}+}\r\n${word}`)).toBe("1 2 3");
    expect((await client.command("Y", "SEARCH BODY größe")).at(-1)).toMatch(/^Y BAD/);
    expect(await search("TEXT redis")).toBe("2");
    expect(await search("UNSEEN")).toBe("2 3");
    expect(await search("SEEN")).toBe("1");
    expect(await search("KEYWORD $Later")).toBe("3");
    expect(await search("NOT KEYWORD $Later")).toBe("1 2");
    expect(await search("OR SEEN KEYWORD $Later")).toBe("1 3");
    expect(await search("SINCE 1-Feb-2026")).toBe("2 3");
    expect(await search("BEFORE 1-Feb-2026")).toBe("1");
    expect(await search("ON 10-Feb-2026")).toBe("2");
    expect(await search("SENTON 3-Mar-2026")).toBe("1 2 3");
    const third = message(3, " AND KAFKA").length;
    expect(await search(`SMALLER ${third + 1}`)).toBe("3");
    expect(await search(`LARGER ${third}`)).toBe("1 2");
    expect(await search("HEADER Message-ID <m2@example.org>")).toBe("2");
    expect(await search("2:3 (UNSEEN)")).toBe("2 3");
    expect(await search("ALL")).toBe("1 2 3");
    const uidSearch = await client.command("U", "UID SEARCH UID 2:* SUBJECT report");
    expect(uidSearch[0]).toBe("* SEARCH 2 3");
    const esearch = await client.command("E", "SEARCH RETURN (MIN MAX COUNT) SUBJECT report");
    expect(esearch[0]).toBe('* ESEARCH (TAG "E") MIN 1 MAX 3 COUNT 3');
    expect((await client.command("X", "SEARCH CHARSET KOI8-R SUBJECT x")).at(-1)).toMatch(
      /^X NO \[BADCHARSET/,
    );
    client.close();
  });
});

describe("EXPUNGE and other sessions", () => {
  it("numbers EXPUNGEs per session and holds them back during FETCH", async () => {
    const imap = flow();
    await imap.connect();
    await imap.mailboxCreate("Shared");
    for (let n = 1; n <= 4; n += 1) await imap.append("Shared", message(n));
    await imap.logout();

    const watcher = await raw();
    await watcher.command("S", "SELECT Shared");
    const actor = await raw();
    await actor.command("S", "SELECT Shared");
    const stored = await actor.command("A", "STORE 2,3 +FLAGS.SILENT (\\Deleted)");
    expect(stored.at(-1)).toMatch(/^A OK/);
    const expunged = await actor.command("B", "EXPUNGE");
    expect(expunged).toEqual(["* 2 EXPUNGE", "* 2 EXPUNGE", expect.stringMatching(/^B OK/)]);

    // The watcher still sees 4 messages during FETCH: no EXPUNGE, numbers unchanged.
    const during = await watcher.command("F", "FETCH 1:4 (UID)");
    expect(during.filter((line) => / EXPUNGE$/.test(line))).toEqual([]);
    // Message 4 keeps its number 4 in this session until the EXPUNGEs are announced.
    expect(during.filter((line) => line.startsWith("* "))).toEqual([
      "* 1 FETCH (UID 1)",
      "* 4 FETCH (UID 4)",
    ]);
    expect(during.at(-1)).toMatch(/^F NO \[EXPUNGEISSUED\]/);
    // NOOP delivers them.
    const noop = await watcher.command("N", "NOOP");
    expect(noop).toEqual(expect.arrayContaining(["* 2 EXPUNGE", "* 2 EXPUNGE"]));
    const after = await watcher.command("G", "FETCH 1:* (UID)");
    expect(after.slice(0, -1)).toEqual(["* 1 FETCH (UID 1)", "* 2 FETCH (UID 4)"]);
    watcher.close();
    actor.close();
  });

  it("CLOSE expunges silently", async () => {
    const client = await raw();
    await client.command("S", "SELECT Shared");
    await client.command("A", "STORE 1 +FLAGS.SILENT (\\Deleted)");
    expect(await client.command("C", "CLOSE")).toEqual([expect.stringMatching(/^C OK/)]);
    const status = await client.command("T", "STATUS Shared (MESSAGES)");
    expect(status[0]).toMatch(/MESSAGES 1\)/);
    client.close();
  });

  it("IDLE announces a message another session appends", async () => {
    const idler = await raw();
    await idler.command("S", "SELECT Shared");
    const start = idler.lines.length;
    await idler.write("I IDLE\r\n");
    await idler.waitFor((line) => line.startsWith("+ "), 5000, start);
    const imap = flow();
    await imap.connect();
    await imap.append("Shared", message(9));
    await imap.logout();
    await idler.waitFor((line) => line === "* 2 EXISTS", 5000, start);
    await idler.write("DONE\r\n");
    await idler.waitFor((line) => line.startsWith("I OK"), 5000, start);
    idler.close();
  });

  it("gives \\Recent to exactly one session", async () => {
    const imap = flow();
    await imap.connect();
    await imap.mailboxCreate("Recent");
    await imap.append("Recent", message(1));
    await imap.logout();
    const first = await raw();
    const second = await raw();
    const [a, b] = await Promise.all([
      first.command("S", "SELECT Recent"),
      second.command("S", "SELECT Recent"),
    ]);
    const recent = [a, b].map((lines) => lines.find((line) => line.endsWith(" RECENT")));
    expect(recent.sort()).toEqual(["* 0 RECENT", "* 1 RECENT"]);
    first.close();
    second.close();
  });

  it("never shows one user's mailboxes to another", async () => {
    const client = await raw("bob");
    expect((await client.command("S", "SELECT Fetch")).at(-1)).toMatch(/^S NO \[NONEXISTENT\]/);
    client.close();
  });
});
