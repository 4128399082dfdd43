// What APPEND learns of a message before it is stored: its size and a header summary for the
// event (Message-ID, Date, From, To, Cc, Subject, In-Reply-To), decoded (RFC 2047). Only the
// header bytes are read, by src/mime as the views and search read them, so `history` and FETCH
// show one subject. Malformed input is summarized as well as it can be and never throws: IMAP
// must return what it was given, so the message is stored as-is whatever this makes of it.
import { decodeEncodedWords } from "../mime/charset.ts";
import { headerBytes, MAX_HEADER_BYTES, parseHeaderFields, splitAddressList } from "../mime/headerFields.ts";
import type { HeaderSummary } from "./domain/common.ts";

export { MAX_HEADER_BYTES };

/** Longer header values are cut: the summary is for events and listings, not a copy of the header. */
export const MAX_SUMMARY_FIELD_LENGTH = 998;
/** At most this many addresses per list are kept. */
export const MAX_SUMMARY_ADDRESSES = 100;

export interface MessageSummary {
  size: number;
  headerSummary: HeaderSummary;
}

export function summarizeMessage(message: Buffer): MessageSummary {
  return { size: message.length, headerSummary: summarizeHeader(message) };
}

export function summarizeHeader(message: Buffer): HeaderSummary {
  const fields = parseHeaderFields(headerBytes(message));
  const first = (name: string) => fields.get(name)?.[0];
  const text = (name: string) => {
    const raw = first(name);
    return raw === undefined ? null : clip(decodeEncodedWords(raw).trim());
  };
  const addresses = (name: string) =>
    (fields.get(name) ?? [])
      .flatMap((value) => splitAddressList(value))
      .map((address) => clip(decodeEncodedWords(address).trim()))
      .filter((address) => address.length > 0)
      .slice(0, MAX_SUMMARY_ADDRESSES);
  return {
    messageId: nullIfEmpty(text("message-id")),
    date: parseDate(first("date")),
    from: addresses("from"),
    to: addresses("to"),
    cc: addresses("cc"),
    subject: text("subject"),
    inReplyTo: nullIfEmpty(text("in-reply-to")),
  };
}

/**
 * Cut to MAX_SUMMARY_FIELD_LENGTH, NUL replaced by U+FFFD: the summary goes into jsonb, which
 * cannot hold U+0000 (a header with a NUL byte, or an encoded word of one, made APPEND fail with
 * NO [SERVERBUG]; found by npm run fuzz). The message itself is stored as it came.
 */
const clip = (value: string) => {
  const safe = value.includes("\u0000") ? value.replaceAll("\u0000", "\uFFFD") : value;
  return safe.length > MAX_SUMMARY_FIELD_LENGTH ? safe.slice(0, MAX_SUMMARY_FIELD_LENGTH) : safe;
};
const nullIfEmpty = (value: string | null) => (value === null || value === "" ? null : value);

function parseDate(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  // Comments such as "(UTC)" confuse Date.parse; RFC 5322 allows them anywhere.
  const cleaned = raw.replace(/\([^()]*\)/g, " ").trim();
  const time = Date.parse(cleaned);
  if (Number.isNaN(time)) return null;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
