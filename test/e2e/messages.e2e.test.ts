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

/** Creates `name` with messages 1..count through imapflow, as a client would. */
async function mailboxWith(name: string, count: number): Promise<void> {
  const imap = flow();
  await imap.connect();
  await imap.mailboxCreate(name);
  for (let n = 1; n <= count; n += 1) await imap.append(name, message(n));
  await imap.logout();
}

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
      expect.stringMatching(/^\* FLAGS \(.*\$Important\)$/),
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

  it("announces a keyword with FLAGS before a client first sees a message carry it (RFC 3501 7.2.6)", async () => {
    await mailboxWith("Keywords", 2);
    const mine = await raw();
    const other = await raw();
    await mine.command("S", "SELECT Keywords");
    await other.command("S", "SELECT Keywords");
    const system = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";
    expect(await mine.command("A", "STORE 1 +FLAGS ($Project)")).toEqual([
      `* FLAGS (${system} $Project)`,
      expect.stringMatching(/^\* 1 FETCH \(FLAGS \(\$Project( \\Recent)?\)\)$/),
      "A OK STORE completed",
    ]);
    // Known now: not announced again, whatever its case.
    expect((await mine.command("B", "STORE 2 +FLAGS ($project)"))[0]).toMatch(/^\* 2 FETCH/);
    // The other session learns it before the update that shows it.
    const noop = await other.command("N", "NOOP");
    expect(noop.indexOf(`* FLAGS (${system} $Project)`)).toBe(0);
    expect(noop[1]).toMatch(/^\* 1 FETCH \(UID \d+ FLAGS \(\$Project\)\)$/);
    // A session that selects later learns it when it fetches the flags.
    const later = await raw();
    expect((await later.command("S", "SELECT Keywords"))[0]).toBe(`* FLAGS (${system})`);
    expect(await later.command("F", "FETCH 1:2 FLAGS")).toEqual([
      `* FLAGS (${system} $Project)`,
      "* 1 FETCH (FLAGS ($Project))",
      // Each message keeps a keyword as it was first written on it.
      "* 2 FETCH (FLAGS ($project))",
      "F OK FETCH completed",
    ]);
    for (const client of [mine, other, later]) client.close();
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

  it("saves a result for $ (RFC 5182 SEARCHRES), MIN/MAX only when asked, emptied by a SEARCH finding none", async () => {
    await mailboxWith("Saved", 4);
    const client = await raw();
    expect((await client.command("C", "CAPABILITY"))[0]).toContain(" SEARCHRES");
    await client.command("S", "SELECT Saved");
    // Dovecot 2.3 answers each of these the same.
    // Nothing saved yet: $ is the empty set, not an error.
    expect(await client.command("A", "FETCH $ (UID)")).toEqual(["A OK FETCH completed"]);
    // SAVE alone answers no ESEARCH.
    expect(await client.command("B", "SEARCH RETURN (SAVE) 2:3")).toEqual(["B OK SEARCH completed"]);
    expect(await client.command("D", "FETCH $ (UID)")).toEqual([
      "* 2 FETCH (UID 2)",
      "* 3 FETCH (UID 3)",
      "D OK FETCH completed",
    ]);
    expect((await client.command("E", "UID SEARCH $ SUBJECT report"))[0]).toBe("* SEARCH 2 3");
    expect((await client.command("F", "STORE $ +FLAGS.SILENT (\\Flagged)")).at(-1)).toMatch(/^F OK/);
    expect((await client.command("G", "SEARCH FLAGGED"))[0]).toBe("* SEARCH 2 3");
    expect((await client.command("H", "SEARCH RETURN (SAVE MIN MAX) ALL"))[0]).toBe(
      '* ESEARCH (TAG "H") MIN 1 MAX 4',
    );
    // An expunged message drops out of $; the others keep their identity, by UID.
    await client.command("I", "STORE 1 +FLAGS.SILENT (\\Deleted)");
    await client.command("J", "EXPUNGE");
    expect(await client.command("K", "FETCH $ (UID)")).toEqual(["* 3 FETCH (UID 4)", "K OK FETCH completed"]);
    // A number beyond the mailbox matches nothing (RFC 3501 6.4.4): $ is saved empty.
    expect(await client.command("L", "SEARCH RETURN (SAVE) 99")).toEqual(["L OK SEARCH completed"]);
    expect(await client.command("M", "FETCH $ (UID)")).toEqual(["M OK FETCH completed"]);
    expect((await client.command("N", "COPY $ Saved")).at(-1)).toMatch(/^N OK/);
    expect((await client.command("O", "UID MOVE $ Saved")).at(-1)).toMatch(/^O OK/);
    expect((await client.command("P", "STORE $ +FLAGS (\\Seen)")).at(-1)).toMatch(/^P OK/);
    client.close();
  });

  it("OLDER and YOUNGER (RFC 5032 WITHIN) compare INTERNALDATE with now, to the second", async () => {
    const imap = flow();
    await imap.connect();
    await imap.mailboxCreate("Within");
    await imap.append("Within", message(1), [], new Date(Date.now() - 2 * 3600_000));
    await imap.append("Within", message(2), [], new Date());
    await imap.logout();

    const client = await raw();
    expect((await client.command("C", "CAPABILITY"))[0]).toContain(" WITHIN");
    await client.command("S", "SELECT Within");
    expect((await client.command("A", "SEARCH OLDER 3600"))[0]).toBe("* SEARCH 1");
    expect((await client.command("B", "SEARCH YOUNGER 3600"))[0]).toBe("* SEARCH 2");
    expect((await client.command("D", "SEARCH YOUNGER 86400 NOT YOUNGER 3600"))[0]).toBe("* SEARCH 1");
    expect((await client.command("E", "SEARCH OLDER 86400"))[0]).toBe("* SEARCH");
    expect((await client.command("F", "SEARCH OLDER 0")).at(-1)).toMatch(/^F BAD/);
    client.close();
  });
});

describe("SORT (RFC 5256)", () => {
  it("orders by base subject, first address, date, arrival and size, with REVERSE and ties in mailbox order", async () => {
    const mail = (from: string, subject: string, date: string | null, body = "hello") =>
      Buffer.from(
        [`From: ${from}`, "To: Alice <alice@example.org>", `Subject: ${subject}`]
          .concat(date === null ? [] : [`Date: ${date}`])
          .concat(["", body, ""])
          .join("\r\n"),
      );
    const messages = [
      mail("Zed <zed@example.org>", "Re: banana", "Tue, 3 Mar 2026 09:00:00 +0000"),
      mail("amy@example.org", "apple", "Sun, 1 Mar 2026 09:00:00 +0000"),
      // No Date header: DATE sorts it by its INTERNALDATE.
      mail("Bob <bob@example.org>", "[list] Cherry (fwd)", null),
      mail(
        "=?utf-8?q?Amy?= <AMY@example.org>",
        "Fwd: Apple",
        "Mon, 2 Mar 2026 09:00:00 +0000",
        "x".repeat(5000),
      ),
    ];
    const arrivals = ["2026-01-03", "2026-01-02", "2026-01-01", "2026-01-04"];
    const imap = flow();
    await imap.connect();
    await imap.mailboxCreate("Sorting");
    for (const [i, raw] of messages.entries())
      await imap.append("Sorting", raw, [], new Date(`${arrivals[i]}T12:00:00Z`));
    await imap.logout();

    const client = await raw();
    expect((await client.command("C", "CAPABILITY"))[0]).toContain(" SORT SORT=DISPLAY");
    await client.command("S", "SELECT Sorting");
    const sort = async (args: string, uid = false) => {
      const lines = await client.command("Q", `${uid ? "UID " : ""}SORT ${args}`);
      expect(lines.at(-1)).toMatch(/^Q OK/);
      return lines[0]!;
    };
    // Dovecot 2.3 orders the same messages the same way for each of these.
    expect(await sort("(SUBJECT) UTF-8 ALL")).toBe("* SORT 2 4 1 3");
    expect(await sort("(REVERSE SUBJECT) UTF-8 ALL")).toBe("* SORT 3 1 2 4");
    expect(await sort("(FROM) UTF-8 ALL")).toBe("* SORT 2 4 3 1");
    expect(await sort("(FROM REVERSE DATE) US-ASCII ALL")).toBe("* SORT 4 2 3 1");
    expect(await sort("(DATE) UTF-8 ALL")).toBe("* SORT 3 2 4 1");
    expect(await sort("(ARRIVAL) UTF-8 ALL")).toBe("* SORT 3 2 1 4");
    const bySize = [1, 2, 3, 4].sort((a, b) => messages[a - 1]!.length - messages[b - 1]!.length || a - b);
    expect(await sort("(SIZE) UTF-8 ALL")).toBe(`* SORT ${bySize.join(" ")}`);
    expect(await sort("(TO SUBJECT) UTF-8 ALL")).toBe("* SORT 2 4 1 3");
    // SORT=DISPLAY (RFC 5957): the decoded display name, else the address.
    expect(await sort("(DISPLAYFROM) UTF-8 ALL")).toBe("* SORT 4 2 3 1");
    expect(await sort("(DISPLAYTO REVERSE DISPLAYFROM) UTF-8 ALL")).toBe("* SORT 1 3 2 4");
    expect(await sort("(ARRIVAL) UTF-8 FROM amy")).toBe("* SORT 2 4");
    expect(await sort("(REVERSE ARRIVAL) UTF-8 SUBJECT apple", true)).toBe("* SORT 4 2");
    expect(await sort("(SUBJECT) UTF-8 SUBJECT durian")).toBe("* SORT");
    // Without Message-IDs, REFERENCES threads by base subject alone (Dovecot answers the same).
    expect((await client.command("T", "THREAD REFERENCES UTF-8 ALL"))[0]).toBe("* THREAD (3)(2 4)(1)");
    expect((await client.command("B", "SORT (COLOUR) UTF-8 ALL")).at(-1)).toMatch(
      /^B BAD .*unknown sort key COLOUR/,
    );
    expect((await client.command("D", "SORT (SUBJECT) KOI8-R ALL")).at(-1)).toMatch(/^D NO \[BADCHARSET/);
    expect((await client.command("E", "SORT SUBJECT UTF-8 ALL")).at(-1)).toMatch(/^E BAD/);
    client.close();
  });

  it("keys an address field by its first ENVELOPE entry: a group by the group's name", async () => {
    const imap = flow();
    await imap.connect();
    await imap.mailboxCreate("Groups");
    for (const [to, cc] of [
      ["Zed <zed@example.org>", "mid: amy@example.org;"],
      ["team: bob@example.org, carl@example.org;", "bob@example.org"],
      ["Amy <amy@example.org>", "zoe@example.org"],
      ["empty:;", "ann@example.org"],
    ])
      await imap.append("Groups", Buffer.from(`From: x@example.org\r\nTo: ${to}\r\nCc: ${cc}\r\n\r\nhi\r\n`));
    await imap.logout();
    const client = await raw();
    await client.command("S", "SELECT Groups");
    const sort = async (criteria: string) => (await client.command("Q", `SORT ${criteria} UTF-8 ALL`))[0];
    // TO (RFC 5256): zed, "team" (not bob), amy, "empty".
    expect(await sort("(TO)")).toBe("* SORT 3 4 2 1");
    // CC: "mid" (not amy), bob, zoe, ann.
    expect(await sort("(CC)")).toBe("* SORT 4 2 1 3");
    // DISPLAYTO (RFC 5957): "Zed", "team", "Amy", "empty".
    expect(await sort("(DISPLAYTO)")).toBe("* SORT 3 4 2 1");
    client.close();
  });
});

describe("THREAD (RFC 5256)", () => {
  it("threads by References and In-Reply-To, and by subject, over any SEARCH criteria", async () => {
    const mail = (id: string, subject: string, day: number, headers: string[] = []) =>
      Buffer.from(
        [
          "From: amy@example.org",
          `Subject: ${subject}`,
          `Date: ${day} Apr 2026 09:00:00 +0000`,
          `Message-ID: <${id}@example.org>`,
          ...headers,
          "",
          "hello",
          "",
        ].join("\r\n"),
      );
    const imap = flow();
    await imap.connect();
    await imap.mailboxCreate("Threads");
    for (const raw of [
      mail("plan", "Plan", 1),
      mail("lunch", "Lunch", 2),
      mail("plan-re1", "Re: Plan", 3, ["References: <plan@example.org>"]),
      mail("plan-re2", "Re: Plan", 4, ["References: <plan@example.org> <plan-re1@example.org>"]),
      mail("plan-re3", "RE: Plan", 5, ["In-Reply-To: <plan@example.org>"]),
      mail("lunch-re", "Re: Lunch", 6, ["In-Reply-To: <not-here@example.org>"]),
    ])
      await imap.append("Threads", raw);
    await imap.logout();

    const client = await raw();
    const capabilities = (await client.command("C", "CAPABILITY"))[0]!;
    expect(capabilities).toContain(" THREAD=REFERENCES");
    expect(capabilities).toContain(" THREAD=ORDEREDSUBJECT");
    await client.command("S", "SELECT Threads");
    const thread = async (args: string) => {
      const lines = await client.command("Q", args);
      expect(lines.at(-1)).toMatch(/^Q OK/);
      return lines[0]!;
    };
    // Dovecot 2.3 answers these three the same, on the same messages.
    expect(await thread("THREAD REFERENCES UTF-8 ALL")).toBe("* THREAD (1 (3 4)(5))(2 6)");
    expect(await thread("THREAD ORDEREDSUBJECT UTF-8 ALL")).toBe("* THREAD (1 (3)(4)(5))(2 6)");
    expect(await thread("UID THREAD REFERENCES US-ASCII NOT SUBJECT lunch")).toBe("* THREAD (1 (3 4)(5))");
    expect(await thread("THREAD REFERENCES UTF-8 SUBJECT nothing")).toBe("* THREAD");
    expect((await client.command("B", "THREAD SPAGHETTI UTF-8 ALL")).at(-1)).toBe(
      "B BAD unknown threading algorithm SPAGHETTI; this server offers ORDEREDSUBJECT and REFERENCES",
    );
    client.close();
  });
});

describe("OBJECTID (RFC 8474)", () => {
  it("gives mailboxes an id kept across RENAME, and messages an EMAILID kept by their copies", async () => {
    const client = await raw();
    expect((await client.command("C", "CAPABILITY"))[0]).toContain(" OBJECTID");
    const created = (await client.command("A", "CREATE Objects")).at(-1)!;
    const mailboxId = /^A OK \[MAILBOXID \(([A-Za-z0-9_-]+)\)\] CREATE completed$/.exec(created)?.[1];
    expect(mailboxId).toBeDefined();
    expect((await client.command("B", "STATUS Objects (MAILBOXID MESSAGES)"))[0]).toBe(
      `* STATUS Objects (MAILBOXID (${mailboxId}) MESSAGES 0)`,
    );
    await client.command("D", "RENAME Objects Renamed");
    expect((await client.command("E", "STATUS Renamed (MAILBOXID)"))[0]).toBe(
      `* STATUS Renamed (MAILBOXID (${mailboxId}))`,
    );
    const body = "Subject: object ids\r\nMessage-ID: <objectid@example.org>\r\n\r\nhello\r\n";
    expect((await client.command("F", `APPEND Renamed {${body.length}+}\r\n${body}`)).at(-1)).toMatch(
      /^F OK/,
    );
    expect(await client.command("G", "SELECT Renamed")).toContain(
      `* OK [MAILBOXID (${mailboxId})] mailbox id (RFC 8474)`,
    );
    await client.command("H", "COPY 1 Renamed");
    const fetched = await client.command("I", "FETCH 1:2 (EMAILID THREADID)");
    const ids = fetched
      .filter((line) => /^\* \d+ FETCH /.test(line))
      .map((line) => /EMAILID \((M[0-9a-f]{32})\) THREADID NIL\)$/.exec(line)?.[1]);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBeDefined();
    expect(ids[1]).toBe(ids[0]);
    expect((await client.command("J", `SEARCH EMAILID ${ids[0]}`))[0]).toBe("* SEARCH 1 2");
    expect((await client.command("K", "SEARCH EMAILID Mnothing"))[0]).toBe("* SEARCH");
    expect((await client.command("L", "SEARCH THREADID T1"))[0]).toBe("* SEARCH");
    expect((await client.command("M", "SEARCH EMAILID M+x")).at(-1)).toMatch(/^M BAD/);
    await client.command("N", "UNSELECT");
    await client.command("O", "DELETE Renamed");
    const again = (await client.command("P", "CREATE Renamed")).at(-1)!;
    expect(again).toMatch(/^P OK \[MAILBOXID \(/);
    expect(again).not.toContain(mailboxId);
    client.close();
  });
});

describe("EXPUNGE and other sessions", () => {
  it("numbers EXPUNGEs per session and holds them back during FETCH", async () => {
    await mailboxWith("Shared", 4);

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
    // Worded as Dovecot words it: imaptest (and clients like it) tell an expunge race by the text.
    expect(during.at(-1)).toMatch(/^F NO \[EXPUNGEISSUED\] .*no longer exist/);
    // A SEARCH cannot find them either, and says so (RFC 5530), its numbers still the old ones.
    expect(await watcher.command("Q", "SEARCH ALL")).toEqual([
      "* SEARCH 1 4",
      expect.stringMatching(/^Q OK \[EXPUNGEISSUED\] /),
    ]);
    expect(await watcher.command("R", "SORT (ARRIVAL) UTF-8 ALL")).toEqual([
      "* SORT 1 4",
      expect.stringMatching(/^R OK \[EXPUNGEISSUED\] /),
    ]);
    // NOOP delivers them.
    const noop = await watcher.command("N", "NOOP");
    expect(noop).toEqual(expect.arrayContaining(["* 2 EXPUNGE", "* 2 EXPUNGE"]));
    const after = await watcher.command("G", "FETCH 1:* (UID)");
    expect(after.slice(0, -1)).toEqual(["* 1 FETCH (UID 1)", "* 2 FETCH (UID 4)"]);
    watcher.close();
    actor.close();
  });

  it("reports another session's change made just before its own STORE or EXPUNGE, and its own once", async () => {
    await mailboxWith("Interleaved", 3);

    const mine = await raw();
    expect((await mine.command("E", "ENABLE CONDSTORE")).at(-1)).toMatch(/^E OK/);
    await mine.command("S", "SELECT Interleaved");
    const other = await raw();
    await other.command("S", "SELECT Interleaved");
    // Whether this session has read the other's change before its own command decides is up to
    // timing: both ways must show each change exactly once.
    for (let round = 1; round <= 5; round += 1) {
      expect((await other.command("O", `STORE 1 FLAGS (theirs${round})`)).at(-1)).toMatch(/^O OK/);
      const stored = await mine.command("A", `STORE 2 FLAGS (mine${round})`);
      expect(stored.at(-1)).toMatch(/^A OK/);
      const seen = [...stored, ...(await mine.command("N", "NOOP"))];
      const theirs = seen.filter((line) => line.startsWith("* 1 FETCH"));
      expect(theirs).toEqual([
        expect.stringMatching(
          new RegExp(`^\\* 1 FETCH \\(UID 1 FLAGS \\(theirs${round}( \\\\Recent)?\\) MODSEQ \\(\\d+\\)\\)$`),
        ),
      ]);
      const own = seen.filter((line) => line.startsWith("* 2 FETCH"));
      expect(own).toEqual([
        expect.stringMatching(
          new RegExp(`^\\* 2 FETCH \\(FLAGS \\(mine${round}( \\\\Recent)?\\) MODSEQ \\(\\d+\\)\\)$`),
        ),
      ]);
      // MODSEQs follow the order of the changes.
      const modseq = (line: string) => Number(/MODSEQ \((\d+)\)/.exec(line)![1]);
      expect(modseq(own[0]!)).toBeGreaterThan(modseq(theirs[0]!));
    }

    expect((await other.command("D", "STORE 3 +FLAGS.SILENT (\\Deleted)")).at(-1)).toMatch(/^D OK/);
    const expunged = await mine.command("X", "EXPUNGE");
    expect(expunged.filter((line) => / EXPUNGE$/.test(line))).toEqual(["* 3 EXPUNGE"]);
    expect(expunged.at(-1)).toMatch(/^X OK/);
    expect(await mine.command("M", "NOOP")).toEqual([expect.stringMatching(/^M OK/)]);
    // And the other way round: this session's own EXPUNGE reaches the other one once.
    expect((await mine.command("Y", "STORE 2 +FLAGS.SILENT (\\Deleted)")).at(-1)).toMatch(/^Y OK/);
    expect((await mine.command("Z", "EXPUNGE")).filter((line) => !line.includes("FETCH"))).toEqual([
      "* 2 EXPUNGE",
      expect.stringMatching(/^Z OK/),
    ]);
    const otherSees = await other.command("P", "NOOP");
    // UIDs 2 and 3, ascending: the second takes number 2 once the first is gone.
    expect(otherSees.filter((line) => / EXPUNGE$/.test(line))).toEqual(["* 2 EXPUNGE", "* 2 EXPUNGE"]);
    expect(await mine.command("Q", "FETCH 1:* (UID)")).toEqual([
      "* 1 FETCH (UID 1)",
      expect.stringMatching(/^Q OK/),
    ]);
    mine.close();
    other.close();
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
    await mailboxWith("Recent", 1);
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

  it("EXAMINE shows \\Recent without taking it; the next SELECT still gets it (RFC 3501 2.3.2)", async () => {
    await mailboxWith("Examined", 2);
    const reader = await raw();
    const examined = await reader.command("E", "EXAMINE Examined");
    expect(examined).toContain("* 2 RECENT");
    expect(await reader.command("F", "FETCH 1 FLAGS")).toEqual([
      "* 1 FETCH (FLAGS (\\Recent))",
      "F OK FETCH completed",
    ]);
    // Arriving while examined: recent to the reader too, and still nobody's.
    const writer = flow();
    await writer.connect();
    await writer.append("Examined", message(3));
    await writer.logout();
    expect(await reader.command("N", "NOOP")).toEqual(["* 3 EXISTS", "* 3 RECENT", "N OK NOOP completed"]);
    const selector = await raw();
    expect(await selector.command("S", "SELECT Examined")).toContain("* 3 RECENT");
    expect(await selector.command("T", "STATUS Examined (RECENT)")).toContain("* STATUS Examined (RECENT 3)");
    const late = await raw();
    expect(await late.command("E", "EXAMINE Examined")).toContain("* 0 RECENT");
    for (const client of [reader, selector, late]) client.close();
  });

  it("STATUS counts as \\Recent what no session has been told of, and the selecting session's own", async () => {
    await mailboxWith("Unread", 2);
    const looker = await raw();
    expect((await looker.command("T", "STATUS Unread (MESSAGES RECENT)"))[0]).toBe(
      "* STATUS Unread (MESSAGES 2 RECENT 2)",
    );
    const reader = await raw();
    expect(await reader.command("S", "SELECT Unread")).toContain("* 2 RECENT");
    // The reader has been told of both: they are its own \Recent messages, no longer anyone else's.
    expect((await looker.command("U", "STATUS Unread (RECENT)"))[0]).toBe("* STATUS Unread (RECENT 0)");
    expect((await reader.command("V", "STATUS Unread (RECENT)"))[0]).toBe("* STATUS Unread (RECENT 2)");
    const more = flow();
    await more.connect();
    await more.append("Unread", message(3));
    await more.logout();
    // The reader is told of the third at its next command, so it takes that one too.
    expect(await reader.command("N", "NOOP")).toEqual(expect.arrayContaining(["* 3 EXISTS", "* 3 RECENT"]));
    expect((await looker.command("W", "STATUS Unread (RECENT)"))[0]).toBe("* STATUS Unread (RECENT 0)");
    looker.close();
    reader.close();
  });

  it("never shows one user's mailboxes to another", async () => {
    const client = await raw("bob");
    expect((await client.command("S", "SELECT Fetch")).at(-1)).toMatch(/^S NO \[NONEXISTENT\]/);
    client.close();
  });
});
