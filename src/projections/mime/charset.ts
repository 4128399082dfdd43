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

/** Quoted-printable decoding (RFC 2045 6.7), tolerant of bare LF and broken escapes. */
export function decodeQuotedPrintable(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c !== 0x3d) {
      out[n++] = c;
      continue;
    }
    const a = bytes[i + 1];
    const b = bytes[i + 2];
    if (a === 0x0d && b === 0x0a) {
      i += 2; // soft line break
    } else if (a === 0x0a) {
      i += 1; // soft line break with a bare LF
    } else if (a !== undefined && b !== undefined && isHex(a) && isHex(b)) {
      out[n++] = Number.parseInt(String.fromCharCode(a, b), 16);
      i += 2;
    } else {
      out[n++] = c; // not an escape: keep the "=" as written
    }
  }
  return out.subarray(0, n);
}

function isHex(c: number): boolean {
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

/**
 * Decodes RFC 2047 encoded words ("=?charset?B|Q?text?="), joining adjacent encoded words as
 * RFC 2047 6.2 requires (the whitespace between them is dropped).
 */
export function decodeEncodedWords(value: string): string {
  const pattern = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;
  return value
    .replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)/g, "$1")
    .replace(pattern, (_match, charset: string, kind: string, text: string) => {
      const bytes =
        kind.toUpperCase() === "B"
          ? Buffer.from(text, "base64")
          : decodeQuotedPrintable(Buffer.from(text.replaceAll("_", " "), "latin1"));
      // RFC 2231 5: a language may follow the charset ("utf-8*en").
      return decodeCharset(bytes, charset.split("*")[0] ?? null);
    });
}
