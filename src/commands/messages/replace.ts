// REPLACE and UID REPLACE (RFC 8508): a new message appended to a mailbox and the replaced one
// expunged from the selected mailbox, atomically: the body is stored first, then ONE transaction
// locks both mailbox rows (in id order, as MOVE does), decides both changes and commits their
// events and index rows together, so no reader ever sees both messages or neither.
import type { MailboxEvent } from "../../events/domain/mailboxEvents.ts";
import { summarizeHeader } from "../../events/messageSummary.ts";
import { commitChanges, type MailboxStreamChange } from "../commit.ts";
import { type DomainContext, inTransaction } from "../context.ts";
import { DomainError } from "../errors.ts";
import { decide, evolveAll } from "../mailbox/decider.ts";
import { canonicalMailboxName } from "../names.ts";
import {
  findMailboxByName,
  findUserById,
  loadMessages,
  lockMailboxes,
  mailboxState,
  requireStorageQuota,
} from "../writeModel.ts";
import { type AppendMessageInput, effectiveAppendLimit, storeBody, tooBig } from "./append.ts";

export interface ReplaceInput {
  userId: string;
  /** The selected mailbox, which holds the message replaced. */
  mailboxId: string;
  /** The UID of the message replaced. */
  uid: number;
  /** Where the new message goes (the selected mailbox or another). */
  targetName: string;
  message: AppendMessageInput;
}

export interface ReplaceOutcome {
  targetMailboxId: string;
  targetUidValidity: number;
  /** The new message's UID in the target (APPENDUID). */
  uid: number;
  lastGlobalPosition: number;
}

export async function replaceMessage(ctx: DomainContext, input: ReplaceInput): Promise<ReplaceOutcome> {
  const targetName = canonicalMailboxName(input.targetName);
  const user = await findUserById(ctx.pool, input.userId);
  if (!user) throw new DomainError("NONEXISTENT", "no such user");
  const { message } = input;
  const globalLimit = ctx.appendLimit;
  const userLimit = user.append_limit;
  // The declared size against the least specific limits before a byte is stored; the mailbox's
  // own limit is checked under its lock.
  const limitBefore = effectiveAppendLimit(null, userLimit, globalLimit);
  if (limitBefore !== null && message.declaredSize !== undefined && message.declaredSize > limitBefore) {
    throw tooBig(message.declaredSize, limitBefore);
  }
  const body = await storeBody(ctx, message.body);
  // A body stored but refused stays unreferenced: garbage collection removes it.
  if (body.staged) await ctx.blobStore.put(body.staged.content);
  const { stored, head } = body;

  return inTransaction(ctx, async (tx) => {
    const target = await findMailboxByName(tx, input.userId, targetName);
    if (target?.status !== "selectable")
      throw new DomainError("TRYCREATE", `no mailbox named "${targetName}"`);
    const rows = await lockMailboxes(tx, input.userId, [input.mailboxId, target.id]);
    const sourceRow = rows.get(input.mailboxId);
    const targetRow = rows.get(target.id);
    if (sourceRow?.status !== "selectable")
      throw new DomainError("NONEXISTENT", "the mailbox no longer exists");
    if (targetRow?.status !== "selectable")
      throw new DomainError("TRYCREATE", `no mailbox named "${targetName}"`);
    const [replaced] = await loadMessages(tx, sourceRow.id, [input.uid]);
    if (replaced === undefined) {
      throw new DomainError("NONEXISTENT", `the message to replace (UID ${input.uid}) no longer exists`);
    }
    const limit = effectiveAppendLimit(targetRow.append_limit, userLimit, globalLimit);
    if (limit !== null && stored.size > limit) throw tooBig(stored.size, limit);
    // The account holds the new message instead of the old one: only the growth counts (RFC 9208).
    if (user.storage_limit !== null) await requireStorageQuota(tx, input.userId, stored.size - replaced.size);

    const now = ctx.now();
    const sameMailbox = sourceRow.id === targetRow.id;
    const source = mailboxState(sourceRow, [replaced]);
    const targetBefore = sameMailbox ? source : mailboxState(targetRow);
    const appended = decide(
      {
        type: "AppendMessage",
        flags: message.flags ?? [],
        ...(message.internalDate ? { internalDate: message.internalDate } : {}),
        size: stored.size,
        blobDigest: stored.digest,
        headerSummary: summarizeHeader(head),
        appendLimit: limit,
      },
      targetBefore,
      now,
    );
    const expungeFrom = sameMailbox ? evolveAll(source, appended) : source;
    const expunged = decide({ type: "ExpungeReplaced", uid: replaced.uid }, expungeFrom, now);
    const changes: MailboxStreamChange[] = sameMailbox
      ? [{ before: source, events: [...appended, ...expunged] }]
      : [
          { before: targetBefore, events: appended },
          { before: source, events: expunged },
        ];
    const committed = await commitChanges(tx, input.userId, ctx.metadata, null, changes);
    const event = appended[0] as Extract<MailboxEvent, { type: "MessageAppended" }>;
    return {
      targetMailboxId: targetRow.id,
      targetUidValidity: targetRow.uid_validity,
      uid: event.data.uid,
      lastGlobalPosition: committed.lastGlobalPosition!,
    };
  });
}
