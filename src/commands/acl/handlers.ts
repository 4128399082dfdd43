// RFC 4314 access control: SETACL and DELETEACL as commands on the owner's stream, and the reads
// every rights check makes. Rights are read from mailbox_acl, which the ACL commands write in
// their own transaction (infra/migrations/0060_mailbox_acl.sql): a check made after a grant's or
// a revocation's OK sees it, on any node (contract 2), never a lagging view.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { commitChanges } from "../commit.ts";
import { type DomainContext, inTransaction } from "../context.ts";
import { DomainError } from "../errors.ts";
import { canonicalMailboxName } from "../names.ts";
import { decide } from "../user/decider.ts";
import { canonicalUsername } from "../user/username.ts";
import { findUserById, findUserByName, loadUserState } from "../writeModel.ts";
import { ALL_RIGHTS, ANYONE, hasRights, parseRightsChange } from "./rights.ts";

export interface AclCommandInput {
  /** The account that owns the mailbox. */
  ownerId: string;
  /** The mailbox's name in its owner's namespace. */
  mailboxName: string;
  /** A user name, or "anyone". */
  identifier: string;
}

/** The grantee an identifier names: "anyone", or an existing account's id. */
async function granteeOf(
  db: CommonQueryMethods,
  identifier: string,
): Promise<{ grantee: string; identifier: string }> {
  if (identifier.toLowerCase() === ANYONE) return { grantee: ANYONE, identifier: ANYONE };
  const username = canonicalUsername(identifier);
  const user = await findUserByName(db, username);
  if (!user) throw new DomainError("NONEXISTENT", `no user named "${username}"`);
  return { grantee: user.id, identifier: user.username };
}

async function onOwner(
  ctx: DomainContext,
  input: AclCommandInput,
  rights: string | null,
): Promise<{ lastGlobalPosition: number | null }> {
  const change = rights === null ? null : parseRightsChange(rights);
  return inTransaction(ctx, async (tx) => {
    const owner = await findUserById(tx, input.ownerId, true);
    if (!owner) throw new DomainError("NONEXISTENT", "no such user");
    const { grantee, identifier } = await granteeOf(tx, input.identifier);
    const name = canonicalMailboxName(input.mailboxName);
    const state = await loadUserState(tx, owner);
    const events = decide(
      change === null
        ? { type: "DeleteMailboxAcl", name, grantee, identifier }
        : { type: "SetMailboxAcl", name, grantee, identifier, change },
      state,
    );
    const committed = await commitChanges(
      tx,
      owner.id,
      ctx.metadata,
      { expectedVersion: owner.stream_version, events },
      [],
    );
    return { lastGlobalPosition: committed.lastGlobalPosition };
  });
}

/** SETACL: `rights` replaces, or adds ("+...") or removes ("-...") (RFC 4314 3.1). */
export async function setMailboxAcl(ctx: DomainContext, input: AclCommandInput & { rights: string }) {
  return onOwner(ctx, input, input.rights);
}

/** DELETEACL (RFC 4314 3.2); an identifier with no entry is no error. */
export async function deleteMailboxAcl(ctx: DomainContext, input: AclCommandInput) {
  return onOwner(ctx, input, null);
}

export interface AclListEntry {
  identifier: string;
  rights: string;
}

const aclRow = z.object({ identifier: z.string(), rights: z.string() });

/** GETACL's entries of one mailbox (the owner's implicit one not included), by identifier. */
export async function mailboxAcl(db: CommonQueryMethods, mailboxId: string): Promise<AclListEntry[]> {
  const rows = await db.any(sql.type(aclRow)`
    SELECT a.identifier, a.rights FROM mailbox_acl AS a
    LEFT JOIN users AS u ON u.id = a.grantee
    WHERE a.mailbox_id = ${mailboxId} AND (a.grantee = ${ANYONE} OR u.deleted_at IS NULL)
    ORDER BY a.identifier`);
  return rows.map((row) => ({ identifier: row.identifier, rights: row.rights }));
}

const rightsRow = z.object({ owner_id: z.string(), rights: z.string().nullable() });

/**
 * The rights `actorId` holds on a live mailbox: all for its owner, else the union of the actor's
 * entry and "anyone"'s. Null when the mailbox does not exist (or is deleted).
 */
export async function rightsOn(
  db: CommonQueryMethods,
  actorId: string,
  mailboxId: string,
): Promise<string | null> {
  const row = await db.maybeOne(sql.type(rightsRow)`
    SELECT mb.user_id AS owner_id,
      (SELECT string_agg(a.rights, '') FROM mailbox_acl AS a
        WHERE a.mailbox_id = mb.id AND a.grantee IN (${actorId}, ${ANYONE})) AS rights
    FROM mailboxes AS mb WHERE mb.id = ${mailboxId} AND mb.status <> 'deleted'`);
  if (row === null) return null;
  if (row.owner_id === actorId) return ALL_RIGHTS;
  const held = new Set(row.rights ?? "");
  return [...ALL_RIGHTS].filter((right) => held.has(right)).join("");
}

/**
 * Refuses unless `actorId` holds every right in `needed` on the mailbox. Without "l" (lookup) or
 * "r" (read) the mailbox is not there for the actor: the refusal is the one for a mailbox that
 * does not exist (RFC 4314 6: no hint that it does).
 */
export async function requireRights(
  db: CommonQueryMethods,
  actorId: string,
  mailboxId: string,
  needed: string,
  what: string,
): Promise<string> {
  const held = await rightsOn(db, actorId, mailboxId);
  if (held === null || !(held.includes("l") || held.includes("r"))) {
    throw new DomainError("NONEXISTENT", "the mailbox does not exist");
  }
  if (!hasRights(held, needed)) {
    const missing = [...needed].filter((right) => !held.includes(right)).join("");
    throw new DomainError("NOPERM", `${what} needs the right "${missing}" on this mailbox (RFC 4314)`);
  }
  return held;
}

const sharedRow = z.object({
  owner_id: z.string(),
  owner_name: z.string(),
  mailbox_id: z.string(),
  name: z.string(),
  status: z.string(),
  rights: z.string(),
});

export interface SharedMailbox {
  ownerId: string;
  ownerName: string;
  mailboxId: string;
  /** In the owner's namespace. */
  name: string;
  selectable: boolean;
  /** What the actor holds (canonical). */
  rights: string;
}

function sharedOf(row: z.infer<typeof sharedRow>): SharedMailbox {
  const held = new Set(row.rights);
  return {
    ownerId: row.owner_id,
    ownerName: row.owner_name,
    mailboxId: row.mailbox_id,
    name: row.name,
    selectable: row.status === "selectable",
    rights: [...ALL_RIGHTS].filter((right) => held.has(right)).join(""),
  };
}

const sharedSelect = (actorId: string) => sql.fragment`
  SELECT mb.user_id AS owner_id, u.username AS owner_name, mb.id AS mailbox_id, mb.name, mb.status,
    string_agg(a.rights, '') AS rights
  FROM mailbox_acl AS a
  JOIN mailboxes AS mb ON mb.id = a.mailbox_id AND mb.status <> 'deleted'
  JOIN users AS u ON u.id = mb.user_id AND u.deleted_at IS NULL
  WHERE a.grantee IN (${actorId}, ${ANYONE}) AND mb.user_id <> ${actorId}`;

/** Every other user's mailbox on which `actorId` holds some right (LIST of the shared namespace). */
export async function mailboxesSharedWith(db: CommonQueryMethods, actorId: string): Promise<SharedMailbox[]> {
  const rows = await db.any(sql.type(sharedRow)`
    ${sharedSelect(actorId)}
    GROUP BY mb.user_id, u.username, mb.id, mb.name, mb.status
    ORDER BY u.username, mb.name`);
  return rows.map(sharedOf);
}

/** One other user's mailbox shared with `actorId`, by the owner's name and the mailbox's; null if none. */
export async function findSharedMailbox(
  db: CommonQueryMethods,
  actorId: string,
  ownerName: string,
  name: string,
): Promise<SharedMailbox | null> {
  let canonical: string;
  try {
    canonical = canonicalMailboxName(name);
  } catch {
    return null;
  }
  const row = await db.maybeOne(sql.type(sharedRow)`
    ${sharedSelect(actorId)} AND u.username = ${ownerName} AND mb.name = ${canonical}
    GROUP BY mb.user_id, u.username, mb.id, mb.name, mb.status`);
  return row === null ? null : sharedOf(row);
}
