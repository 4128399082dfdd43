// COPY (RFC 3501 6.4.7) and MOVE (RFC 6851) to another mailbox of the same user, with the
// UIDs COPYUID needs (RFC 4315). MOVE commits the copy and the expunge together, over both
// mailbox streams; the two rows are locked in id order so opposite moves cannot deadlock.
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
  lockMailboxes,
  mailboxState,
  requireStorageQuota,
} from "../writeModel.ts";
import { validUids } from "./selected.ts";

export interface TransferInput {
  userId: string;
  /** The selected (source) mailbox. */
  mailboxId: string;
  uids: readonly number[];
  targetName: string;
  /**
   * Another user acting on the owner's mailboxes (RFC 4314 4): the source needs "r" (and "t" and
   * "e" for MOVE), the target "i".
   */
  actorId?: string;
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
  return inTransaction(ctx, async (tx) => {
    const target = await findMailboxByName(tx, input.userId, targetName);
    if (target?.status !== "selectable") {
      throw new DomainError("TRYCREATE", `no mailbox named "${targetName}"`);
    }
    const rows = await lockMailboxes(tx, input.userId, [input.mailboxId, target.id]);
    const sourceRow = rows.get(input.mailboxId);
    const targetRow = rows.get(target.id);
    if (sourceRow?.status !== "selectable") {
      throw new DomainError("NONEXISTENT", "the mailbox no longer exists");
    }
    if (targetRow?.status !== "selectable") {
      throw new DomainError("TRYCREATE", `no mailbox named "${targetName}"`);
    }
    if (input.actorId !== undefined && input.actorId !== input.userId) {
      const what = mode === "move" ? "MOVE" : "COPY";
      await requireRights(tx, input.actorId, sourceRow.id, mode === "move" ? "rte" : "r", what);
      await requireRights(tx, input.actorId, targetRow.id, "i", `${what} into "${targetName}"`);
    }
    const messages = await loadMessages(tx, sourceRow.id, uids);
    // A COPY adds to what the account stores; a MOVE within it does not (RFC 9208).
    if (mode === "copy") {
      await requireStorageQuota(
        tx,
        input.userId,
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
    const committed = await commitChanges(tx, input.userId, ctx.metadata, null, changes);
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

export async function copyMessages(ctx: DomainContext, input: TransferInput): Promise<TransferOutcome> {
  return transfer(ctx, input, "copy");
}

export async function moveMessages(ctx: DomainContext, input: TransferInput): Promise<TransferOutcome> {
  return transfer(ctx, input, "move");
}
