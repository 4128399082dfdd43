// STORE / UID STORE (RFC 3501 6.4.6) with UNCHANGEDSINCE (RFC 7162 3.1.3).

import type { MailboxEvent } from "../../events/domain/mailboxEvents.ts";
import { type Committed, commitChanges, commitOptimistically } from "../commit.ts";
import { type CommandContext, inTransaction } from "../context.ts";
import { DomainError } from "../errors.ts";
import type { FlagOperation } from "../flags.ts";
import {
  conditionalStoreFailures,
  decide,
  type MailboxCommand,
  type MailboxState,
  type MessageState,
} from "../mailbox/decider.ts";
import { mailboxState, readMailboxForDecision } from "../writeModel.ts";
import { lockSelectedWithMessages, validUids } from "./selected.ts";

export interface StoreFlagsInput {
  userId: string;
  mailboxId: string;
  /** UIDs (the gateway turns sequence numbers and ranges into UIDs); absent UIDs are ignored. */
  uids: readonly number[];
  operation: FlagOperation;
  flags: readonly string[];
  unchangedSince?: number;
}

export interface StoreFlagsOutcome {
  /** Every requested message that exists, with its flags and MODSEQ after the command. */
  messages: { uid: number; flags: string[]; modseq: number }[];
  /** UIDs whose flags changed. */
  changed: number[];
  /** UNCHANGEDSINCE failures, left unchanged: the gateway answers OK [MODIFIED <set>]. */
  modified: number[];
  /** The mailbox's HIGHESTMODSEQ the command decided on, under its lock. */
  previousHighestModSeq: number;
  highestModSeq: number;
  lastGlobalPosition: number | null;
}

/**
 * Decides from an unlocked read and commits in one statement (commitOptimistically); when another
 * writer moved the mailbox meanwhile, decides again under its lock.
 */
export async function storeFlags(ctx: CommandContext, input: StoreFlagsInput): Promise<StoreFlagsOutcome> {
  const uids = validUids(input.uids);
  const command: Extract<MailboxCommand, { type: "StoreFlags" }> = {
    type: "StoreFlags",
    uids,
    operation: input.operation,
    flags: input.flags,
    ...(input.unchangedSince !== undefined ? { unchangedSince: input.unchangedSince } : {}),
  };
  const read = await readMailboxForDecision(ctx.pool, input.userId, input.mailboxId, uids);
  if (read === null) throw new DomainError("NONEXISTENT", "the mailbox no longer exists");
  const decided = decide(command, read, ctx.now());
  const fast = await commitOptimistically(ctx.pool, input.userId, ctx.metadata, {
    before: read,
    events: decided,
  });
  if (fast) {
    if (fast.lastGlobalPosition !== null) ctx.onCommitted?.();
    return outcomeOf(command, read, decided, fast);
  }
  return inTransaction(ctx, async (tx) => {
    const { row, messages } = await lockSelectedWithMessages(tx, input.userId, input.mailboxId, uids);
    const before = mailboxState(row, messages);
    const events = decide(command, before, ctx.now());
    const committed = await commitChanges(tx, input.userId, ctx.metadata, null, [{ before, events }]);
    return outcomeOf(command, before, events, committed);
  });
}

/**
 * STORE decided from what the caller read of the messages and of the mailbox's HIGHESTMODSEQ in
 * one snapshot (FETCH's rows, for the implicit \Seen): committed in one statement if nothing
 * moved since, else decided again from a fresh read (storeFlags). A round trip less.
 */
export async function storeFlagsFrom(
  ctx: CommandContext,
  input: StoreFlagsInput,
  known: { highestModSeq: number; uidValidity: number; messages: ReadonlyMap<number, MessageState> },
): Promise<StoreFlagsOutcome> {
  const uids = validUids(input.uids);
  const command: Extract<MailboxCommand, { type: "StoreFlags" }> = {
    type: "StoreFlags",
    uids,
    operation: input.operation,
    flags: input.flags,
    ...(input.unchangedSince !== undefined ? { unchangedSince: input.unchangedSince } : {}),
  };
  const wanted = new Set(uids);
  const read: MailboxState = {
    initialized: true,
    mailboxId: input.mailboxId,
    uidValidity: known.uidValidity,
    // Not read: a STORE draws no UID (and a wrong guess could only fail the precondition).
    uidNext: 0,
    highestModSeq: known.highestModSeq,
    messages: new Map([...known.messages].filter(([uid]) => wanted.has(uid))),
  };
  const decided = decide(command, read, ctx.now());
  const fast = await commitOptimistically(ctx.pool, input.userId, ctx.metadata, {
    before: read,
    events: decided,
  });
  if (fast === null) return storeFlags(ctx, input);
  if (fast.lastGlobalPosition !== null) ctx.onCommitted?.();
  return outcomeOf(command, read, decided, fast);
}

function outcomeOf(
  command: Extract<MailboxCommand, { type: "StoreFlags" }>,
  before: MailboxState,
  events: readonly MailboxEvent[],
  committed: Committed,
): StoreFlagsOutcome {
  const after = committed.mailboxes.get(before.mailboxId) ?? before;
  const changed = events.flatMap((event) =>
    event.type === "MessageFlagsChanged" ? event.data.messages.map((m) => m.uid) : [],
  );
  return {
    messages: [...after.messages]
      .sort(([a], [b]) => a - b)
      .map(([uid, message]) => ({ uid, flags: [...message.flags], modseq: message.modseq })),
    changed,
    modified: conditionalStoreFailures(command, before),
    previousHighestModSeq: before.highestModSeq,
    highestModSeq: after.highestModSeq,
    lastGlobalPosition: committed.lastGlobalPosition,
  };
}
