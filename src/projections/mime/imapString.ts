// A local IMAP string encoder for the ENVELOPE and BODYSTRUCTURE writers. The gateway's wire
// encoder will replace it once the two are unified.

/**
 * An IMAP string: a quoted string when every character may appear in one (with " and \ escaped
 * as quoted-specials), else a literal "{n}\r\n..." whose n counts the UTF-8 bytes, so the
 * result must be written to the wire as UTF-8.
 */
export function imapString(value: string): string {
  // One pass over the characters (a regular expression test and a replace cost twice as much, and
  // an ENVELOPE FETCH of a large mailbox encodes millions of strings). TEXT-CHAR of RFC 3501 is
  // any 7-bit CHAR except CR and LF (NUL is not a CHAR either).
  let escapes = false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0 || code === 10 || code === 13 || code > 0x7f) {
      return `{${Buffer.byteLength(value, "utf8")}}\r\n${value}`;
    }
    if (code === 34 || code === 92) escapes = true;
  }
  return escapes ? `"${value.replace(/[\\"]/g, "\\$&")}"` : `"${value}"`;
}

export function imapNString(value: string | null): string {
  return value === null ? "NIL" : imapString(value);
}
