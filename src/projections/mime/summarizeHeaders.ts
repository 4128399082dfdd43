import { type AddressObject, simpleParser } from "mailparser";
import { parseAddressList } from "./addressList.ts";
import { decodeEncodedWords } from "./charset.ts";
import { firstFieldValue, readHeaderBlock } from "./headerBlock.ts";

export interface SummaryAddress {
  name: string;
  address: string;
}

/** The decoded header summary an AppendMessage event carries (DESIGN.md: Events). */
export interface HeaderSummary {
  messageId: string | null;
  /** ISO 8601, or null when the Date header is missing or unparseable. */
  date: string | null;
  from: SummaryAddress[];
  to: SummaryAddress[];
  cc: SummaryAddress[];
  bcc: SummaryAddress[];
  subject: string | null;
  inReplyTo: string | null;
  references: string[];
}

function flattenAddresses(value: AddressObject | AddressObject[] | undefined): SummaryAddress[] {
  if (value === undefined) return [];
  const out: SummaryAddress[] = [];
  // Groups are flattened to their members: the summary lists people, not list syntax.
  const stack = (Array.isArray(value) ? value : [value]).flatMap((v) => v.value).reverse();
  while (stack.length > 0) {
    const entry = stack.pop()!;
    if (entry.group) {
      for (let i = entry.group.length - 1; i >= 0; i--) stack.push(entry.group[i]!);
    } else if (entry.address || entry.name) {
      out.push({ name: entry.name ?? "", address: entry.address ?? "" });
    }
  }
  return out;
}

/**
 * The Date header as ISO 8601, parsed from the header itself: mailparser substitutes the current
 * time for a missing Date, which would make a rebuilt projection differ from the live one.
 */
function isoDate(value: string | null): string | null {
  if (value === null) return null;
  // Drop a trailing comment such as "(PST)", which not every Date parser accepts.
  const date = new Date(value.replace(/\([^)]*\)\s*$/, "").trim());
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function splitReferences(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(/\s+/)).filter((v) => v !== "");
}

/** Our own decoding, for when mailparser rejects a header. */
function fallbackSummary(raw: Buffer): HeaderSummary {
  const block = readHeaderBlock(raw, 0, raw.length);
  const value = (name: string) => firstFieldValue(raw, block.fields, name);
  const addresses = (name: string): SummaryAddress[] =>
    (parseAddressList(value(name)) ?? [])
      .filter((a) => a.host !== null)
      .map((a) => ({
        name: decodeEncodedWords(a.name ?? ""),
        address: a.host === "" ? (a.mailbox ?? "") : `${a.mailbox ?? ""}@${a.host}`,
      }));
  const subject = value("subject");
  return {
    messageId: value("message-id"),
    date: isoDate(value("date")),
    from: addresses("from"),
    to: addresses("to"),
    cc: addresses("cc"),
    bcc: addresses("bcc"),
    subject: subject === null ? null : decodeEncodedWords(subject),
    inReplyTo: value("in-reply-to"),
    references: splitReferences(value("references") ?? undefined),
  };
}

/**
 * A decoded summary of a message's header: encoded words and charsets decoded by mailparser.
 * Only the header is handed to mailparser, so the cost does not grow with the body. Never
 * rejects: when mailparser fails, a simpler decoding of our own is returned.
 */
export async function summarizeHeaders(raw: Buffer): Promise<HeaderSummary> {
  const block = readHeaderBlock(raw, 0, raw.length);
  const header = raw.subarray(0, block.headerEnd);
  try {
    const mail = await simpleParser(Buffer.concat([header, Buffer.from("\r\n")]), {
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipImageLinks: true,
    });
    return {
      messageId: mail.messageId ?? null,
      date: isoDate(firstFieldValue(raw, block.fields, "date")),
      from: flattenAddresses(mail.from),
      to: flattenAddresses(mail.to),
      cc: flattenAddresses(mail.cc),
      bcc: flattenAddresses(mail.bcc),
      subject: mail.subject ?? null,
      inReplyTo: mail.inReplyTo ?? null,
      references: splitReferences(mail.references),
    };
  } catch {
    return fallbackSummary(raw);
  }
}
