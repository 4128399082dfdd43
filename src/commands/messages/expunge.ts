// EXPUNGE (RFC 3501 6.4.3) and UID EXPUNGE (RFC 4315): the \Deleted set comes from the
// write model under the mailbox's lock, never from a view.
import { commitChanges } from "../commit.ts";
import { type CommandContext, inTransaction } from "../context.ts";
import { decide } from "../mailbox/decider.ts";
import { mailboxState } from "../writeModel.ts";
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
  return inTransaction(ctx, async (tx) => {
    const { row, messages } = await lockSelectedWithMessages(tx, input.userId, input.mailboxId, "deleted");
    const before = mailboxState(row, messages);
    const events = decide(
      input.uids ? { type: "Expunge", uids: validUids(input.uids) } : { type: "Expunge" },
      before,
      ctx.now(),
    );
    const committed = await commitChanges(tx, input.userId, ctx.metadata, null, [{ before, events }]);
    return {
      expungedUids: events.flatMap((event) => (event.type === "MessagesExpunged" ? event.data.uids : [])),
      previousHighestModSeq: before.highestModSeq,
      highestModSeq: committed.mailboxes.get(row.id)?.highestModSeq ?? before.highestModSeq,
      lastGlobalPosition: committed.lastGlobalPosition,
    };
  });
}
