// EXPUNGE (RFC 3501 6.4.3) and UID EXPUNGE (RFC 4315): the \Deleted set comes from the mailbox
// index, read in the statement's snapshot and committed only if nothing moved since (else read
// again under the mailbox's lock), never from a view.

import type { MailboxEvent } from "../../events/domain/mailboxEvents.ts";
import { type Committed, commitChanges, commitOptimistically } from "../commit.ts";
import { type CommandContext, inTransaction } from "../context.ts";
import { DomainError } from "../errors.ts";
import { decide, type MailboxState } from "../mailbox/decider.ts";
import { mailboxState, readMailboxForDecision } from "../writeModel.ts";
import { lockSelectedWithMessages, validUids } from "./selected.ts";

export interface ExpungeOutcome {
  expungedUids: number[];
  /** The mailbox's HIGHESTMODSEQ the command decided on, under its lock. */
  previousHighestModSeq: number;
  highestModSeq: number;
  lastGlobalPosition: number | null;
}

export async function expungeMessages(
  ctx: CommandContext,
  input: { userId: string; mailboxId: string; uids?: readonly number[] },
): Promise<ExpungeOutcome> {
  const command = input.uids
    ? ({ type: "Expunge", uids: validUids(input.uids) } as const)
    : ({ type: "Expunge" } as const);
  const read = await readMailboxForDecision(ctx.pool, input.userId, input.mailboxId, "deleted");
  if (read === null) throw new DomainError("NONEXISTENT", "the mailbox no longer exists");
  const decided = decide(command, read, ctx.now());
  const fast = await commitOptimistically(ctx.pool, input.userId, ctx.metadata, {
    before: read,
    events: decided,
  });
  if (fast) {
    if (fast.lastGlobalPosition !== null) ctx.onCommitted?.();
    return outcomeOf(read, decided, fast);
  }
  return inTransaction(ctx, async (tx) => {
    const { row, messages } = await lockSelectedWithMessages(tx, input.userId, input.mailboxId, "deleted");
    const before = mailboxState(row, messages);
    const events = decide(command, before, ctx.now());
    return outcomeOf(
      before,
      events,
      await commitChanges(tx, input.userId, ctx.metadata, null, [{ before, events }]),
    );
  });
}

function outcomeOf(
  before: MailboxState,
  events: readonly MailboxEvent[],
  committed: Committed,
): ExpungeOutcome {
  return {
    expungedUids: events.flatMap((event) => (event.type === "MessagesExpunged" ? event.data.uids : [])),
    previousHighestModSeq: before.highestModSeq,
    highestModSeq: committed.mailboxes.get(before.mailboxId)?.highestModSeq ?? before.highestModSeq,
    lastGlobalPosition: committed.lastGlobalPosition,
  };
}
