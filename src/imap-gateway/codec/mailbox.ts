// Mailbox names in commands: astring, INBOX case-insensitive, modified UTF-7 decoded.

import { decodeMailboxName } from "./mutf7.ts";
import type { Scanner } from "./scanner.ts";

/**
 * What the command does with the name, which decides the answer when the name is not valid
 * modified UTF-7. Such a name is well-formed IMAP (an astring), so it is not BAD: no mailbox can
 * have it (every name is listed in valid modified UTF-7), so a command on an existing mailbox
 * gets NO [NONEXISTENT] and one that would make the name gets NO [CANNOT].
 */
export type MailboxRole = "existing" | "new";

/** Decodes a mailbox name from its wire bytes (mUTF-7, or UTF-8 once UTF8=ACCEPT is enabled). */
export function decodeMailboxBytes(s: Scanner, bytes: Buffer, what: string, role: MailboxRole): string {
  let name: string;
  if (s.utf8Accept) {
    name = s.decodeText(bytes, what);
  } else {
    const decoded = decodeMailboxName(bytes.toString("latin1"));
    if (!decoded.ok) {
      const message = `${what}: invalid modified UTF-7: ${decoded.error}`;
      s.refuse(message, role === "new" ? "CANNOT" : "NONEXISTENT");
      return bytes.toString("latin1");
    }
    name = decoded.name;
  }
  // RFC 3501 5.1: INBOX is case-insensitive.
  return name.toUpperCase() === "INBOX" ? "INBOX" : name;
}

/**
 * Decodes a LIST pattern; undefined when it is not valid modified UTF-7, since such a pattern
 * matches no name (RFC 3501 6.3.8: LIST answers OK with what matches).
 */
export function decodePatternBytes(s: Scanner, bytes: Buffer, what: string): string | undefined {
  let pattern: string;
  if (s.utf8Accept) {
    pattern = s.decodeText(bytes, what);
  } else {
    const decoded = decodeMailboxName(bytes.toString("latin1"));
    if (!decoded.ok) return undefined;
    pattern = decoded.name;
  }
  return pattern.toUpperCase() === "INBOX" ? "INBOX" : pattern;
}

export function parseMailbox(s: Scanner, what = "mailbox name", role: MailboxRole = "existing"): string {
  return decodeMailboxBytes(s, s.astringBytes(what), what, role);
}
