import { describe, expect, it } from "vitest";
import { parseResponses, ResponseSyntaxError } from "./responseParser.ts";

const parse = (text: string) => parseResponses(Buffer.from(text, "latin1"));

describe("the strict response parser", () => {
  it("reads well-formed responses, and stops before an incomplete one", () => {
    const stream =
      "* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n" +
      "* CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN\r\n" +
      "* FLAGS (\\Answered \\Seen $Forwarded)\r\n" +
      "* OK [PERMANENTFLAGS (\\Seen \\*)] flags\r\n" +
      "* 3 EXISTS\r\n" +
      '* LIST (\\HasNoChildren) "/" "A \\"b\\""\r\n' +
      "* STATUS INBOX (MESSAGES 3 UIDNEXT 4)\r\n" +
      "* SEARCH 1 2 (MODSEQ 7)\r\n" +
      '* ESEARCH (TAG "a") UID ALL 1:3\r\n' +
      "* THREAD (1)(2 3 (4)(5))\r\n" +
      '* 1 FETCH (UID 1 FLAGS (\\Seen) INTERNALDATE " 1-Jan-2024 10:00:00 +0000" RFC822.SIZE 5 MODSEQ (4) ' +
      'ENVELOPE (NIL "s" (("A" NIL "a" "x.org")) NIL NIL NIL NIL NIL NIL "<i@x>") ' +
      'BODYSTRUCTURE (("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1)("TEXT" "HTML" NIL NIL NIL "7BIT" 1 1) "ALTERNATIVE") BODY[HEADER.FIELDS (SUBJECT)]<0> {5}\r\nhello)\r\n' +
      "+ go ahead\r\n" +
      "a1 OK [READ-WRITE] SELECT completed\r\n" +
      "a2 NO [NONEXISTENT] no such mailbox\r\n" +
      "a3 OK FETCH comp";
    const { responses, consumed } = parse(stream);
    expect(responses.map((r) => `${r.kind}:${r.word}`)).toEqual([
      "untagged:OK",
      "untagged:CAPABILITY",
      "untagged:FLAGS",
      "untagged:OK",
      "untagged:EXISTS",
      "untagged:LIST",
      "untagged:STATUS",
      "untagged:SEARCH",
      "untagged:ESEARCH",
      "untagged:THREAD",
      "untagged:FETCH",
      "continuation:+",
      "tagged:OK",
      "tagged:NO",
    ]);
    expect(stream.slice(consumed)).toBe("a3 OK FETCH comp");
  });

  it.each([
    ["an unescaped quote", '* LIST () "/" "a"b"\r\n'],
    ["a bad escape", '* LIST () "/" "a\\b"\r\n'],
    ["a bare LF", "* OK fine\n"],
    ["a tagged status without text", "a1 OK\r\n"],
    ["a tagged response that is not a status", "a1 FETCH done\r\n"],
    ["two spaces", "* 3  EXISTS\r\n"],
    ["an unbalanced list", "* FLAGS (\\Seen\r\n"],
    ["an INTERNALDATE of another format", '* 1 FETCH (INTERNALDATE "2024-01-01T10:00:00Z")\r\n'],
    ["an ENVELOPE of nine fields", '* 1 FETCH (ENVELOPE (NIL "s" NIL NIL NIL NIL NIL NIL NIL))\r\n'],
    ["an unknown FETCH item", "* 1 FETCH (COLOUR blue)\r\n"],
    ["a literal longer than announced", "* 1 FETCH (BODY[] {2}\r\nhello)\r\n"],
    ["a CAPABILITY without IMAP4rev1", "* CAPABILITY IDLE\r\n"],
    ["an odd STATUS list", "* STATUS INBOX (MESSAGES)\r\n"],
  ])("refuses %s", (_what, text) => {
    expect(() => parse(text)).toThrow(ResponseSyntaxError);
  });
});
