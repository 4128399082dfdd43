import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseMessageStructure } from "./parseMessageStructure.ts";
import { filterHeaderFields, sectionRange } from "./sectionRange.ts";

// The message of RFC 3501 6.4.5's example, written out in test/fixtures/mime/rfc3501-example.eml.
const raw = readFileSync(new URL("../../test/fixtures/mime/rfc3501-example.eml", import.meta.url));
const structure = parseMessageStructure(raw);

function section(spec: string): string | null {
  const range = sectionRange(structure, spec);
  return range === null ? null : raw.subarray(range.start, range.end).toString("latin1");
}

describe("sectionRange on the RFC 3501 6.4.5 example", () => {
  it("addresses the whole message, its header and its text", () => {
    expect(section("")).toBe(raw.toString("latin1"));
    expect(section("HEADER")).toMatch(/^From: Fred Foobar.*BOUNDARY="outer"\r\n\r\n$/s);
    expect(section("TEXT")).toMatch(/^preamble\r\n--outer\r\n.*--outer--\r\nepilogue\r\n$/s);
    expect(section("HEADER.FIELDS")).toBe(section("HEADER"));
    expect(section("header.fields.not (Subject)")).toBe(section("HEADER"));
  });

  it("addresses the parts of the top-level multipart, without the CRLF before a delimiter", () => {
    expect(section("1")).toBe("part 1 text");
    expect(section("1.MIME")).toBe("Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n");
    expect(section("2")).toBe("AAECAwQ=");
    expect(section("2.MIME")).toMatch(/^Content-Type: APPLICATION\/OCTET-STREAM\r\n.*two.bin"\r\n\r\n$/s);
  });

  it("treats a MESSAGE/RFC822 part as the encapsulated message", () => {
    expect(section("3")).toMatch(/^From: inner3@example.org\r\n.*--b3--$/s);
    expect(section("3.HEADER")).toBe(
      "From: inner3@example.org\r\nSubject: part 3\r\nContent-Type: multipart/mixed; boundary=b3\r\n\r\n",
    );
    expect(section("3.TEXT")).toMatch(/^--b3\r\n.*--b3--$/s);
    expect(section("3.1")).toBe("part 3.1 text");
    expect(section("3.2")).toBe("part 3.2 bytes");
    expect(section("3.MIME")).toBe("Content-Type: MESSAGE/RFC822\r\n\r\n");
  });

  it("walks nested multiparts and messages", () => {
    expect(section("4")).toMatch(/^--four\r\n.*--four--$/s);
    expect(section("4.1")).toBe("GIF89a");
    expect(section("4.1.MIME")).toBe("Content-Type: IMAGE/GIF\r\nContent-ID: <gif@example>\r\n\r\n");
    expect(section("4.2.HEADER")).toMatch(/^From: inner42@example.org\r\n.*boundary="b42"\r\n\r\n$/s);
    expect(section("4.2.TEXT")).toMatch(/^--b42\r\n.*--b42--$/s);
    expect(section("4.2.1")).toBe("part 4.2.1 text");
    expect(section("4.2.2")).toMatch(/^--b422\r\n.*--b422--$/s);
    expect(section("4.2.2.1")).toBe("part 4.2.2.1 text");
    expect(section("4.2.2.2")).toBe("part 4.2.2.2 <bold>rich</bold>");
    expect(section("4.2.2.2.MIME")).toBe("Content-Type: text/richtext\r\n\r\n");
  });

  it("returns null for parts that do not exist and for malformed specs", () => {
    for (const spec of [
      "5",
      "0",
      "1.1",
      "2.1",
      "4.3",
      "4.2.3",
      "1.HEADER",
      "4.TEXT",
      "MIME",
      "01",
      "1..2",
      "BODY",
    ]) {
      expect(sectionRange(structure, spec), spec).toBeNull();
    }
  });
});

describe("sectionRange on non-multipart messages", () => {
  it("makes the body part 1 of a single-part message", () => {
    const msg = Buffer.from("Subject: hi\r\nContent-Type: text/plain\r\n\r\nhello\r\n");
    const s = parseMessageStructure(msg);
    const text = (spec: string) => {
      const r = sectionRange(s, spec);
      return r && msg.subarray(r.start, r.end).toString();
    };
    expect(text("1")).toBe("hello\r\n");
    expect(text("TEXT")).toBe("hello\r\n");
    expect(text("1.MIME")).toBe("Subject: hi\r\nContent-Type: text/plain\r\n\r\n");
    expect(text("1.1")).toBeNull();
    expect(text("2")).toBeNull();
  });

  it("lets a top-level message/rfc822 expose the encapsulated message as 1", () => {
    const msg = Buffer.from(
      "Subject: outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n",
    );
    const s = parseMessageStructure(msg);
    const text = (spec: string) => {
      const r = sectionRange(s, spec);
      return r && msg.subarray(r.start, r.end).toString();
    };
    expect(text("1")).toBe("Subject: inner\r\n\r\ninner body\r\n");
    expect(text("1.HEADER")).toBe("Subject: inner\r\n\r\n");
    expect(text("1.TEXT")).toBe("inner body\r\n");
    expect(text("1.1")).toBe("inner body\r\n");
  });
});

describe("filterHeaderFields", () => {
  const header = Buffer.from(
    "Received: from a\r\n\tby b\r\nSubject: long\r\n subject\r\nFrom: x@y\r\nsubject: second\r\n\r\n",
  );

  it("keeps the selected fields with their folded lines, then a blank line", () => {
    expect(filterHeaderFields(header, ["SUBJECT"], false).toString()).toBe(
      "Subject: long\r\n subject\r\nsubject: second\r\n\r\n",
    );
  });

  it("drops the selected fields for HEADER.FIELDS.NOT", () => {
    expect(filterHeaderFields(header, ["subject", "received"], true).toString()).toBe("From: x@y\r\n\r\n");
  });

  it("returns just the blank line when nothing matches", () => {
    expect(filterHeaderFields(header, ["x-none"], false).toString()).toBe("\r\n");
  });

  it("terminates a last field that lacks a line break", () => {
    expect(filterHeaderFields(Buffer.from("To: a@b"), ["to"], false).toString()).toBe("To: a@b\r\n\r\n");
  });
});
