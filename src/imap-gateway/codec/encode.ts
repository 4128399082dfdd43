// Encoding of IMAP data for responses: strings (atom / quoted / literal chosen safely), NIL, lists,
// sequence sets, flags, dates. Everything returns wire bytes ready to concatenate.

import type { ImapDate, SequenceSet } from "./commands.ts";
import { MONTHS } from "./dates.ts";
import { encodeMailboxName } from "./mutf7.ts";
import { isAtomChar } from "./scanner.ts";

/** Quoted strings longer than this become literals: long quoted strings are hard on clients' parsers. */
export const MAX_QUOTED_LENGTH = 1024;

export interface StringEncodingOptions {
  /** RFC 6855 UTF8=ACCEPT is enabled: 8-bit UTF-8 may be sent in quoted strings. */
  readonly utf8?: boolean;
}

const CRLF = "\r\n";

export function isAtom(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) if (!isAtomChar(value.charCodeAt(i))) return false;
  return true;
}

/** Can these bytes go in a quoted string? No CR, LF, NUL; 8-bit only with UTF8=ACCEPT. */
function isQuotable(bytes: Buffer, utf8: boolean): boolean {
  if (bytes.length > MAX_QUOTED_LENGTH) return false;
  for (const b of bytes) {
    if (b === 0x00 || b === 0x0a || b === 0x0d) return false;
    if (b >= 0x80 && !utf8) return false;
  }
  return true;
}

function quoted(bytes: Buffer): Buffer {
  const parts: number[] = [0x22];
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) parts.push(0x5c);
    parts.push(b);
  }
  parts.push(0x22);
  return Buffer.from(parts);
}

function literal(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{${bytes.length}}${CRLF}`, "latin1"), bytes]);
}

function toBytes(value: string | Buffer): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : value;
}

/** string = quoted / literal: quoted when safe and short, a literal otherwise. */
export function encodeString(value: string | Buffer, options: StringEncodingOptions = {}): Buffer {
  const bytes = toBytes(value);
  return isQuotable(bytes, options.utf8 ?? false) ? quoted(bytes) : literal(bytes);
}

/**
 * string as text, for the long responses built as strings (ENVELOPE, BODYSTRUCTURE): the same
 * rules as encodeString, a literal's n counting UTF-8 bytes, so the text is written as UTF-8.
 * One pass over the characters: an ENVELOPE FETCH of a large mailbox encodes millions of strings.
 */
export function encodeStringText(value: string, options: StringEncodingOptions = {}): string {
  // TEXT-CHAR of RFC 3501 is any 7-bit CHAR except CR and LF (NUL is not a CHAR either).
  const utf8 = options.utf8 ?? false;
  let escapes = false;
  let literal = value.length > MAX_QUOTED_LENGTH;
  for (let i = 0; i < value.length && !literal; i++) {
    const code = value.charCodeAt(i);
    if (code === 0 || code === 10 || code === 13 || (code > 0x7f && !utf8)) literal = true;
    else if (code === 34 || code === 92) escapes = true;
  }
  if (literal || (utf8 && Buffer.byteLength(value, "utf8") > MAX_QUOTED_LENGTH)) {
    return `{${Buffer.byteLength(value, "utf8")}}${CRLF}${value}`;
  }
  return escapes ? `"${value.replace(/[\\"]/g, "\\$&")}"` : `"${value}"`;
}

/** nstring as text: NIL or encodeStringText. */
export function encodeNStringText(value: string | null, options: StringEncodingOptions = {}): string {
  return value === null ? "NIL" : encodeStringText(value, options);
}

/** astring: a bare atom when the value is one, else a string. */
export function encodeAString(value: string | Buffer, options: StringEncodingOptions = {}): Buffer {
  const text = typeof value === "string" ? value : value.toString("latin1");
  // NIL as an atom would read back as nil in an nstring position: quote it.
  if (isAtom(text) && text.toUpperCase() !== "NIL") {
    return Buffer.from(text, "latin1");
  }
  return encodeString(value, options);
}

/** nstring = string / NIL */
export function encodeNString(
  value: string | Buffer | null | undefined,
  options: StringEncodingOptions = {},
): Buffer {
  return value === null || value === undefined ? Buffer.from("NIL") : encodeString(value, options);
}

/** A mailbox name: modified UTF-7 unless UTF8=ACCEPT is enabled, then astring rules. */
export function encodeMailbox(name: string, options: StringEncodingOptions = {}): Buffer {
  return encodeAString(options.utf8 ? name : encodeMailboxName(name), options);
}

/** "(" items joined by SP ")"; items are already encoded. */
export function encodeList(items: ReadonlyArray<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from("(")];
  items.forEach((item, i) => {
    if (i > 0) parts.push(Buffer.from(" "));
    parts.push(typeof item === "string" ? Buffer.from(item, "latin1") : item);
  });
  parts.push(Buffer.from(")"));
  return Buffer.concat(parts);
}

/** Flags are atoms or \atoms by construction; the list is written verbatim. */
export function encodeFlagList(flags: Iterable<string>): string {
  return `(${[...flags].join(" ")})`;
}

/** Compact sequence set from numbers in any order: 1,2,3,5,7,8 → "1:3,5,7:8". Empty input → "". */
export function encodeSequenceNumbers(numbers: Iterable<number>): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i]!;
    let stop = start;
    while (i + 1 < sorted.length && sorted[i + 1] === stop + 1) stop = sorted[++i]!;
    parts.push(start === stop ? String(start) : `${start}:${stop}`);
    i++;
  }
  return parts.join(",");
}

export function encodeSequenceSet(set: SequenceSet): string {
  if (set.kind === "saved") return "$";
  return set.ranges.map((r) => (r.start === r.stop ? String(r.start) : `${r.start}:${r.stop}`)).join(",");
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * date-time as in INTERNALDATE: "dd-Mon-yyyy hh:mm:ss +zzzz" (quoted), shown in the zone
 * `offsetMinutes` east of UTC (the zone the message was appended with, or 0).
 */
export function encodeDateTime(date: Date, offsetMinutes = 0): string {
  const local = new Date(date.getTime() + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const day = String(local.getUTCDate()).padStart(2, " ");
  const time = `${pad2(local.getUTCHours())}:${pad2(local.getUTCMinutes())}:${pad2(local.getUTCSeconds())}`;
  const zone = `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
  return `"${day}-${MONTHS[local.getUTCMonth()]}-${local.getUTCFullYear()} ${time} ${zone}"`;
}

/** date as in SEARCH: d-Mon-yyyy. */
export function encodeDate(date: ImapDate): string {
  return `${date.day}-${MONTHS[date.month - 1]}-${date.year}`;
}
