// Message flags in commands: system flags normalised to their RFC 3501 spelling, keywords as atoms.

import type { Scanner } from "./scanner.ts";

const SYSTEM_FLAGS = new Map(
  ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent"].map((f) => [f.toUpperCase(), f]),
);

/**
 * flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension.
 * \Recent is server-managed and \* exists only in PERMANENTFLAGS, so clients may send neither.
 */
export function parseFlag(s: Scanner): string {
  if (s.tryByte(0x5c)) {
    if (s.peek() === 0x2a) s.fail("\\* is not a flag a client may send");
    const name = s.atom("flag name");
    const system = SYSTEM_FLAGS.get(`\\${name.toUpperCase()}`);
    if (system === "\\Recent") s.fail("\\Recent cannot be set by a client");
    return system ?? `\\${name}`;
  }
  return s.atom("flag");
}

/** flag-list = "(" [flag *(SP flag)] ")" */
export function parseFlagList(s: Scanner): string[] {
  return dedupe(s.list(() => parseFlag(s), "flag list", true));
}

export function dedupe(flags: string[]): string[] {
  const seen = new Set<string>();
  return flags.filter((f) => {
    const key = f.toUpperCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
