// What a session turned on with ENABLE that changes the protocol itself, not one command:
// IMAP4rev2 (RFC 9051) beside IMAP4rev1, and UTF-8 (RFC 6855 UTF8=ACCEPT). The session keeps
// ENABLEd names upper-cased (SessionInfo.enabled).
import type { SessionInfo } from "./module.ts";

/** As ENABLE and CAPABILITY spell it; `session.enabled` holds it upper-cased. */
export const IMAP4REV2 = "IMAP4rev2";
export const UTF8_ACCEPT = "UTF8=ACCEPT";

/**
 * The session speaks IMAP4rev2 (ENABLE IMAP4rev2, RFC 9051 6.3.1): no \Recent, ESEARCH for
 * SEARCH, the LIST response at SELECT, UTF-8 mailbox names; see README's table.
 */
export function speaksRev2(session: Pick<SessionInfo, "enabled">): boolean {
  return session.enabled.has("IMAP4REV2");
}

/**
 * Mailbox names and quoted strings go as UTF-8 both ways: after ENABLE UTF8=ACCEPT (RFC 6855 3),
 * and in IMAP4rev2, whose mailbox names are UTF-8 (RFC 9051 5.1). Otherwise names are modified
 * UTF-7 (RFC 3501 5.1.3): stored once, decoded, and encoded for each client as it asked.
 */
export function utf8Names(session: Pick<SessionInfo, "enabled">): boolean {
  return session.enabled.has(UTF8_ACCEPT) || speaksRev2(session);
}

/** The name ENABLED reports: as the capability spells it (IMAP4rev2), else upper-cased. */
export function enabledName(extension: string): string {
  return extension === "IMAP4REV2" ? IMAP4REV2 : extension;
}
