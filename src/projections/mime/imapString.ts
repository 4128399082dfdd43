// A local IMAP string encoder for the ENVELOPE and BODYSTRUCTURE writers. The gateway's wire
// encoder will replace it once the two are unified.

/** TEXT-CHAR of RFC 3501: any 7-bit CHAR except CR and LF (NUL is not a CHAR either). */
const QUOTABLE = /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/;

/**
 * An IMAP string: a quoted string when every character may appear in one (with " and \ escaped
 * as quoted-specials), else a literal "{n}\r\n..." whose n counts the UTF-8 bytes, so the
 * result must be written to the wire as UTF-8.
 */
export function imapString(value: string): string {
  if (QUOTABLE.test(value)) return `"${value.replace(/[\\"]/g, "\\$&")}"`;
  return `{${Buffer.byteLength(value, "utf8")}}\r\n${value}`;
}

export function imapNString(value: string | null): string {
  return value === null ? "NIL" : imapString(value);
}
