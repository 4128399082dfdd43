import { type AddressObject, simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../test/fixtures/mime/corpus.ts";
import { parseAddressList } from "./addressList.ts";
import { buildEnvelope } from "./buildEnvelope.ts";
import { decodeEncodedWords } from "./charset.ts";
import { parseMessageStructure } from "./parseMessageStructure.ts";
import type { EnvelopeAddress } from "./types.ts";

const address = (
  name: string | null,
  mailbox: string | null,
  host: string | null,
  adl: string | null = null,
) => ({
  name,
  adl,
  mailbox,
  host,
});

describe("parseAddressList", () => {
  it("parses display names, quoted names, comments and bare addresses", () => {
    expect(
      parseAddressList('"Doe, John" <john@x.example>, jane@y.example (Jane Roe), <z@z.example>'),
    ).toEqual([
      address("Doe, John", "john", "x.example"),
      address("Jane Roe", "jane", "y.example"),
      address(null, "z", "z.example"),
    ]);
  });

  it("keeps encoded words and words spaced as written", () => {
    expect(parseAddressList("=?UTF-8?B?w7Y=?= Q. Public <q@p.example>")).toEqual([
      address("=?UTF-8?B?w7Y=?= Q. Public", "q", "p.example"),
    ]);
  });

  it("puts an obsolete source route in adl", () => {
    expect(parseAddressList("Route <@relay1.example,@relay2.example:user@host.example>")).toEqual([
      address("Route", "user", "host.example", "@relay1.example,@relay2.example"),
    ]);
  });

  it("marks groups with start and end entries", () => {
    expect(parseAddressList("A Group: a@b.example, c@d.example;, e@f.example")).toEqual([
      address(null, "A Group", null),
      address(null, "a", "b.example"),
      address(null, "c", "d.example"),
      address(null, null, null),
      address(null, "e", "f.example"),
    ]);
    expect(parseAddressList("undisclosed-recipients:;")).toEqual([
      address(null, "undisclosed-recipients", null),
      address(null, null, null),
    ]);
  });

  it("gives an address without domain an empty host, never NIL (which would mean a group)", () => {
    expect(parseAddressList("postmaster")).toEqual([address(null, "postmaster", "")]);
  });

  it("returns NIL for an empty list and never throws on junk", () => {
    expect(parseAddressList("")).toBeNull();
    expect(parseAddressList(" , ,")).toBeNull();
    for (const junk of ["<<<", ":::;;;", '"unterminated', "a <b@c> x: y", "(((", "@", "a@b@c", ">;:,<@"]) {
      expect(() => parseAddressList(junk), junk).not.toThrow();
    }
  });
});

describe("buildEnvelope", () => {
  it("defaults Sender and Reply-To to From when absent or empty (RFC 3501 7.4.2)", () => {
    const envelope = buildEnvelope(Buffer.from("From: a@b.example\r\nReply-To:\r\n\r\n"));
    expect(envelope.sender).toEqual(envelope.from);
    expect(envelope.replyTo).toEqual(envelope.from);
    const own = buildEnvelope(Buffer.from("From: a@b.example\r\nSender: s@b.example\r\n\r\n"));
    expect(own.sender).toEqual([address(null, "s", "b.example")]);
  });

  it("unfolds values but keeps them raw", () => {
    const envelope = buildEnvelope(
      Buffer.from(
        "Subject: =?utf-8?Q?a?=\r\n  folded\r\nIn-Reply-To: <x@y>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n",
      ),
    );
    expect(envelope.subject).toBe("=?utf-8?Q?a?=  folded");
    expect(envelope.inReplyTo).toBe("<x@y>");
    expect(envelope.date).toBe("Mon, 1 Jan 2024 00:00:00 +0000");
    expect(envelope.messageId).toBeNull();
  });
});

/** mailparser's addresses, groups flattened, as "name <mailbox@host>" strings. */
function referenceAddresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const entries = (Array.isArray(value) ? value : value ? [value] : []).flatMap((v) => v.value);
  return entries
    .flatMap((e) => (e.group ? e.group : [e]))
    .filter((e) => e.address)
    .map((e) => `${e.name} <${e.address}>`);
}

function ourAddresses(list: EnvelopeAddress[] | null): string[] {
  return (list ?? [])
    .filter((a) => a.host !== null)
    .map((a) => `${decodeEncodedWords(a.name ?? "")} <${a.mailbox}@${a.host}>`);
}

describe("ENVELOPE against mailparser's parsed header", () => {
  it("agrees on subject, from, to and message-id once decoded, for the whole corpus", async () => {
    let checked = 0;
    for (const message of generateCorpus().filter((m) => m.wellFormed)) {
      const { envelope } = parseMessageStructure(message.raw);
      const mail = await simpleParser(message.raw, { skipHtmlToText: true, skipTextToHtml: true });
      const where = message.name;
      // ENVELOPE keeps the folding whitespace as written (a tab stays a tab); mailparser collapses it.
      const spaces = (s: string) => s.replace(/\s+/g, " ");
      expect(spaces(decodeEncodedWords(envelope.subject ?? "")), where).toBe(spaces(mail.subject ?? ""));
      expect(envelope.messageId, where).toBe(mail.messageId);
      expect(ourAddresses(envelope.from), where).toEqual(referenceAddresses(mail.from));
      expect(ourAddresses(envelope.to), where).toEqual(referenceAddresses(mail.to));
      checked++;
    }
    expect(checked).toBeGreaterThan(180);
  });
});
