// COPY (RFC 3501 6.4.7) and MOVE (RFC 6851) to another mailbox, with the UIDs COPYUID needs
// (RFC 4315). MOVE commits the copy and the expunge together, over both mailbox streams; the two
// rows are locked in id order so opposite moves cannot deadlock. The two mailboxes may belong to
// two users (a mailbox shared with the actor, RFC 4314): each stream's events are then its
// owner's, appended in the one transaction, and the copy counts against the target owner's quota.
import type { MailboxEvent } from "../../events/domain/mailboxEvents.ts";
import { requireRights } from "../acl/handlers.ts";
import { commitChanges, type MailboxStreamChange } from "../commit.ts";
import { type DomainContext, inTransaction } from "../context.ts";
import { DomainError } from "../errors.ts";
import { decide, evolveAll } from "../mailbox/decider.ts";
import { canonicalMailboxName } from "../names.ts";
import {
  findMailboxByName,
  incomingFrom,
  loadMessages,
  lockMailboxesOf,
  type MessageRow,
  mailboxState,
  requireStorageQuota,
  withPrivateSeen,
} from "../writeModel.ts";
import { validUids } from "./selected.ts";
import { rightsForStore } from "./store.ts";

export interface TransferInput {
  userId: string;
  /** The selected (source) mailbox. */
  mailboxId: string;
  uids: readonly number[];
  targetName: string;
  /**
   * Who acts (RFC 4314 4), when not `userId`: on a mailbox not his own, the source needs "r" (and
   * "t" and "e" for MOVE), the target "i".
   */
  actorId?: string;
  /** The owner of the target mailbox, when not `userId` (the source's owner). */
  targetOwnerId?: string;
}

const SEEN = "\\Seen";

/**
 * The flags the copies carry between two users' mailboxes: as the actor sees the source (his own
 * \Seen on a mailbox shared with him), then, into a mailbox not his own, without \Seen (it would
 * be the owner's, as for an APPEND) and without the flags he may not set there.
 */
async function flagsAcross(
  db: Parameters<typeof withPrivateSeen>[0],
  messages: readonly MessageRow[],
  seen: { sourceMailboxId: string; readerId: string | null },
  targetRights: string | null,
): Promise<MessageRow[]> {
  let privateSeen: ReadonlyMap<number, boolean> | undefined;
  if (seen.readerId !== null) {
    const state = await withPrivateSeen(
      db,
      {
        initialized: true,
        mailboxId: seen.sourceMailboxId,
        uidValidity: 0,
        uidNext: 0,
        highestModSeq: 0,
        messages: new Map(messages.map((m) => [m.uid, { modseq: m.modseq, flags: m.flags }])),
      },
      seen.readerId,
    );
    privateSeen = new Map([...state.messages].map(([uid, m]) => [uid, m.privateSeen ?? false]));
  }
  return messages.map((message) => {
    let flags = message.flags;
    if (privateSeen !== undefined) {
      flags = flags.filter((flag) => flag !== SEEN);
      if (privateSeen.get(message.uid)) flags = [...flags, SEEN].sort();
    }
    if (targetRights !== null) {
      flags = flags.filter((flag) => flag !== SEEN && targetRights.includes(rightsForStore("add", [flag])));
    }
    return { ...message, flags };
  });
}

export interface TransferOutcome {
  targetMailboxId: string;
  targetUidValidity: number;
  /** Pairwise: sourceUids[i] became targetUids[i] (COPYUID). Absent source UIDs are skipped. */
  sourceUids: number[];
  targetUids: number[];
  lastGlobalPosition: number | null;
}

async function transfer(
  ctx: DomainContext,
  input: TransferInput,
  mode: "copy" | "move",
): Promise<TransferOutcome> {
  const targetName = canonicalMailboxName(input.targetName);
  const uids = validUids(input.uids);
  const sourceOwnerId = input.userId;
  const targetOwnerId = input.targetOwnerId ?? input.userId;
  const actorId = input.actorId ?? input.userId;
  const acrossUsers = sourceOwnerId !== targetOwnerId;
  return inTransaction(ctx, async (tx) => {
    const target = await findMailboxByName(tx, targetOwnerId, targetName);
    if (target?.status !== "selectable") {
      throw new DomainError("TRYCREATE", `no mailbox named "${targetName}"`);
    }
    const rows = await lockMailboxesOf(tx, [
      { userId: sourceOwnerId, mailboxId: input.mailboxId },
      { userId: targetOwnerId, mailboxId: target.id },
    ]);
    const sourceRow = rows.get(input.mailboxId);
    const targetRow = rows.get(target.id);
    if (sourceRow?.status !== "selectable") {
      throw new DomainError("NONEXISTENT", "the mailbox no longer exists");
    }
    if (targetRow?.status !== "selectable") {
      throw new DomainError("TRYCREATE", `no mailbox named "${targetName}"`);
    }
    const what = mode === "move" ? "MOVE" : "COPY";
    if (actorId !== sourceOwnerId) {
      await requireRights(tx, actorId, sourceRow.id, mode === "move" ? "rte" : "r", what);
    }
    const targetRights =
      actorId !== targetOwnerId
        ? await requireRights(tx, actorId, targetRow.id, "i", `${what} into "${targetName}"`)
        : null;
    const loaded = await loadMessages(tx, sourceRow.id, uids);
    const messages = acrossUsers
      ? await flagsAcross(
          tx,
          loaded,
          { sourceMailboxId: sourceRow.id, readerId: actorId !== sourceOwnerId ? actorId : null },
          targetRights,
        )
      : loaded;
    // A COPY adds to what the account stores; a MOVE within it does not (RFC 9208), but one to
    // another user's mailbox adds to that user's.
    if (mode === "copy" || acrossUsers) {
      await requireStorageQuota(
        tx,
        targetOwnerId,
        messages.reduce((sum, message) => sum + message.size, 0),
      );
    }
    const source = mailboxState(sourceRow, messages);
    const now = ctx.now();
    const sameMailbox = sourceRow.id === targetRow.id;
    const targetBefore = sameMailbox ? source : mailboxState(targetRow);
    const received = decide(
      { type: "ReceiveMessages", mode, sourceMailboxId: sourceRow.id, messages: incomingFrom(messages) },
      targetBefore,
      now,
    );
    let changes: MailboxStreamChange[] = [{ before: targetBefore, events: received }];
    if (mode === "move" && messages.length > 0) {
      const sendFrom = sameMailbox ? evolveAll(source, received) : source;
      const sent = decide(
        { type: "SendMessages", targetMailboxId: targetRow.id, uids: messages.map((m) => m.uid) },
        sendFrom,
        now,
      );
      changes = sameMailbox
        ? [{ before: source, events: [...received, ...sent] }]
        : [...changes, { before: source, events: sent }];
    }
    // Each stream's events are its owner's (their key, their history): one append per owner,
    // in this one transaction.
    const committed = acrossUsers
      ? await commitAcross(tx, ctx, [
          { userId: targetOwnerId, changes: changes.slice(0, 1) },
          { userId: sourceOwnerId, changes: changes.slice(1) },
        ])
      : await commitChanges(tx, input.userId, ctx.metadata, null, changes);
    const arrived = received.flatMap((event: MailboxEvent) =>
      event.type === "MessagesCopiedIn" || event.type === "MessagesMovedIn" ? event.data.messages : [],
    );
    return {
      targetMailboxId: targetRow.id,
      targetUidValidity: targetRow.uid_validity,
      sourceUids: arrived.map((message) => message.sourceUid),
      targetUids: arrived.map((message) => message.uid),
      lastGlobalPosition: committed.lastGlobalPosition,
    };
  });
}

async function commitAcross(
  tx: Parameters<typeof commitChanges>[0],
  ctx: DomainContext,
  owners: readonly { userId: string; changes: MailboxStreamChange[] }[],
): Promise<{ lastGlobalPosition: number | null }> {
  let lastGlobalPosition: number | null = null;
  for (const owner of owners) {
    const committed = await commitChanges(tx, owner.userId, ctx.metadata, null, owner.changes);
    if (committed.lastGlobalPosition !== null) {
      lastGlobalPosition = Math.max(lastGlobalPosition ?? 0, committed.lastGlobalPosition);
    }
  }
  return { lastGlobalPosition };
}

export async function copyMessages(ctx: DomainContext, input: TransferInput): Promise<TransferOutcome> {
  return transfer(ctx, input, "copy");
}

export async function moveMessages(ctx: DomainContext, input: TransferInput): Promise<TransferOutcome> {
  return transfer(ctx, input, "move");
}
