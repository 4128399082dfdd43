// Mailbox names in commands: astring, INBOX case-insensitive, modified UTF-7 decoded.

import { decodeMailboxName } from "./mutf7.ts";
import type { Scanner } from "./scanner.ts";

/** Decodes a mailbox name or pattern from its wire bytes (mUTF-7, or UTF-8 once UTF8=ACCEPT is enabled). */
export function decodeMailboxBytes(s: Scanner, bytes: Buffer, what: string): string {
  let name: string;
  if (s.utf8Accept) {
    name = s.decodeText(bytes, what);
  } else {
    const decoded = decodeMailboxName(bytes.toString("latin1"));
    if (!decoded.ok) return s.fail(`${what}: invalid modified UTF-7: ${decoded.error}`);
    name = decoded.name;
  }
  // RFC 3501 5.1: INBOX is case-insensitive.
  return name.toUpperCase() === "INBOX" ? "INBOX" : name;
}

export function parseMailbox(s: Scanner, what = "mailbox name"): string {
  return decodeMailboxBytes(s, s.astringBytes(what), what);
}
