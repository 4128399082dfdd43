import { describe, expect, it } from "vitest";
import { buildEnvelope } from "../../mime/buildEnvelope.ts";
import { parseMessageStructure } from "../../mime/parseMessageStructure.ts";
import { encodeStringText as imapString } from "./encode.ts";
import { encodeBodyStructure, encodeEnvelope } from "./mimeEncode.ts";

const crlf = (lines: string[]) => Buffer.from(lines.join("\r\n"), "utf8");
const body = (raw: Buffer) => encodeBodyStructure(parseMessageStructure(raw), { extensible: false });
const bodystructure = (raw: Buffer) => encodeBodyStructure(parseMessageStructure(raw), { extensible: true });

// Expected strings written by hand from RFC 3501 7.4.2 and its formal syntax (section 9).
describe("encodeBodyStructure", () => {
  it("writes a single text part: charset us-ascii by default, size in octets and lines", () => {
    const raw = crlf(["Subject: hi", "", "Hello, world"]);
    expect(body(raw)).toBe('("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 12 1)');
    expect(bodystructure(raw)).toBe(
      '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL)',
    );
  });

  it("reproduces the RFC 3501 7.4.2 BODY example", () => {
    const text = [...Array.from({ length: 22 }, () => "x".repeat(48)), "y".repeat(52)]; // 1152 octets, 23 lines
    const diff = [...Array.from({ length: 72 }, () => "A".repeat(61)), "B".repeat(18)]; // 4554 octets, 73 lines
    const raw = crlf([
      "Content-Type: MULTIPART/MIXED; BOUNDARY=sep",
      "",
      "--sep",
      "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII",
      "",
      ...text,
      "--sep",
      'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME="cc.diff"',
      "Content-ID: <960723163407.20117h@cac.washington.edu>",
      "Content-Description: Compiler diff",
      "Content-Transfer-Encoding: BASE64",
      "",
      ...diff,
      "--sep--",
      "",
    ]);
    expect(body(raw)).toBe(
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)' +
        '("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" ' +
        '"Compiler diff" "BASE64" 4554 73) "MIXED")',
    );
  });

  it("adds multipart extension data: parameters, disposition, language, location", () => {
    const raw = crlf([
      'Content-Type: multipart/alternative; boundary="XX"',
      "",
      "--XX",
      "Content-Type: text/plain; charset=UTF-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "caf=C3=A9",
      "--XX",
      "Content-Type: text/html; charset=UTF-8",
      "",
      "<p>café</p>",
      "--XX--",
      "",
    ]);
    expect(bodystructure(raw)).toBe(
      '(("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "QUOTED-PRINTABLE" 9 1 NIL NIL NIL NIL)' +
        '("TEXT" "HTML" ("CHARSET" "UTF-8") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "XX") NIL NIL NIL)',
    );
  });

  it("writes every body field and single-part extension of an attachment", () => {
    const raw = crlf([
      "Content-Type: multipart/mixed; boundary=XX",
      "",
      "--XX",
      'Content-Type: application/pdf; name="a b.pdf"',
      "Content-Transfer-Encoding: base64",
      "Content-ID: <id1@x>",
      'Content-Description: The "report"',
      'Content-Disposition: attachment; filename="a b.pdf"; size=3',
      "Content-Language: en, de",
      "Content-Location: http://x/a.pdf",
      "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==",
      "",
      "AAAA",
      "--XX--",
    ]);
    expect(bodystructure(raw)).toBe(
      '(("APPLICATION" "PDF" ("NAME" "a b.pdf") "<id1@x>" "The \\"report\\"" "BASE64" 4 ' +
        '"Q2hlY2sgSW50ZWdyaXR5IQ==" ("ATTACHMENT" ("FILENAME" "a b.pdf" "SIZE" "3")) ("en" "de") "http://x/a.pdf")' +
        ' "MIXED" ("BOUNDARY" "XX") NIL NIL NIL)',
    );
  });

  it("writes a message/rfc822 part with the envelope, body and lines of the encapsulated message", () => {
    const raw = crlf([
      "Content-Type: multipart/mixed; boundary=o",
      "",
      "--o",
      "Content-Type: message/rfc822",
      "",
      "From: A <a@x.example>",
      "Subject: inner",
      "",
      "hi",
      "--o--",
    ]);
    const from = '(("A" NIL "a" "x.example"))';
    expect(body(raw)).toBe(
      `(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 43 (NIL "inner" ${from} ${from} ${from} NIL NIL NIL NIL NIL) ` +
        '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 2 1) 4) "MIXED")',
    );
  });

  it("keeps RFC 2231 continuations as one extended parameter", () => {
    const raw = crlf([
      "Content-Type: application/octet-stream",
      "Content-Disposition: attachment; filename*0*=UTF-8''%C3%BC; filename*1*=ber.txt",
      "",
      "x",
    ]);
    expect(bodystructure(raw)).toBe(
      '("APPLICATION" "OCTET-STREAM" NIL NIL NIL "7BIT" 1 NIL ("ATTACHMENT" ("FILENAME*" "UTF-8\'\'%C3%BCber.txt")) NIL NIL)',
    );
  });
});

describe("encodeEnvelope", () => {
  it("reproduces the RFC 3501 7.4.2 ENVELOPE example", () => {
    const header = crlf([
      "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
      "From: Terry Gray <gray@cac.washington.edu>",
      "Subject: IMAP4rev1 WG mtg summary and minutes",
      "To: imap@cac.washington.edu",
      "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>",
      "Message-Id: <B27397-0100000@cac.washington.edu>",
      "",
      "",
    ]);
    expect(encodeEnvelope(buildEnvelope(header))).toBe(
      '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
        '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ' +
        '"<B27397-0100000@cac.washington.edu>")',
    );
  });

  it("writes groups as start and end markers, and an empty message as all NIL", () => {
    const header = crlf(['To: x@y.example, Team: a@b.example, "B, b" <c@d.example>;, Hidden:;', "", ""]);
    expect(encodeEnvelope(buildEnvelope(header))).toBe(
      '(NIL NIL NIL NIL NIL ((NIL NIL "x" "y.example")(NIL NIL "Team" NIL)(NIL NIL "a" "b.example")' +
        '("B, b" NIL "c" "d.example")(NIL NIL NIL NIL)(NIL NIL "Hidden" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)',
    );
    expect(encodeEnvelope(buildEnvelope(Buffer.alloc(0)))).toBe("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
  });

  it("sends 8-bit values as literals counted in bytes, encoded words as they are", () => {
    const header = crlf(["Subject: Grüße", "From: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.se>", "", ""]);
    const from = '(("=?UTF-8?Q?Zo=C3=AB?=" NIL "zoe" "example.se"))';
    expect(encodeEnvelope(buildEnvelope(header))).toBe(
      `(NIL {7}\r\nGrüße ${from} ${from} ${from} NIL NIL NIL NIL NIL)`,
    );
  });
});

describe("imapString", () => {
  it("quotes 7-bit text, escaping quoted-specials", () => {
    expect(imapString('a "b" \\ c')).toBe('"a \\"b\\" \\\\ c"');
    expect(imapString("")).toBe('""');
  });

  it("uses a literal for CR, LF and 8-bit text", () => {
    expect(imapString("a\r\nb")).toBe("{4}\r\na\r\nb");
    expect(imapString("é")).toBe("{2}\r\né");
  });
});
