// EXPUNGE (RFC 3501 6.4.3) and UID EXPUNGE (RFC 4315): the \Deleted set comes from the mailbox
// index, read in the statement's snapshot and committed only if nothing moved since (else read
// again under the mailbox's lock), never from a view.

import type { MailboxEvent } from "../../events/domain/mailboxEvents.ts";
import type { Committed } from "../commit.ts";
import type { DomainContext } from "../context.ts";
import type { MailboxState } from "../mailbox/decider.ts";
import { decideOnSelected, validUids } from "./selected.ts";

export interface ExpungeOutcome {
  expungedUids: number[];
  /** The mailbox's HIGHESTMODSEQ the command decided on, under its lock. */
  previousHighestModSeq: number;
  highestModSeq: number;
  lastGlobalPosition: number | null;
}

export async function expungeMessages(
  ctx: DomainContext,
  input: { userId: string; mailboxId: string; uids?: readonly number[]; actorId?: string },
): Promise<ExpungeOutcome> {
  const command = input.uids
    ? ({ type: "Expunge", uids: validUids(input.uids) } as const)
    : ({ type: "Expunge" } as const);
  // RFC 4314 4: EXPUNGE needs "e" on the mailbox.
  const actor =
    input.actorId === undefined ? undefined : { actorId: input.actorId, needed: "e", what: "EXPUNGE" };
  return decideOnSelected(ctx, { ...input, uids: "deleted", actor }, command, outcomeOf);
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
