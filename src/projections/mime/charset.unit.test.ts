import { describe, expect, it } from "vitest";
import { decodeQuotedPrintable } from "./charset.ts";

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
