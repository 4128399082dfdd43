// The mailbox a command works on by id (the session's selected mailbox): read, decided, committed.
import type { CommonQueryMethods, DatabaseTransactionConnection } from "slonik";
import type { MailboxEvent } from "../../events/domain/mailboxEvents.ts";
import { requireRights } from "../acl/handlers.ts";
import { type Committed, commitChanges, commitOptimistically } from "../commit.ts";
import { type DomainContext, inTransaction } from "../context.ts";
import { DomainError } from "../errors.ts";
import { decide, type MailboxCommand, type MailboxState } from "../mailbox/decider.ts";
import {
  lockMailboxWithMessages,
  type MailboxRow,
  type MessageRow,
  mailboxState,
  readMailboxForDecision,
  withPrivateSeen,
} from "../writeModel.ts";

/** The selected mailbox, locked, with the messages a command works on (one round trip). */
export async function lockSelectedWithMessages(
  tx: DatabaseTransactionConnection,
  userId: string,
  mailboxId: string,
  uids: readonly number[] | "deleted",
): Promise<{ row: MailboxRow; messages: MessageRow[] }> {
  const locked = await lockMailboxWithMessages(tx, userId, mailboxId, uids);
  // Another session may have deleted it; a foreign id looks the same (isolation).
  if (locked?.row.status !== "selectable")
    throw new DomainError("NONEXISTENT", "the mailbox no longer exists");
  return locked;
}

/**
 * Who acts on another user's mailbox (RFC 4314), the rights the command needs and what to call it
 * in a refusal. Absent, or naming the owner: the owner acts, who has every right.
 */
export interface ActingUser {
  actorId: string;
  needed: string;
  what: string;
}

/** Refuses unless the actor holds the rights, read from the ACL committed with its events. */
export async function requireActorRights(
  ctx: DomainContext,
  ownerId: string,
  mailboxId: string,
  actor: ActingUser | undefined,
): Promise<void> {
  if (actor === undefined || actor.actorId === ownerId) return;
  await requireRights(ctx.pool, actor.actorId, mailboxId, actor.needed, actor.what);
}

/** A grantee's STORE decides from his own \Seen too (StoreFlags.privateSeenOf). */
function withReader(
  db: CommonQueryMethods,
  state: MailboxState,
  command: MailboxCommand,
): Promise<MailboxState> {
  if (command.type !== "StoreFlags" || command.privateSeenOf === undefined) return Promise.resolve(state);
  return withPrivateSeen(db, state, command.privateSeenOf);
}

export function validUids(uids: readonly number[]): number[] {
  return uids.filter((uid) => Number.isInteger(uid) && uid >= 1 && uid <= 0xffff_ffff);
}

/**
 * Decides `command` on the selected mailbox's messages `uids` (or those flagged \Deleted) from an
 * unlocked read, and commits in one statement if nothing moved since (commitOptimistically); when
 * another writer moved the mailbox meanwhile, decides again under its row lock, which always
 * succeeds. `outcome` is given the state decided from, the events, and what was committed.
 */
export async function decideOnSelected<T>(
  ctx: DomainContext,
  target: {
    userId: string;
    mailboxId: string;
    uids: readonly number[] | "deleted";
    actor?: ActingUser | undefined;
  },
  command: MailboxCommand,
  outcome: (before: MailboxState, events: readonly MailboxEvent[], committed: Committed) => T,
  /** What the caller read already, in one snapshot with the mailbox's HIGHESTMODSEQ: no read then. */
  known?: MailboxState,
): Promise<T> {
  const { userId, mailboxId, uids } = target;
  await requireActorRights(ctx, userId, mailboxId, target.actor);
  const unread = known ?? (await readMailboxForDecision(ctx.pool, userId, mailboxId, uids));
  if (unread === null) throw new DomainError("NONEXISTENT", "the mailbox no longer exists");
  const read = await withReader(ctx.pool, unread, command);
  const decided = decide(command, read, ctx.now());
  const fast = await commitOptimistically(ctx.pool, userId, ctx.metadata, { before: read, events: decided });
  if (fast) {
    if (fast.lastGlobalPosition !== null) ctx.onCommitted?.();
    return outcome(read, decided, fast);
  }
  return inTransaction(ctx, async (tx) => {
    const { row, messages } = await lockSelectedWithMessages(tx, userId, mailboxId, uids);
    const before = await withReader(tx, mailboxState(row, messages), command);
    const events = decide(command, before, ctx.now());
    return outcome(before, events, await commitChanges(tx, userId, ctx.metadata, null, [{ before, events }]));
  });
}
