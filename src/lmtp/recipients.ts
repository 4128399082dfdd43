// Who an RCPT TO address is: `user@domain` or `user+detail@domain` (LMTP_RECIPIENT_DELIMITER),
// the local part case-insensitive, the domain under the operator's rule (LMTP_DOMAINS). The
// account is the whole address when one is named so, else the local part (as Dovecot's
// auth_username_format %n); the detail picks the user's mailbox of that name when it exists and
// LMTP_DETAIL_MAILBOX allows it, else INBOX.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { canonicalMailboxName, INBOX } from "../commands/names.ts";
import { canonicalUsername } from "../commands/user/username.ts";
import { listMailboxRows } from "../commands/writeModel.ts";
import type { LmtpSettings } from "../config.ts";

export interface ParsedRecipient {
  /** The local part without its detail, lowercased. */
  local: string;
  detail: string | null;
  /** Lowercased; "" for an address without a domain. */
  domain: string;
}

/** Splits an address; null when it has no local part. */
export function parseRecipient(address: string, delimiter: string): ParsedRecipient | null {
  const at = address.lastIndexOf("@");
  const localPart = at < 0 ? address : address.slice(0, at);
  const domain = at < 0 ? "" : address.slice(at + 1).toLowerCase();
  if (localPart === "") return null;
  const split = delimiter === "" ? -1 : localPart.indexOf(delimiter);
  const local = (split < 0 ? localPart : localPart.slice(0, split)).normalize("NFC").toLowerCase();
  if (local === "") return null;
  return { local, detail: split < 0 ? null : localPart.slice(split + 1), domain };
}

/** The operator's domain rule: any domain, or one of a list (an address without a domain never). */
export function domainAccepted(domain: string, domains: readonly string[] | null): boolean {
  if (domains === null) return true;
  return domains.includes(domain);
}

const accountRow = z.object({
  id: z.string(),
  username: z.string(),
  append_limit: z.number().nullable(),
  storage_limit: z.number().nullable(),
  inbox_append_limit: z.number().nullable(),
});

export type Resolution =
  | {
      ok: true;
      userId: string;
      username: string;
      mailboxName: string;
      /** The APPENDLIMITs of the mailbox and of the user (RFC 7889), null where none is set. */
      mailboxAppendLimit: number | null;
      userAppendLimit: number | null;
      /** The account's storage quota in octets (RFC 9208), null for none. */
      storageLimit: number | null;
    }
  | { ok: false; reason: "no-such-user" | "domain-not-served" | "bad-address" };

export async function resolveRecipient(
  db: CommonQueryMethods,
  address: string,
  settings: Pick<LmtpSettings, "recipientDelimiter" | "domains" | "detailMailbox">,
): Promise<Resolution> {
  const parsed = parseRecipient(address, settings.recipientDelimiter);
  if (!parsed) return { ok: false, reason: "bad-address" };
  if (!domainAccepted(parsed.domain, settings.domains)) return { ok: false, reason: "domain-not-served" };
  const names = parsed.domain === "" ? [parsed.local] : [`${parsed.local}@${parsed.domain}`, parsed.local];
  const candidates: string[] = [];
  for (const name of names) {
    try {
      candidates.push(canonicalUsername(name));
    } catch {
      // Not a name an account can have: no account to find under it.
    }
  }
  if (candidates.length === 0) return { ok: false, reason: "no-such-user" };
  // Both candidates in one round trip, the whole address first, with the limits RCPT checks.
  const user = await db.maybeOne(sql.type(accountRow)`
    SELECT u.id, u.username, u.append_limit, u.storage_limit, m.append_limit AS inbox_append_limit
    FROM users u
    LEFT JOIN mailboxes m ON m.user_id = u.id AND m.name = ${INBOX} AND m.status = 'selectable'
    WHERE u.username = ANY(${sql.array(candidates, "text")}) AND u.deleted_at IS NULL
    ORDER BY u.username = ${candidates[0]!} DESC LIMIT 1`);
  if (user) {
    const detail =
      parsed.detail && settings.detailMailbox ? await detailMailbox(db, user.id, parsed.detail) : null;
    return {
      ok: true,
      userId: user.id,
      username: user.username,
      mailboxName: detail?.name ?? INBOX,
      mailboxAppendLimit: detail ? detail.appendLimit : user.inbox_append_limit,
      userAppendLimit: user.append_limit,
      storageLimit: user.storage_limit,
    };
  }
  return { ok: false, reason: "no-such-user" };
}

/** The user's mailbox the detail names (exactly, else the only one that matches ignoring case), or null. */
async function detailMailbox(
  db: CommonQueryMethods,
  userId: string,
  detail: string,
): Promise<{ name: string; appendLimit: number | null } | null> {
  let wanted: string;
  try {
    wanted = canonicalMailboxName(detail);
  } catch {
    return null;
  }
  const selectable = (await listMailboxRows(db, userId)).filter((row) => row.status === "selectable");
  const exact = selectable.filter((row) => row.name === wanted);
  const folded = selectable.filter((row) => row.name.toLowerCase() === wanted.toLowerCase());
  const found = exact.length === 1 ? exact[0] : folded.length === 1 ? folded[0] : undefined;
  return found ? { name: found.name, appendLimit: found.append_limit } : null;
}
