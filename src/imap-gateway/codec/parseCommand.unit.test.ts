import { describe, expect, it } from "vitest";
import type { Command, ParseResult } from "./commands.ts";
import { parseCommand } from "./parseCommand.ts";
import { readAllFrames } from "./reader.ts";
import type { ParseOptions } from "./scanner.ts";

/** Raw wire text (CRLF added if missing) → the one command it frames → parse result. */
function parse(wire: string | Buffer, options?: ParseOptions): ParseResult {
  const bytes =
    typeof wire === "string" ? Buffer.from(wire.endsWith("\r\n") ? wire : `${wire}\r\n`, "latin1") : wire;
  const frames = readAllFrames([bytes]).flatMap((r) => (r.kind === "command" ? [r.frame] : []));
  expect(frames).toHaveLength(1);
  return parseCommand(frames[0]!, options);
}

function ok(wire: string | Buffer, options?: ParseOptions): Command {
  const result = parse(wire, options);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(wire)} to parse: ${result.message}`);
  return result.command;
}

function refused(wire: string | Buffer, options?: ParseOptions): Extract<ParseResult, { ok: false }> {
  const result = parse(wire, options);
  if (result.ok) throw new Error(`expected ${JSON.stringify(wire)} to be refused`);
  return result;
}

function bad(wire: string | Buffer, options?: ParseOptions): { tag: string | undefined; message: string } {
  const result = refused(wire, options);
  expect(result.status).toBe("BAD");
  return { tag: result.tag, message: result.message };
}

const all = { kind: "ranges", ranges: [{ start: 1, stop: "*" }] };

describe("tag and command name", () => {
  it("reads any-case names and the UID prefix", () => {
    expect(ok("a1 noop")).toEqual({ tag: "a1", name: "NOOP", uid: false, args: {} });
    expect(ok("A.2 uid Fetch 1:* FLAGS")).toMatchObject({ tag: "A.2", name: "FETCH", uid: true });
    for (const name of [
      "CAPABILITY",
      "LOGOUT",
      "STARTTLS",
      "CHECK",
      "CLOSE",
      "UNSELECT",
      "IDLE",
      "NAMESPACE",
    ]) {
      expect(ok(`t ${name}`)).toEqual({ tag: "t", name, uid: false, args: {} });
    }
  });

  it("refuses bad tags, unknown commands and trailing junk", () => {
    expect(bad("")).toEqual({ tag: undefined, message: "empty command" });
    expect(bad("a+b NOOP").tag).toBeUndefined();
    expect(bad("a1")).toEqual({ tag: "a1", message: "missing command name" });
    expect(bad("a1 FROB x")).toEqual({ tag: "a1", message: "unknown command FROB" });
    expect(bad("a1 UID LOGIN x y")).toEqual({ tag: "a1", message: "UID: LOGIN cannot follow UID" });
    expect(bad("a1 NOOP extra").message).toBe('NOOP: unexpected " extra" after the arguments');
    expect(bad("a1  NOOP").message).toMatch(/command name/);
  });
});

describe("AUTHENTICATE and LOGIN", () => {
  it("parses the mechanism and an optional SASL-IR initial response", () => {
    expect(ok("a AUTHENTICATE plain").args).toEqual({ mechanism: "PLAIN", initialResponse: undefined });
    expect(ok("a AUTHENTICATE PLAIN AGJvYgBwdw==").args).toEqual({
      mechanism: "PLAIN",
      initialResponse: "AGJvYgBwdw==",
    });
    expect(ok("a AUTHENTICATE EXTERNAL =").args).toEqual({ mechanism: "EXTERNAL", initialResponse: "=" });
    expect(bad("a AUTHENTICATE PLAIN not*base64").message).toMatch(/not base64/);
  });

  it("reads atoms, quoted strings and literals for LOGIN", () => {
    expect(ok('a LOGIN bob "p a\\"s\\\\s"').args).toEqual({ username: "bob", password: 'p a"s\\s' });
    expect(ok("a LOGIN {3}\r\nbob {4+}\r\np\r\ns\r\n").args).toEqual({ username: "bob", password: "p\r\ns" });
    expect(bad('a LOGIN bob "p\\x"').message).toMatch(/invalid escape/);
    expect(bad('a LOGIN bob "unterminated').message).toMatch(/unterminated/);
    expect(bad("a LOGIN bob").message).toMatch(/expected a space/);
    expect(bad(Buffer.from('a LOGIN bob "p\xe9"\r\n', "latin1")).message).toMatch(/8-bit/);
    expect(ok(Buffer.from('a LOGIN bob "pé"\r\n', "utf8"), { utf8Accept: true }).args).toEqual({
      username: "bob",
      password: "pé",
    });
  });
});

describe("names that are not valid modified UTF-7", () => {
  // Well-formed astrings, so not BAD; but no mailbox can have such a name (imaptest "atoms").
  const name = "!#$&'+,-.0123456789:;<=>?@^_`|[}";

  it("answers NO [NONEXISTENT] where the mailbox must exist", () => {
    for (const command of [
      `SELECT ${name}`,
      `EXAMINE ${name}`,
      `STATUS ${name} (MESSAGES)`,
      `DELETE ${name}`,
    ])
      expect(refused(`a ${command}`)).toMatchObject({ status: "NO", code: "NONEXISTENT" });
    expect(refused(`a RENAME ${name} Elsewhere`)).toMatchObject({ status: "NO", code: "NONEXISTENT" });
    expect(refused(`a COPY 1 ${name}`)).toMatchObject({ status: "NO", code: "NONEXISTENT" });
  });

  it("answers NO [CANNOT] where the name would be made", () => {
    expect(refused(`a CREATE ${name}`)).toMatchObject({ status: "NO", code: "CANNOT" });
    expect(refused(`a RENAME Old ${name}`)).toMatchObject({ status: "NO", code: "CANNOT" });
    expect(refused(`a SUBSCRIBE ${name}`)).toMatchObject({ status: "NO", code: "CANNOT" });
  });

  it("still answers BAD when the command is malformed further on", () => {
    expect(bad(`a STATUS ${name} (NOSUCHITEM)`).message).toMatch(/unknown status item/);
  });

  it("lists nothing for such a pattern or reference, and answers OK", () => {
    expect(ok(`a LIST "" ${name}%*`).args).toMatchObject({ reference: "", patterns: [] });
    expect(ok(`a LIST "" (${name} Drafts)`).args).toMatchObject({ patterns: ["Drafts"] });
    expect(ok(`a LIST ${name} *`).args).toMatchObject({ patterns: [] });
    expect(ok(`a LSUB "" ${name}`).args).toEqual({ reference: "", patterns: [] });
  });
});

describe("mailbox commands", () => {
  it("decodes modified UTF-7 names and normalises INBOX", () => {
    expect(ok("a SELECT inbox").args).toEqual({ mailbox: "INBOX", condstore: false, qresync: undefined });
    expect(ok('a CREATE "Entw&APw-rfe"').args).toEqual({ mailbox: "Entwürfe" });
    expect(ok("a CREATE Drafts (USE (\\Drafts))").args).toEqual({ mailbox: "Drafts", use: ["\\Drafts"] });
    expect(ok("a CREATE Drafts (use (\\Sent \\Trash))").args).toEqual({
      mailbox: "Drafts",
      use: ["\\Sent", "\\Trash"],
    });
    expect(ok("a CREATE Drafts (USE ())").args).toEqual({ mailbox: "Drafts", use: [] });
    expect(bad("a CREATE Drafts (COLOR red)").message).toMatch(/unknown CREATE parameter COLOR/);
    expect(bad("a CREATE Drafts (USE (Drafts))").message).toMatch(/special-use attribute/);
    expect(bad("a CREATE Drafts (USE (\\Drafts) USE (\\Sent))").message).toMatch(/USE given twice/);
    expect(bad("a CREATE Drafts ()").message).toMatch(/empty CREATE parameters/);
    expect(ok("a DELETE {4}\r\nTrsh\r\n").args).toEqual({ mailbox: "Trsh" });
    expect(ok("a SUBSCRIBE News]").args).toEqual({ mailbox: "News]" });
    expect(ok("a UNSUBSCRIBE News").args).toEqual({ mailbox: "News" });
    expect(ok("a RENAME old &ZeVnLIqe-").args).toEqual({ from: "old", to: "日本語" });
    expect(refused("a CREATE &Jjo")).toMatchObject({
      status: "NO",
      code: "CANNOT",
      message: 'CREATE: mailbox name: invalid modified UTF-7: "&" without a closing "-"',
    });
    // RFC 6855 allows UTF-8 in quoted strings only, never in atoms.
    expect(bad(Buffer.from("a CREATE Entwürfe\r\n"), { utf8Accept: true }).message).toMatch(/unexpected/);
    expect(ok(Buffer.from('a CREATE "Entwürfe"\r\n'), { utf8Accept: true }).args).toEqual({
      mailbox: "Entwürfe",
    });
  });

  it("parses SELECT/EXAMINE parameters (CONDSTORE, QRESYNC)", () => {
    expect(ok("a EXAMINE INBOX (CONDSTORE)")).toMatchObject({ name: "EXAMINE", args: { condstore: true } });
    expect(ok("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))").args).toEqual({
      mailbox: "INBOX",
      condstore: false,
      qresync: {
        uidValidity: 67890007,
        modSeq: 20050715194045000n,
        knownUids: {
          kind: "ranges",
          ranges: [
            { start: 41, stop: 41 },
            { start: 43, stop: 211 },
            { start: 214, stop: 541 },
          ],
        },
        seqMatch: undefined,
      },
    });
    const withMatch = ok("a SELECT INBOX (QRESYNC (1 2 1:10 (1,5 3,9)))");
    expect(withMatch.name === "SELECT" && withMatch.args.qresync?.seqMatch).toBeTruthy();
    expect(ok("a SELECT INBOX (QRESYNC (1 2 (1,5 3,9)))").args).toMatchObject({
      qresync: { knownUids: undefined },
    });
    expect(bad("a SELECT INBOX (FOO)").message).toBe("SELECT: unknown select parameter FOO");
    expect(bad("a SELECT INBOX (QRESYNC (0 2))").message).toMatch(/UIDVALIDITY must not be 0/);
  });

  it("parses LIST, LIST-EXTENDED and LSUB", () => {
    expect(ok('a LIST "" %').args).toMatchObject({ reference: "", patterns: ["%"], extended: false });
    expect(ok('a LIST "" *]x').args).toMatchObject({ patterns: ["*]x"] });
    expect(ok("a LIST ~/Mail/ &AMk-t&AOk-*").args).toMatchObject({
      reference: "~/Mail/",
      patterns: ["Été*"],
    });
    expect(
      ok(
        'a LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" "Drafts" %) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))',
      ).args,
    ).toEqual({
      reference: "",
      patterns: ["INBOX", "Drafts", "%"],
      selectionOptions: ["SUBSCRIBED", "RECURSIVEMATCH"],
      returnOptions: ["CHILDREN"],
      returnStatus: ["MESSAGES", "UNSEEN"],
      extended: true,
    });
    expect(bad('a LIST (RECURSIVEMATCH) "" %').message).toMatch(/RECURSIVEMATCH needs/);
    expect(bad('a LIST (RECURSIVEMATCH REMOTE) "" ""').message).toMatch(/RECURSIVEMATCH needs/);
    expect(ok('a LIST (REMOTE SUBSCRIBED RECURSIVEMATCH) "" %').name).toBe("LIST");
    expect(bad('a LIST "" % RETURN (BOGUS)').message).toMatch(/unknown LIST return option BOGUS/);
    expect(ok('a LSUB "" "*"').args).toEqual({ reference: "", patterns: ["*"] });
  });

  it("parses STATUS", () => {
    expect(ok("a STATUS INBOX (messages UIDNEXT HIGHESTMODSEQ)").args).toEqual({
      mailbox: "INBOX",
      items: ["MESSAGES", "UIDNEXT", "HIGHESTMODSEQ"],
    });
    expect(bad("a STATUS INBOX ()").message).toMatch(/empty status items/);
    expect(bad("a STATUS INBOX (FOO)").message).toMatch(/unknown status item FOO/);
  });

  it("parses COPY, MOVE, GETQUOTA, GETQUOTAROOT", () => {
    expect(ok("a UID COPY 5:2,9 Trash")).toMatchObject({
      name: "COPY",
      uid: true,
      args: {
        sequenceSet: {
          kind: "ranges",
          ranges: [
            { start: 2, stop: 5 },
            { start: 9, stop: 9 },
          ],
        },
        mailbox: "Trash",
      },
    });
    expect(ok("a MOVE $ Archive").args).toEqual({ sequenceSet: { kind: "saved" }, mailbox: "Archive" });
    expect(ok('a GETQUOTA ""').args).toEqual({ root: "" });
    expect(ok("a GETQUOTAROOT INBOX").args).toEqual({ mailbox: "INBOX" });
  });

  it("parses SAVEDATE in FETCH and the SAVED* search keys (RFC 8514)", () => {
    expect(ok("a FETCH 1 (SAVEDATE UID)").args).toMatchObject({
      items: [{ type: "SAVEDATE" }, { type: "UID" }],
    });
    expect(ok("a FETCH 1 savedate").args).toMatchObject({ items: [{ type: "SAVEDATE" }] });
    expect(
      ok("a SEARCH SAVEDBEFORE 2-Feb-2020 SAVEDON 3-Mar-2021 SAVEDSINCE 4-Apr-2022 SAVEDATESUPPORTED").args,
    ).toMatchObject({
      criteria: {
        type: "and",
        keys: [
          { type: "date", field: "saved", op: "before", date: { year: 2020, month: 2, day: 2 } },
          { type: "date", field: "saved", op: "on", date: { year: 2021, month: 3, day: 3 } },
          { type: "date", field: "saved", op: "since", date: { year: 2022, month: 4, day: 4 } },
          { type: "savedatesupported" },
        ],
      },
    });
    expect(bad("a SEARCH SAVEDON yesterday").message).toMatch(/date/);
  });

  it("parses PREVIEW and PREVIEW (LAZY), apart from FETCH modifiers (RFC 8970)", () => {
    expect(ok("a FETCH 1 PREVIEW").args).toMatchObject({ items: [{ type: "PREVIEW", lazy: false }] });
    expect(ok("a FETCH 1 PREVIEW (LAZY)").args).toMatchObject({
      items: [{ type: "PREVIEW", lazy: true }],
      changedSince: undefined,
    });
    expect(ok("a FETCH 1 (preview (lazy) UID)").args).toMatchObject({
      items: [{ type: "PREVIEW", lazy: true }, { type: "UID" }],
    });
    expect(ok("a FETCH 1 PREVIEW (CHANGEDSINCE 5)").args).toMatchObject({
      items: [{ type: "PREVIEW", lazy: false }],
      changedSince: 5n,
    });
    expect(bad("a FETCH 1 (PREVIEW (FAST))").message).toMatch(/expected a fetch data item/);
    expect(bad("a FETCH 1 (PREVIEW (LAZY FAST))").message).toMatch(/unknown PREVIEW modifier FAST/);
  });

  it("parses GETMETADATA with and without options (RFC 5464)", () => {
    expect(ok('a GETMETADATA "" /shared/comment').args).toEqual({
      mailbox: "",
      entries: ["/shared/comment"],
      maxSize: undefined,
      depth: undefined,
    });
    expect(
      ok("a getmetadata (maxsize 1024 depth INFINITY) inbox (/shared/comment /private/comment)").args,
    ).toEqual({
      mailbox: "INBOX",
      entries: ["/shared/comment", "/private/comment"],
      maxSize: 1024,
      depth: "infinity",
    });
    expect(ok("a GETMETADATA INBOX {16}\r\n/private/comment").args).toMatchObject({
      entries: ["/private/comment"],
    });
    expect(bad("a GETMETADATA (DEPTH 2) INBOX /private/a").message).toMatch(/DEPTH/);
    expect(bad("a GETMETADATA (MAXSIZE 1 MAXSIZE 2) INBOX /private/a").message).toMatch(/twice/);
    expect(bad("a GETMETADATA (SIZE 1) INBOX /private/a").message).toMatch(/unknown GETMETADATA option SIZE/);
    expect(bad("a GETMETADATA INBOX").message).toMatch(/expected a space/);
    expect(bad("a GETMETADATA INBOX ()").message).toMatch(/empty entry names/);
  });

  it("parses SETMETADATA values: quoted, literal, literal8 and NIL", () => {
    expect(ok('a SETMETADATA INBOX (/private/comment "My comment" /shared/x NIL)').args).toEqual({
      mailbox: "INBOX",
      entries: [
        { name: "/private/comment", value: "My comment" },
        { name: "/shared/x", value: null },
      ],
    });
    expect(ok("a SETMETADATA INBOX (/private/comment {12+}\r\nline1\r\nline2)").args).toMatchObject({
      entries: [{ name: "/private/comment", value: "line1\r\nline2" }],
    });
    expect(ok("a SETMETADATA INBOX (/private/comment ~{3+}\r\nabc)").args).toMatchObject({
      entries: [{ value: "abc" }],
    });
    expect(bad("a SETMETADATA INBOX (/private/comment)").message).toMatch(/expected a space/);
    expect(bad("a SETMETADATA INBOX (/private/comment value)").message).toMatch(/expected a metadata value/);
    expect(bad("a SETMETADATA INBOX /private/comment NIL").message).toMatch(/"\(" to start entry values/);
  });
});

describe("sequence sets", () => {
  it("keeps * and normalises reversed ranges", () => {
    expect(ok("a FETCH *:4 UID").args).toMatchObject({ sequenceSet: { ranges: [{ start: 4, stop: "*" }] } });
    expect(ok("a FETCH * UID").args).toMatchObject({ sequenceSet: { ranges: [{ start: "*", stop: "*" }] } });
    expect(ok("a FETCH 4294967295 UID").args).toMatchObject({
      sequenceSet: { ranges: [{ start: 4294967295 }] },
    });
  });

  it("refuses 0, numbers above 2^32-1, leading zeros and malformed sets", () => {
    expect(bad("a FETCH 0 UID").message).toMatch(/invalid sequence set "0"/);
    expect(bad("a FETCH 4294967296 UID").message).toMatch(/exceeds 4294967295/);
    expect(bad("a FETCH 99999999999999999999999 UID").message).toMatch(/exceeds/);
    expect(bad("a FETCH 01 UID").message).toMatch(/not a non-zero number/);
    expect(bad("a FETCH 1:2:3 UID").message).toMatch(/too many ':'/);
    expect(bad("a FETCH 1,,2 UID").message).toMatch(/missing number/);
    expect(bad("a FETCH 1$ UID").message).toMatch(/invalid sequence set/);
  });
});

describe("APPEND", () => {
  it("reads flags, date-time and the literal; MULTIAPPEND; literal8", () => {
    const command = ok('a APPEND Drafts (\\seen $Label) "05-Mar-2024 09:01:02 -0130" {5+}\r\nHello\r\n');
    expect(command.name).toBe("APPEND");
    if (command.name !== "APPEND") return;
    const [message] = command.args.messages;
    expect(message!.flags).toEqual(["\\Seen", "$Label"]);
    expect(message!.internalDate?.toISOString()).toBe("2024-03-05T10:31:02.000Z");
    expect(message!.content).toEqual({
      kind: "literal",
      literal: { kind: "buffered", data: Buffer.from("Hello"), nonSync: true },
      binary: false,
    });

    const multi = ok(
      'a APPEND INBOX {1+}\r\nA (\\Draft) {1+}\r\nB " 7-Jan-2020 00:00:00 +0000" ~{1+}\r\nC\r\n',
    );
    expect(
      multi.name === "APPEND" &&
        multi.args.messages.map((m) => [
          m.flags,
          m.content.kind === "literal" && m.content.binary,
          m.internalDate?.getTime(),
        ]),
    ).toEqual([
      [[], false, undefined],
      [["\\Draft"], false, undefined],
      [[], true, Date.UTC(2020, 0, 7)],
    ]);
  });

  it("reads CATENATE (RFC 4469): TEXT literals and URLs, mixed with plain messages", () => {
    const command = ok(
      'a APPEND Drafts (\\Seen) CATENATE (URL "/INBOX/;UID=1/;SECTION=HEADER" TEXT {4+}\r\nbody' +
        " TEXT ~{2+}\r\nx\0) CATENATE (url /INBOX/;uid=2) {3+}\r\nend\r\n",
    );
    if (command.name !== "APPEND") throw new Error("not APPEND");
    const [first, second, third] = command.args.messages;
    expect(first!.flags).toEqual(["\\Seen"]);
    expect(first!.content).toEqual({
      kind: "catenate",
      parts: [
        { kind: "url", url: "/INBOX/;UID=1/;SECTION=HEADER" },
        {
          kind: "text",
          literal: { kind: "buffered", data: Buffer.from("body"), nonSync: true },
          binary: false,
        },
        {
          kind: "text",
          literal: { kind: "buffered", data: Buffer.from("x\0"), nonSync: true },
          binary: true,
        },
      ],
    });
    expect(second!.content).toEqual({ kind: "catenate", parts: [{ kind: "url", url: "/INBOX/;uid=2" }] });
    expect(third!.content.kind).toBe("literal");
    expect(bad("a APPEND Drafts CATENATE ()").message).toMatch(/empty CATENATE parts/);
    expect(bad("a APPEND Drafts CATENATE (FILE x)").message).toMatch(/unknown CATENATE part FILE/);
    expect(bad('a APPEND Drafts CATENATE (TEXT "inline")').message).toMatch(/TEXT literal/);
  });

  it("reads UTF8 (~{n}) message data only once UTF8=ACCEPT is enabled (RFC 6855 4)", () => {
    const wire = "a APPEND INBOX (\\Seen) UTF8 (~{5+}\r\nH\xc3\xa9!!)\r\n";
    const command = ok(Buffer.from(wire, "latin1"), { utf8Accept: true });
    if (command.name !== "APPEND") throw new Error("not APPEND");
    expect(command.args.messages[0]!.content).toEqual({
      kind: "literal",
      literal: { kind: "buffered", data: Buffer.from("Hé!!"), nonSync: true },
      binary: false,
    });
    expect(bad(Buffer.from(wire, "latin1")).message).toMatch(/UTF8 message data needs ENABLE UTF8=ACCEPT/);
    expect(bad("a APPEND INBOX UTF8 ({2+}\r\nab)", { utf8Accept: true }).message).toMatch(/literal8/);
    expect(bad("a APPEND INBOX UTF8 (~{2+}\r\nab", { utf8Accept: true }).message).toMatch(/"\)"/);
  });

  it("refuses bad flags, dates and a missing literal", () => {
    expect(bad("a APPEND INBOX (\\Recent) {1+}\r\nx\r\n").message).toMatch(/\\Recent cannot be set/);
    expect(bad("a APPEND INBOX (\\*) {1+}\r\nx\r\n").message).toMatch(/\\\* is not a flag/);
    expect(bad('a APPEND INBOX "31-Feb-2024 00:00:00 +0000" {1+}\r\nx\r\n').message).toMatch(
      /invalid date-time/,
    );
    expect(bad('a APPEND INBOX "1-Jan-2024 00:00:00 +0000" {1+}\r\nx\r\n').message).toMatch(
      /invalid date-time/,
    );
    expect(bad("a APPEND INBOX").message).toBe("APPEND: missing message literal");
    expect(bad("a APPEND INBOX hello").message).toMatch(/expected the message literal/);
  });
});

describe("EXPUNGE", () => {
  it("takes a UID set only with UID", () => {
    expect(ok("a EXPUNGE").args).toEqual({ uids: undefined });
    expect(ok("a UID EXPUNGE 3:5").args).toEqual({
      uids: { kind: "ranges", ranges: [{ start: 3, stop: 5 }] },
    });
    expect(bad("a UID EXPUNGE").message).toMatch(/expected a space/);
  });
});

describe("SEARCH", () => {
  it("parses every RFC 3501 key", () => {
    const command = ok(
      "a SEARCH ALL ANSWERED BCC b BEFORE 1-Feb-2020 BODY x CC c DELETED DRAFT FLAGGED FROM f " +
        'HEADER X-Spam "yes" KEYWORD $Junk LARGER 10 NEW NOT SEEN OLD ON "02-Mar-2021" OR 1 2 RECENT SEEN ' +
        "SENTBEFORE 1-Jan-2000 SENTON 1-Jan-2000 SENTSINCE 1-Jan-2000 SINCE 1-Jan-2000 SMALLER 5 SUBJECT s " +
        "TEXT t TO o UID 1:* UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD k UNSEEN 1,3 (SEEN FLAGGED)",
    );
    expect(command.name).toBe("SEARCH");
    if (command.name !== "SEARCH" || command.args.criteria.type !== "and") throw new Error("shape");
    const keys = command.args.criteria.keys;
    expect(keys).toHaveLength(37);
    expect(keys).toContainEqual({ type: "header", field: "Bcc", value: "b" });
    expect(keys).toContainEqual({ type: "header", field: "X-Spam", value: "yes" });
    expect(keys).toContainEqual({
      type: "date",
      field: "internal",
      op: "before",
      date: { year: 2020, month: 2, day: 1 },
    });
    expect(keys).toContainEqual({
      type: "date",
      field: "internal",
      op: "on",
      date: { year: 2021, month: 3, day: 2 },
    });
    expect(keys).toContainEqual({ type: "flag", flag: "$Junk", present: true });
    expect(keys).toContainEqual({ type: "flag", flag: "k", present: false });
    expect(keys).toContainEqual({ type: "not", key: { type: "flag", flag: "\\Seen", present: true } });
    expect(keys).toContainEqual({
      type: "or",
      left: { type: "seq", set: { kind: "ranges", ranges: [{ start: 1, stop: 1 }] } },
      right: { type: "seq", set: { kind: "ranges", ranges: [{ start: 2, stop: 2 }] } },
    });
    expect(keys).toContainEqual({ type: "uid", set: all });
    expect(keys).toContainEqual({ type: "size", op: "larger", size: 10 });
    expect(keys.at(-1)).toEqual({
      type: "and",
      keys: [
        { type: "flag", flag: "\\Seen", present: true },
        { type: "flag", flag: "\\Flagged", present: true },
      ],
    });
  });

  it("parses CHARSET, literals, MODSEQ, OLDER/YOUNGER and ESEARCH RETURN", () => {
    expect(ok(Buffer.from("a SEARCH CHARSET utf-8 SUBJECT {6}\r\nhällo\r\n", "utf8")).args).toEqual({
      charset: "UTF-8",
      criteria: { type: "header", field: "Subject", value: "hällo" },
      returnOptions: undefined,
    });
    expect(ok('a SEARCH RETURN (MIN COUNT) MODSEQ "/flags/\\\\draft" all 620162338').args).toEqual({
      charset: undefined,
      criteria: { type: "modseq", modSeq: 620162338n, entry: { name: "/flags/\\draft", kind: "all" } },
      returnOptions: ["MIN", "COUNT"],
    });
    expect(ok("a SEARCH RETURN () OLDER 60").args).toMatchObject({
      returnOptions: [],
      criteria: { type: "age", op: "older", seconds: 60 },
    });
    expect(ok("a UID SEARCH $").args).toMatchObject({ criteria: { type: "seq", set: { kind: "saved" } } });
  });

  it("refuses unknown keys, bad dates, unsupported charsets and deep nesting", () => {
    expect(bad("a SEARCH FOO").message).toBe("SEARCH: unknown search key FOO");
    expect(bad("a SEARCH SINCE 32-Jan-2020").message).toMatch(/invalid date/);
    expect(bad("a SEARCH SINCE 1-Foo-2020").message).toMatch(/invalid date/);
    expect(parse("a SEARCH CHARSET KOI8-R ALL")).toMatchObject({
      ok: false,
      code: "BADCHARSET (US-ASCII UTF-8)",
    });
    expect(bad("a SEARCH (SEEN").message).toMatch(/expected a space/);
    expect(bad("a SEARCH OR SEEN").message).toMatch(/expected a space/);
    expect(bad("a SEARCH").message).toMatch(/expected a space/);
    expect(bad(`a SEARCH ${"(".repeat(40)}ALL${")".repeat(40)}`).message).toMatch(/nesting deeper than 32/);
    expect(bad(`a SEARCH ${"NOT ".repeat(40)}ALL`).message).toMatch(/nesting deeper than 32/);
    expect(ok(`a SEARCH ${"(".repeat(30)}ALL${")".repeat(30)}`).name).toBe("SEARCH");
    // Far beyond any stack: still an answer, not a crash.
    expect(bad(`a SEARCH ${"(".repeat(4000)}`).message).toMatch(/nesting/);
  });
});

describe("FETCH", () => {
  it("expands macros and reads single items and lists", () => {
    expect(ok("a FETCH 1 fast").args).toMatchObject({
      macro: "FAST",
      items: [{ type: "FLAGS" }, { type: "INTERNALDATE" }, { type: "RFC822.SIZE" }],
    });
    expect(ok("a FETCH 1 ALL").args).toMatchObject({ macro: "ALL" });
    expect(ok("a FETCH 1 FULL").args).toMatchObject({ macro: "FULL", items: { length: 5 } });
    expect(ok("a FETCH 1 envelope").args).toMatchObject({ items: [{ type: "ENVELOPE" }] });
    const simple =
      "ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE UID MODSEQ";
    expect(ok(`a FETCH 1:* (${simple})`).args).toMatchObject({
      items: simple.split(" ").map((type) => ({ type })),
    });
  });

  it("reads body sections and partials", () => {
    const command = ok(
      "a UID FETCH 1 (BODY[] BODY.PEEK[1.2.3] BODY[HEADER] BODY[2.MIME] BODY[1.TEXT]<0.2048> " +
        'BODY.PEEK[HEADER.FIELDS (From "Subject")] BODY[3.HEADER.FIELDS.NOT (X-Spam)] BINARY[1]<5.10> BINARY.PEEK[] BINARY.SIZE[2.1])',
    );
    if (command.name !== "FETCH") throw new Error("shape");
    expect(command.args.items).toEqual([
      { type: "BODY[]", peek: false, section: { part: [], text: undefined, fields: [] }, partial: undefined },
      {
        type: "BODY[]",
        peek: true,
        section: { part: [1, 2, 3], text: undefined, fields: [] },
        partial: undefined,
      },
      { type: "BODY[]", peek: false, section: { part: [], text: "HEADER", fields: [] }, partial: undefined },
      { type: "BODY[]", peek: false, section: { part: [2], text: "MIME", fields: [] }, partial: undefined },
      {
        type: "BODY[]",
        peek: false,
        section: { part: [1], text: "TEXT", fields: [] },
        partial: { offset: 0, count: 2048 },
      },
      {
        type: "BODY[]",
        peek: true,
        section: { part: [], text: "HEADER.FIELDS", fields: ["From", "Subject"] },
        partial: undefined,
      },
      {
        type: "BODY[]",
        peek: false,
        section: { part: [3], text: "HEADER.FIELDS.NOT", fields: ["X-Spam"] },
        partial: undefined,
      },
      { type: "BINARY[]", peek: false, part: [1], partial: { offset: 5, count: 10 } },
      { type: "BINARY[]", peek: true, part: [], partial: undefined },
      { type: "BINARY.SIZE", part: [2, 1] },
    ]);
  });

  it("reads CHANGEDSINCE and VANISHED modifiers", () => {
    expect(ok("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)").args).toMatchObject({
      changedSince: 12345n,
      vanished: true,
    });
    expect(bad("a FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)").message).toMatch(
      /VANISHED requires UID FETCH/,
    );
    expect(bad("a FETCH 1 FLAGS (CHANGEDSINCE 0)").message).toMatch(/must not be 0/);
    expect(bad("a FETCH 1 FLAGS (CHANGEDSINCE 99999999999999999999)").message).toMatch(/too large/);
  });

  it("says which data item is wrong", () => {
    expect(bad("a FETCH 1 BODYX").message).toBe("FETCH: unknown data item BODYX");
    expect(bad("a FETCH 1 (FLAGS BODYX)").message).toBe("FETCH: unknown data item BODYX");
    expect(bad("a FETCH 1 (FLAGS ALL)").message).toMatch(/macro ALL cannot be combined/);
    expect(bad("a FETCH 1 ()").message).toMatch(/empty fetch items/);
    expect(bad("a FETCH 1 BODY[MIME]").message).toMatch(/MIME needs a part number/);
    expect(bad("a FETCH 1 BODY[0]").message).toMatch(/must not be 0/);
    expect(bad("a FETCH 1 BODY[HEADER.FIELDS ()]").message).toMatch(/empty header field list/);
    expect(bad("a FETCH 1 BODY[TEXT]<1>").message).toMatch(/"\." in the partial/);
    expect(bad("a FETCH 1 BODY[TEXT").message).toMatch(/"]"/);
    expect(bad("a FETCH 1 BODY.PEEK").message).toMatch(/unknown data item BODY.PEEK/);
    expect(bad("a FETCH 1 (FLAGS) (FOO)").message).toMatch(/unknown fetch modifier FOO/);
  });
});

describe("STORE", () => {
  it("parses actions, .SILENT, flag lists and bare flags, UNCHANGEDSINCE", () => {
    expect(ok("a STORE 1 +FLAGS (\\Deleted)").args).toEqual({
      sequenceSet: { kind: "ranges", ranges: [{ start: 1, stop: 1 }] },
      action: "add",
      silent: false,
      flags: ["\\Deleted"],
      unchangedSince: undefined,
    });
    expect(ok("a UID STORE 1:* -flags.silent \\SEEN \\seen $Work").args).toMatchObject({
      action: "remove",
      silent: true,
      flags: ["\\Seen", "$Work"],
    });
    expect(ok("a STORE 2 FLAGS ()").args).toMatchObject({ action: "set", flags: [] });
    expect(ok("a STORE 2 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Answered \\X-Ext)").args).toMatchObject({
      unchangedSince: 320162338n,
      flags: ["\\Answered", "\\X-Ext"],
    });
  });

  it("refuses unknown items, \\Recent and \\*", () => {
    expect(bad("a STORE 1 FLAGZ (\\Seen)").message).toMatch(/unknown data item "FLAGZ"/);
    expect(bad("a STORE 1 FLAGS (\\Recent)").message).toMatch(/\\Recent cannot be set/);
    expect(bad("a STORE 1 FLAGS \\*").message).toMatch(/\\\* is not a flag/);
    expect(bad("a STORE 1 FLAGS").message).toMatch(/expected a space/);
    expect(bad("a STORE 1 (UNCHANGEDSINCE x) FLAGS ()").message).toMatch(/UNCHANGEDSINCE value/);
  });
});

describe("ID, ENABLE, IDLE", () => {
  it("parses ID NIL and field lists", () => {
    expect(ok("a ID NIL").args).toEqual({ params: null });
    expect(ok('a ID ("name" "Thunderbird" "version" NIL)').args).toEqual({
      params: [
        ["name", "Thunderbird"],
        ["version", null],
      ],
    });
    expect(bad('a ID ("name")').message).toMatch(/expected a space/);
    expect(bad(`a ID (${'"k" "v" '.repeat(31).trim()})`).message).toMatch(/more than 30/);
  });

  it("parses SORT and UID SORT (RFC 5256): criteria, the required charset, search keys", () => {
    const sort = ok("s UID SORT (REVERSE arrival subject) utf-8 UNSEEN FROM amy");
    expect(sort).toMatchObject({ name: "SORT", uid: true });
    expect(sort.args).toEqual({
      criteria: [
        { key: "ARRIVAL", reverse: true },
        { key: "SUBJECT", reverse: false },
      ],
      charset: "UTF-8",
      search: {
        type: "and",
        keys: [
          { type: "flag", flag: "\\Seen", present: false },
          { type: "header", field: "From", value: "amy" },
        ],
      },
    });
    expect(bad("s SORT () UTF-8 ALL").message).toMatch(/sort criteria/);
    expect(bad("s SORT (REVERSE) UTF-8 ALL").message).toMatch(/expected a space|sort key/);
    expect(bad("s SORT (SUBJECT) UTF-8").message).toMatch(/expected a space/);
  });

  it("parses PARTIAL (RFC 9394) in SEARCH and ESORT's SORT RETURN, and as a UID FETCH modifier", () => {
    expect(ok("s SEARCH RETURN (PARTIAL 4:2 COUNT) ALL").args).toMatchObject({
      returnOptions: ["COUNT"],
      partial: { first: 2, last: 4, fromEnd: false },
    });
    expect(ok("s UID SEARCH RETURN (PARTIAL -1:-100) UNDELETED").args).toMatchObject({
      partial: { first: 1, last: 100, fromEnd: true },
    });
    expect(ok("s SORT RETURN (MIN PARTIAL 1:5) (ARRIVAL) UTF-8 ALL").args).toMatchObject({
      returnOptions: ["MIN"],
      partial: { first: 1, last: 5, fromEnd: false },
    });
    expect(ok("s SORT RETURN () (DATE) UTF-8 ALL").args).toMatchObject({
      returnOptions: [],
      partial: undefined,
    });
    expect(ok("s SORT (DATE) UTF-8 ALL").args).toMatchObject({ returnOptions: undefined });
    expect(ok("f UID FETCH 1:* (FLAGS) (PARTIAL -1:-30)").args).toMatchObject({
      partial: { first: 1, last: 30, fromEnd: true },
    });
    for (const bad_ of ["PARTIAL 1", "PARTIAL 1:*", "PARTIAL *:1", "PARTIAL 0:5", "PARTIAL -1:5", "PARTIAL"])
      expect(bad(`s SEARCH RETURN (${bad_}) ALL`).message).toMatch(/partial range|expected/);
    expect(bad("s SEARCH RETURN (PARTIAL 1:5 ALL) ALL").message).toMatch(/PARTIAL and ALL/);
    expect(bad("s SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL").message).toMatch(/PARTIAL given twice/);
  });

  it("parses UPDATE and CONTEXT (RFC 5267 4) and CANCELUPDATE", () => {
    expect(ok("s SEARCH RETURN (UPDATE ALL CONTEXT) SEEN").args).toMatchObject({
      returnOptions: ["UPDATE", "ALL"],
    });
    expect(bad("s SEARCH RETURN (UPDATE UPDATE) SEEN").message).toMatch(/UPDATE given twice/);
    expect(ok("s SORT RETURN (UPDATE COUNT) (DATE) UTF-8 ALL").args).toMatchObject({
      returnOptions: ["UPDATE", "COUNT"],
    });
    expect(ok('c CANCELUPDATE "A1" "B.2"').args).toEqual({ tags: ["A1", "B.2"] });
    expect(bad("c CANCELUPDATE").message).toMatch(/names no search tag/);
  });

  it("parses THREAD and UID THREAD (RFC 5256)", () => {
    expect(ok("t UID THREAD references UTF-8 ALL")).toMatchObject({
      name: "THREAD",
      uid: true,
      args: { algorithm: "REFERENCES", charset: "UTF-8", search: { type: "all" } },
    });
    expect(refused("t THREAD REFERENCES ALL").message).toMatch(/expected a space|charset/);
  });

  it("parses COMPRESS and its mechanism (RFC 4978)", () => {
    expect(ok("z COMPRESS deflate").args).toEqual({ mechanism: "DEFLATE" });
    expect(bad("z COMPRESS").message).toMatch(/expected a space/);
    expect(bad("z COMPRESS DEFLATE extra").message).toMatch(/unexpected/);
  });

  it("parses ENABLE capability names", () => {
    expect(ok("a ENABLE condstore QRESYNC").args).toEqual({ capabilities: ["CONDSTORE", "QRESYNC"] });
    expect(bad("a ENABLE").message).toMatch(/expected a space/);
  });
});

describe("REPLACE (RFC 8508)", () => {
  it("reads a message number or UID, the mailbox and one APPEND message", () => {
    const command = ok('a UID REPLACE 42 Drafts (\\Draft) "05-Mar-2024 09:01:02 +0000" {5+}\r\nHello\r\n');
    expect(command).toMatchObject({
      name: "REPLACE",
      uid: true,
      args: {
        sequenceSet: { kind: "ranges", ranges: [{ start: 42, stop: 42 }] },
        mailbox: "Drafts",
        message: { flags: ["\\Draft"], content: { kind: "literal", binary: false } },
      },
    });
    expect(ok("a REPLACE * INBOX ~{1+}\r\nx\r\n")).toMatchObject({
      uid: false,
      args: { sequenceSet: { ranges: [{ start: "*", stop: "*" }] }, message: { content: { binary: true } } },
    });
  });

  it("refuses sets, zero, a missing message and a second message", () => {
    expect(bad("a REPLACE 1:2 INBOX {1+}\r\nx\r\n").message).toMatch(/expected a space/);
    expect(bad("a REPLACE 0 INBOX {1+}\r\nx\r\n").message).toMatch(/must not be 0/);
    expect(bad("a REPLACE 1 INBOX").message).toMatch(/expected a space/);
    expect(bad("a REPLACE 1 INBOX {1+}\r\nx {1+}\r\ny\r\n").message).toMatch(/unexpected/);
  });
});
