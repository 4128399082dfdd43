import { describe, expect, it } from "vitest";
import { decodeEncodedWords, decodeQuotedPrintable } from "./charset.ts";

const qp = (text: string) => decodeQuotedPrintable(Buffer.from(text, "latin1")).toString("latin1");

describe("decodeQuotedPrintable (RFC 2045 6.7)", () => {
  it("decodes imaptest's fetch-binary-mime-qp part to the 65 octets a client expects", () => {
    const encoded = [
      "hello  ",
      "bar=",
      "",
      "foo\t=",
      "bar",
      "foo\t \t= ",
      "=62",
      "foo = \t",
      "bar",
      "foo =",
      "=62",
      "foo  ",
      "bar=",
      "",
      "foo_bar",
      "",
    ].join("\r\n");
    const decoded = qp(encoded);
    expect(decoded).toBe(
      "hello\r\nbar\r\nfoo\tbar\r\nfoo\t \tb\r\nfoo bar\r\nfoo b\r\nfoo\r\nbar\r\nfoo_bar\r\n",
    );
    expect(decoded.length).toBe(65);
  });

  it("deletes transport padding at the end of a line, keeps whitespace inside it", () => {
    expect(qp("a b \t\r\nc")).toBe("a b\r\nc");
    expect(qp("a=20\r\n")).toBe("a \r\n");
  });

  it("joins a soft line break, with or without padding after the =, over CRLF or bare LF", () => {
    expect(qp("ab=\r\ncd")).toBe("abcd");
    expect(qp("ab= \t\r\ncd")).toBe("abcd");
    expect(qp("ab=\ncd\n")).toBe("abcd\n");
    expect(qp("last=")).toBe("last");
  });

  it("decodes escapes in either case and keeps a broken escape as written", () => {
    expect(qp("caf=C3=a9")).toBe("caf\xc3\xa9");
    expect(qp("1=2 and =G1 and =4")).toBe("1=2 and =G1 and =4");
  });
});

describe("decodeEncodedWords (RFC 2047), the one decoder the events and the views share", () => {
  it("decodes B and Q words in the charsets iconv-lite knows, UTF-7 and ISO-8859-1 among them", () => {
    expect(decodeEncodedWords("=?UTF-7?Q?+AOk-?=")).toBe("é");
    expect(decodeEncodedWords("=?ISO-8859-1?Q?caf=E9_cr=E8me?=")).toBe("café crème");
    expect(decodeEncodedWords("=?utf-8?B?w6ljbGFpcg==?=")).toBe("éclair");
  });

  it("joins adjacent encoded words, keeping the space next to plain text (RFC 2047 6.2)", () => {
    expect(decodeEncodedWords("=?utf-8?Q?a?= =?utf-8?Q?b?=")).toBe("ab");
    expect(decodeEncodedWords("x =?utf-8?Q?a?= y")).toBe("x a y");
  });

  it("takes the charset before an RFC 2231 language suffix", () => {
    expect(decodeEncodedWords("=?US-ASCII*EN?Q?Keith_Moore?=")).toBe("Keith Moore");
  });

  it("leaves a damaged B word, or an unknown charset, as written", () => {
    expect(decodeEncodedWords("=?utf-8?B?w6l*?=")).toBe("=?utf-8?B?w6l*?=");
    expect(decodeEncodedWords("=?utf-8?B?w?=")).toBe("=?utf-8?B?w?=");
    expect(decodeEncodedWords("=?x-unknown?Q?abc?= ok")).toBe("=?x-unknown?Q?abc?= ok");
  });
});
