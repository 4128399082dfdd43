// Mailbox names: UTF-8, hierarchy separator "/" (MAILBOX_HIERARCHY_SEPARATOR), INBOX
// case-insensitive (RFC 3501 5.1) and stored as "INBOX", as is the "INBOX/" prefix of its
// inferiors so "inbox/a" and "INBOX/a" are one name.
import { MAILBOX_HIERARCHY_SEPARATOR, mailboxLookupName } from "../events/domain/common.ts";
import { DomainError } from "./errors.ts";

export const INBOX = "INBOX";
/** Longest name accepted, in UTF-8 octets (Dovecot's default is similar). */
export const MAX_MAILBOX_NAME_OCTETS = 1024;
/** Deepest hierarchy accepted. */
export const MAX_MAILBOX_NAME_LEVELS = 32;

const SEP = MAILBOX_HIERARCHY_SEPARATOR;

/**
 * The canonical form of a name as a client gave it, or a BADNAME error. A trailing separator
 * only declares that inferiors will follow (RFC 3501 6.3.3) and is dropped.
 */
export function canonicalMailboxName(raw: string): string {
  let name = raw.normalize("NFC");
  if (name.endsWith(SEP)) name = name.slice(0, -1);
  if (name.length === 0) throw new DomainError("BADNAME", "a mailbox name cannot be empty");
  if (Buffer.byteLength(name, "utf8") > MAX_MAILBOX_NAME_OCTETS) {
    throw new DomainError("BADNAME", `a mailbox name is at most ${MAX_MAILBOX_NAME_OCTETS} octets`);
  }
  // \p{Cc} covers NUL, CR, LF; "*" and "%" are LIST wildcards and could never be listed alone.
  if (/[\p{Cc}*%]/u.test(name)) {
    throw new DomainError("BADNAME", "a mailbox name cannot contain control characters, * or %");
  }
  const levels = name.split(SEP);
  if (levels.some((level) => level.length === 0)) {
    throw new DomainError(
      "BADNAME",
      `a mailbox name cannot have an empty level (leading or doubled "${SEP}")`,
    );
  }
  if (levels.length > MAX_MAILBOX_NAME_LEVELS) {
    throw new DomainError("BADNAME", `a mailbox name has at most ${MAX_MAILBOX_NAME_LEVELS} levels`);
  }
  return mailboxLookupName(name);
}

/** The name one level up, or null at the top. */
export function parentName(name: string): string | null {
  const at = name.lastIndexOf(SEP);
  return at < 0 ? null : name.slice(0, at);
}

/** Every superior of a name, outermost first: "a/b/c" → ["a", "a/b"]. */
export function superiorNames(name: string): string[] {
  const levels = name.split(SEP);
  return levels.slice(0, -1).map((_, index) => levels.slice(0, index + 1).join(SEP));
}

export function isInferiorOf(name: string, superior: string): boolean {
  return name.startsWith(superior + SEP);
}

/** The name `name` takes when `from` is renamed to `to` (name is `from` or one of its inferiors). */
export function renamedName(name: string, from: string, to: string): string {
  return name === from ? to : to + name.slice(from.length);
}
