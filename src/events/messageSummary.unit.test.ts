import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeEncodedWords } from "../mime/charset.ts";
import { headerBytes, splitAddressList } from "../mime/headerFields.ts";
import { headerSummarySchema } from "./domain/common.ts";
import { summarizeMessage } from "./messageSummary.ts";

const crlf = (lines: string[]) => Buffer.from(lines.join("\r\n"), "utf8");

describe("summarizeMessage", () => {
  it("summarizes a plain message from its header, decoding RFC 2047 words", () => {
    const message = crlf([
      "Message-ID: <1234@example.org>",
      "Date: Tue, 3 Mar 2026 10:15:00 +0100 (CET)",
      "From: =?UTF-8?Q?Ren=C3=A9_Dupont?= <rene@example.org>",
      'To: "Doe, Jane" <jane@example.com>, bob@example.com',
      "Cc: team: a@example.com, b@example.com;, carol@example.com",
      "Subject: =?ISO-8859-1?B?SGV5LCDgIGJpZW509HQ=?= and",
      " =?UTF-8?Q?caf=C3=A9?=",
      "In-Reply-To: <0@example.org>",
      "",
      "Subject: not a header, this is the body",
    ]);
    const summary = summarizeMessage(message);
    expect(summary.size).toBe(message.length);
    expect(summary.headerSummary).toEqual({
      messageId: "<1234@example.org>",
      date: "2026-03-03T09:15:00.000Z",
      from: ["René Dupont <rene@example.org>"],
      to: ['"Doe, Jane" <jane@example.com>', "bob@example.com"],
      cc: ["team: a@example.com, b@example.com;", "carol@example.com"],
      subject: "Hey, à bientôt and café",
      inReplyTo: "<0@example.org>",
    });
  });

  it("accepts bare LF line ends and a message without a body", () => {
    const summary = summarizeMessage(Buffer.from("Subject: hi\nFrom: a@b.example\n"));
    expect(summary.headerSummary.subject).toBe("hi");
    expect(summary.headerSummary.from).toEqual(["a@b.example"]);
  });

  it("gives nulls and empty lists for a message without those fields", () => {
    const summary = summarizeMessage(Buffer.from("\r\nonly a body"));
    expect(summary.headerSummary).toEqual({
      messageId: null,
      date: null,
      from: [],
      to: [],
      cc: [],
      subject: null,
      inReplyTo: null,
    });
  });

  it("leaves an unknown charset or a broken encoded word as written", () => {
    expect(decodeEncodedWords("=?x-unknown?Q?abc?= ok")).toBe("=?x-unknown?Q?abc?= ok");
    expect(decodeEncodedWords("=?utf-8?B?!!!?=")).toBe("=?utf-8?B?!!!?=");
  });

  it("keeps an unparseable date out of the summary", () => {
    expect(summarizeMessage(Buffer.from("Date: yesterday-ish\r\n\r\n")).headerSummary.date).toBeNull();
  });

  it("reads the header only", () => {
    expect(headerBytes(Buffer.from("A: 1\r\n\r\nB: 2")).toString()).toBe("A: 1\r\n");
  });

  it("splits address lists only at top-level commas", () => {
    expect(splitAddressList('a@x, "b, c" <b@x> (note, here), <d@x>')).toEqual([
      "a@x",
      '"b, c" <b@x> (note, here)',
      "<d@x>",
    ]);
  });

  it("never throws on random bytes, and always yields a valid summary", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const summary = summarizeMessage(Buffer.from(bytes));
        expect(summary.size).toBe(bytes.length);
        headerSummarySchema.parse(summary.headerSummary);
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws on header-like random text with encoded words", () => {
    const headerish = fc
      .array(
        fc.oneof(
          fc.constantFrom(
            "From: ",
            "To: ",
            "Subject: ",
            "Date: ",
            "\r\n",
            "\n",
            " ",
            ",",
            '"',
            "<",
            ">",
            "(",
            ")",
          ),
          fc.constantFrom("=?", "?=", "?Q?", "?B?", "utf-8", "=C3", "=?utf-8?B?", ":", ";", "\\"),
          fc.string({ maxLength: 8 }),
        ),
        { maxLength: 80 },
      )
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(headerish, (text) => {
        headerSummarySchema.parse(summarizeMessage(Buffer.from(text)).headerSummary);
      }),
      { numRuns: 2000 },
    );
  });
});
