import { isUtf8 } from "node:buffer";
import Encoding from "encoding-japanese";
import iconv from "iconv-lite";

/**
 * Bytes in a declared charset as a string. iconv-lite covers the legacy single- and multi-byte
 * charsets but not ISO-2022-JP (a stateful 7-bit encoding), which encoding-japanese decodes, as
 * mailparser does. An unknown or missing charset falls back to UTF-8 when the bytes are valid
 * UTF-8, else windows-1252 (what mislabelled Western mail nearly always is). Never throws.
 */
export function decodeCharset(bytes: Buffer, charset: string | null): string {
  const name = (charset ?? "").trim().toLowerCase();
  try {
    if (/^iso-?2022-?jp/.test(name)) {
      return Encoding.convert(bytes, { to: "UNICODE", from: "JIS", type: "string" });
    }
    if (name !== "" && name !== "us-ascii" && name !== "ascii" && iconv.encodingExists(name)) {
      return iconv.decode(bytes, name);
    }
  } catch {
    // fall through to the guess below
  }
  return isUtf8(bytes) ? bytes.toString("utf8") : iconv.decode(bytes, "windows-1252");
}

const EQUALS = 0x3d;
const LF = 0x0a;
const CR = 0x0d;

function isTransportPadding(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Quoted-printable decoding (RFC 2045 6.7), line by line: whitespace at the end of an encoded
 * line was added in transport and is deleted (rule 3), and a line ending in "=", padding after
 * it allowed, is a soft line break that joins it to the next (rule 5). Tolerant of bare LF and
 * of broken escapes, which are kept as written.
 */
export function decodeQuotedPrintable(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  let start = 0;
  while (start < bytes.length) {
    const lf = bytes.indexOf(LF, start);
    const next = lf === -1 ? bytes.length : lf + 1;
    let end = lf === -1 ? bytes.length : lf > start && bytes[lf - 1] === CR ? lf - 1 : lf;
    const lineBreak = bytes.subarray(end, next);
    while (end > start && isTransportPadding(bytes[end - 1])) end--;
    const soft = end > start && bytes[end - 1] === EQUALS;
    if (soft) end--;
    for (let i = start; i < end; i++) {
      const c = bytes[i]!;
      const a = bytes[i + 1];
      const b = bytes[i + 2];
      if (c === EQUALS && i + 2 < end && isHex(a) && isHex(b)) {
        out[n++] = Number.parseInt(String.fromCharCode(a, b), 16);
        i += 2;
      } else {
        out[n++] = c; // a literal octet, or an "=" that is not an escape, kept as written
      }
    }
    if (!soft) {
      lineBreak.copy(out, n);
      n += lineBreak.length;
    }
    start = next;
  }
  return out.subarray(0, n);
}

function isHex(c: number | undefined): c is number {
  if (c === undefined) return false;
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Undoes a Content-Transfer-Encoding; unknown encodings pass through unchanged. */
export function decodeTransferEncoding(bytes: Buffer, encoding: string): Buffer {
  switch (encoding.toLowerCase()) {
    case "base64":
      // Buffer's base64 decoder skips whitespace and stops quietly at garbage.
      return Buffer.from(bytes.toString("latin1"), "base64");
    case "quoted-printable":
      return decodeQuotedPrintable(bytes);
    default:
      return bytes;
  }
}

/** A charset this library can decode: the ones iconv-lite knows, ISO-2022-JP, and ASCII. */
export function isKnownCharset(charset: string): boolean {
  const name = charset.trim().toLowerCase();
  return /^iso-?2022-?jp/.test(name) || name === "us-ascii" || name === "ascii" || iconv.encodingExists(name);
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;
const BETWEEN_ENCODED_WORDS = /(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)/g;
const BASE64_TEXT = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes RFC 2047 encoded words ("=?charset?B|Q?text?="), joining adjacent encoded words as
 * RFC 2047 6.2 requires (the whitespace between them is dropped). A word it cannot decode, in a
 * charset it does not know or with damaged base64, stays as it was written (RFC 2047 6.2 (a)):
 * a guess would show garbage where the sender's text can still be read. The one decoder of the
 * project: the events' header summary, the search and sort keys and the views all use it.
 */
export function decodeEncodedWords(value: string): string {
  if (!value.includes("=?")) return value;
  return value
    .replace(BETWEEN_ENCODED_WORDS, "$1")
    .replace(ENCODED_WORD, (word, charset: string, kind: string, text: string) => {
      // RFC 2231 5: a language may follow the charset ("utf-8*en").
      const name = charset.split("*")[0] ?? "";
      if (!isKnownCharset(name)) return word;
      let bytes: Buffer;
      if (kind === "B" || kind === "b") {
        if (!BASE64_TEXT.test(text) || text.length % 4 === 1) return word;
        bytes = Buffer.from(text, "base64");
      } else {
        // Q (RFC 2047 4.2): "_" is a space, =XX an octet; an 8-bit character (not allowed in Q,
        // but sent) stands for its UTF-8 bytes.
        bytes = decodeQuotedPrintable(Buffer.from(text.replaceAll("_", " "), "utf8"));
      }
      return decodeCharset(bytes, name);
    });
}
