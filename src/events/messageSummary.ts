// What APPEND learns of a message before it is stored: its size and a header summary for the
// event (Message-ID, Date, From, To, Cc, Subject, In-Reply-To), decoded (RFC 2047). Only the
// header bytes are read. Malformed input is summarized as well as it can be and never throws:
// IMAP must return what it was given, so the message is stored as-is whatever this makes of it.
import type { HeaderSummary } from "./domain/common.ts";

/** Longer header values are cut: the summary is for events and listings, not a copy of the header. */
export const MAX_SUMMARY_FIELD_LENGTH = 998;
/** At most this many addresses per list are kept. */
export const MAX_SUMMARY_ADDRESSES = 100;
/** The header is looked for in this many first bytes (a larger header is summarized up to here). */
export const MAX_HEADER_BYTES = 256 * 1024;

export interface MessageSummary {
  size: number;
  headerSummary: HeaderSummary;
}

export function summarizeMessage(message: Buffer): MessageSummary {
  return { size: message.length, headerSummary: summarizeHeader(message) };
}

/** The header part of a message: up to the first empty line (CRLF or bare LF), or all of it. */
export function headerBytes(message: Buffer): Buffer {
  const limit = Math.min(message.length, MAX_HEADER_BYTES);
  for (let i = 0; i < limit; i++) {
    if (message[i] !== 0x0a) continue;
    if (message[i + 1] === 0x0a) return message.subarray(0, i + 1);
    if (message[i + 1] === 0x0d && message[i + 2] === 0x0a) return message.subarray(0, i + 1);
  }
  return message.subarray(0, limit);
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

/**
 * Field name (lowercased) to its unfolded values, in order. Header bytes are read as UTF-8
 * (RFC 6532) with invalid sequences replaced; lines that are not fields are skipped.
 */
export function parseHeaderFields(header: Buffer): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  const lines = new TextDecoder("utf-8", { fatal: false }).decode(header).split(/\r?\n/);
  let current: { name: string; value: string } | undefined;
  const flush = () => {
    if (!current) return;
    const values = fields.get(current.name) ?? [];
    values.push(current.value);
    fields.set(current.name, values);
    current = undefined;
  };
  for (const line of lines) {
    if ((line.startsWith(" ") || line.startsWith("\t")) && current) {
      // RFC 5322 2.2.3: unfolding removes the CRLF, the whitespace stays.
      if (current.value.length < MAX_SUMMARY_FIELD_LENGTH * 4) current.value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    current = { name, value: line.slice(colon + 1) };
  }
  flush();
  return fields;
}

function parseDate(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  // Comments such as "(UTC)" confuse Date.parse; RFC 5322 allows them anywhere.
  const cleaned = raw.replace(/\([^()]*\)/g, " ").trim();
  const time = Date.parse(cleaned);
  if (Number.isNaN(time)) return null;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;

/**
 * RFC 2047 encoded words to text. Whitespace between two adjacent encoded words is dropped
 * (RFC 2047 6.2); an unknown charset or broken encoding leaves the word as it was.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes("=?")) return value;
  const joined = value.replace(/(\?=)\s+(=\?)/g, "$1$2");
  return joined.replace(ENCODED_WORD, (word, charset: string, encoding: string, encoded: string) => {
    const decoded = decodeWord(charset, encoding, encoded);
    return decoded ?? word;
  });
}

function decodeWord(charset: string, encoding: string, encoded: string): string | undefined {
  // RFC 2231 allows a language suffix: charset*language.
  const label = charset.split("*")[0]!.toLowerCase();
  let bytes: Buffer;
  if (encoding === "B" || encoding === "b") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return undefined;
    bytes = Buffer.from(encoded, "base64");
  } else {
    const text = encoded.replace(/_/g, " ");
    const out: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!;
      const hex = text.slice(i + 1, i + 3);
      if (char === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
        out.push(Number.parseInt(hex, 16));
        i += 2;
      } else {
        for (const byte of Buffer.from(char, "utf8")) out.push(byte);
      }
    }
    bytes = Buffer.from(out);
  }
  try {
    return new TextDecoder(label, { fatal: false }).decode(bytes);
  } catch {
    return undefined; // unknown charset
  }
}

/**
 * Splits an address list at the commas that separate its members: not inside quotes, angle
 * brackets, comments or a group's member list ("team: a@x, b@y;" stays one member).
 */
export function splitAddressList(value: string): string[] {
  const members: string[] = [];
  let depthComment = 0;
  let inQuote = false;
  let inAngle = false;
  let inGroup = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (inQuote) {
      if (char === "\\") i++;
      else if (char === '"') inQuote = false;
      continue;
    }
    if (char === "\\") i++;
    else if (char === '"') inQuote = true;
    else if (char === "(") depthComment++;
    else if (char === ")" && depthComment > 0) depthComment--;
    else if (depthComment > 0) continue;
    else if (char === "<") inAngle = true;
    else if (char === ">") inAngle = false;
    else if (char === ":" && !inAngle) inGroup = true;
    else if (char === ";" && inGroup) inGroup = false;
    else if (char === "," && !inAngle && !inGroup) {
      members.push(value.slice(start, i));
      start = i + 1;
    }
  }
  members.push(value.slice(start));
  return members.map((member) => member.trim()).filter((member) => member.length > 0);
}
