// The other users' namespace (RFC 2342, RFC 4314): bob sees a mailbox alice shared with him as
// "Shared/alice/<name>". A mailbox name from a client is resolved here to the account that owns
// it and its name there. Isolation comes first: a shared name resolves only when the owner, the
// mailbox and the actor's "l" right on it all exist; every other name under "Shared/" (another
// spelling of the owner, "..", an empty level, a mailbox shared and then unshared) resolves to
// nothing, which the commands answer exactly as they answer a mailbox that does not exist.
import { findSharedMailbox, type SharedMailbox } from "../../commands/acl/handlers.ts";
import { ALL_RIGHTS } from "../../commands/acl/rights.ts";
import { MAILBOX_HIERARCHY_SEPARATOR } from "../../events/domain/common.ts";
import type { MailboxQueries } from "../../projections/queries/index.ts";
import { no } from "../errors.ts";
import type { SessionControl } from "../module.ts";
import { userIdOf } from "./commandSupport.ts";
import type { MailServices } from "./services.ts";

/** The other users' namespace prefix, as NAMESPACE shows it (RFC 2342 5). */
export const SHARED_ROOT = "Shared";
export const SHARED_PREFIX = `${SHARED_ROOT}${MAILBOX_HIERARCHY_SEPARATOR}`;

/**
 * Is this a name in the other users' namespace? Case matters, as in LIST's answer. "Shared"
 * itself stays a name the user may have of its own; only the names under it are others'.
 */
export function isSharedName(name: string): boolean {
  return name.startsWith(SHARED_PREFIX);
}

/** "Shared/alice/Team/x" → alice, Team/x; null for the root, an owner level alone or an empty part. */
export function splitSharedName(name: string): { ownerName: string; name: string } | null {
  if (!name.startsWith(SHARED_PREFIX)) return null;
  const rest = name.slice(SHARED_PREFIX.length);
  const at = rest.indexOf(MAILBOX_HIERARCHY_SEPARATOR);
  if (at <= 0 || at === rest.length - 1) return null;
  return { ownerName: rest.slice(0, at), name: rest.slice(at + 1) };
}

export function sharedName(ownerName: string, name: string): string {
  return `${SHARED_PREFIX}${ownerName}${MAILBOX_HIERARCHY_SEPARATOR}${name}`;
}

/**
 * CREATE and RENAME make names of the user's own: none in the other users' namespace, which
 * only shows what others shared (creating there, RFC 4314's "k" on another user's mailbox, is
 * not offered).
 */
export function refuseSharedName(name: string, command: string): void {
  if (isSharedName(name)) {
    throw no(`${command}: the names under "${SHARED_PREFIX}" are other users' mailboxes`, "CANNOT");
  }
}

/**
 * The queries as the actor sees the owner's mailboxes: on a mailbox shared with him, \Seen is his
 * own (RFC 4314 5.3, flagsSeenBy in the queries). Every read for a session that shows \Seen goes
 * through here, so the owner's \Seen is never shown to another user.
 */
export function queriesAs(services: MailServices, who: { ownerId: string; actorId: string }): MailboxQueries {
  return who.actorId === who.ownerId ? services.queries : services.queries.forReader(who.actorId);
}

/** Where a client's mailbox name points. */
export type MailboxTarget =
  | {
      readonly kind: "own";
      readonly actorId: string;
      readonly ownerId: string;
      /** As the client gave it. */
      readonly name: string;
      readonly rights: string;
    }
  | {
      readonly kind: "shared";
      readonly actorId: string;
      readonly ownerId: string;
      /** In the owner's namespace. */
      readonly name: string;
      /** As the actor sees it: Shared/<owner>/<name>. */
      readonly displayName: string;
      readonly mailbox: SharedMailbox;
      readonly rights: string;
    };

/**
 * The target of a mailbox name: the actor's own mailbox, or another user's shared with the actor
 * with the "l" right; null when the name is in the shared namespace and names nothing the actor
 * may see (the caller answers as for a mailbox that does not exist).
 */
export async function resolveMailboxName(
  services: MailServices,
  session: SessionControl,
  name: string,
): Promise<MailboxTarget | null> {
  const actorId = userIdOf(session);
  if (!isSharedName(name)) return { kind: "own", actorId, ownerId: actorId, name, rights: ALL_RIGHTS };
  const parts = splitSharedName(name);
  if (parts === null) return null;
  const mailbox = await findSharedMailbox(services.pool, actorId, parts.ownerName, parts.name);
  if (mailbox === null || !mailbox.rights.includes("l")) return null;
  return {
    kind: "shared",
    actorId,
    ownerId: mailbox.ownerId,
    name: mailbox.name,
    displayName: sharedName(mailbox.ownerName, mailbox.name),
    mailbox,
    rights: mailbox.rights,
  };
}
