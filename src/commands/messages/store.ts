// STORE / UID STORE (RFC 3501 6.4.6) with UNCHANGEDSINCE (RFC 7162 3.1.3).

import type { MailboxEvent } from "../../events/domain/mailboxEvents.ts";
import type { Committed } from "../commit.ts";
import type { DomainContext } from "../context.ts";
import type { FlagOperation } from "../flags.ts";
import {
  conditionalStoreFailures,
  type MailboxCommand,
  type MailboxState,
  type MessageState,
} from "../mailbox/decider.ts";
import { type ActingUser, decideOnSelected, validUids } from "./selected.ts";

export interface StoreFlagsInput {
  userId: string;
  mailboxId: string;
  /** UIDs (the gateway turns sequence numbers and ranges into UIDs); absent UIDs are ignored. */
  uids: readonly number[];
  operation: FlagOperation;
  flags: readonly string[];
  unchangedSince?: number;
  /**
   * Another user acting on a shared mailbox: the rights the flags need are checked (RFC 4314 4),
   * and \Seen is his own (StoreFlags.privateSeenOf).
   */
  actorId?: string;
}

/** The grantee whose own \Seen a STORE changes, or undefined when the owner stores. */
function privateSeenOf(input: StoreFlagsInput): string | undefined {
  return input.actorId !== undefined && input.actorId !== input.userId ? input.actorId : undefined;
}

/**
 * The flags a message shows the one who stores: for a grantee, \Seen is his own instead of the
 * owner's.
 */
function visibleFlags(message: MessageState, reader: string | undefined): string[] {
  if (reader === undefined) return [...message.flags];
  const flags = message.flags.filter((flag) => flag !== "\\Seen");
  if (message.privateSeen) flags.push("\\Seen");
  return flags;
}

/**
 * RFC 4314 4: STORE of \Seen needs "s", of \Deleted "t", of any other flag "w". Replacing the
 * flags may change any of them, so it needs all three.
 */
export function rightsForStore(operation: FlagOperation, flags: readonly string[]): string {
  if (operation === "replace") return "stw";
  let needed = "";
  for (const flag of flags) {
    const lower = flag.toLowerCase();
    const right = lower === "\\seen" ? "s" : lower === "\\deleted" ? "t" : "w";
    if (!needed.includes(right)) needed += right;
  }
  return needed;
}

function actorOf(input: StoreFlagsInput): ActingUser | undefined {
  if (input.actorId === undefined) return undefined;
  return { actorId: input.actorId, needed: rightsForStore(input.operation, input.flags), what: "STORE" };
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

function commandOf(input: StoreFlagsInput): Extract<MailboxCommand, { type: "StoreFlags" }> {
  return {
    type: "StoreFlags",
    uids: validUids(input.uids),
    operation: input.operation,
    flags: input.flags,
    ...(input.unchangedSince !== undefined ? { unchangedSince: input.unchangedSince } : {}),
    ...(privateSeenOf(input) !== undefined ? { privateSeenOf: privateSeenOf(input) } : {}),
  };
}

/** Decided and committed on the selected mailbox (decideOnSelected). */
export async function storeFlags(ctx: DomainContext, input: StoreFlagsInput): Promise<StoreFlagsOutcome> {
  const command = commandOf(input);
  return decideOnSelected(
    ctx,
    { ...input, uids: command.uids, actor: actorOf(input) },
    command,
    (before, events, committed) => outcomeOf(command, before, events, committed),
  );
}

/**
 * STORE decided from what the caller read of the messages and of the mailbox's HIGHESTMODSEQ in
 * one snapshot (FETCH's rows, for the implicit \Seen): a round trip less. Committed under the
 * same precondition, so rows gone stale are read and decided again.
 */
export async function storeFlagsFrom(
  ctx: DomainContext,
  input: StoreFlagsInput,
  known: { highestModSeq: number; uidValidity: number; messages: ReadonlyMap<number, MessageState> },
): Promise<StoreFlagsOutcome> {
  // A grantee read his own \Seen in the rows, not the owner's the decision starts from.
  if (privateSeenOf(input) !== undefined) return storeFlags(ctx, input);
  const command = commandOf(input);
  const wanted = new Set(command.uids);
  const read: MailboxState = {
    initialized: true,
    mailboxId: input.mailboxId,
    uidValidity: known.uidValidity,
    // Not read: a STORE draws no UID.
    uidNext: 0,
    highestModSeq: known.highestModSeq,
    messages: new Map([...known.messages].filter(([uid]) => wanted.has(uid))),
  };
  return decideOnSelected(
    ctx,
    { ...input, uids: command.uids, actor: actorOf(input) },
    command,
    (before, events, committed) => outcomeOf(command, before, events, committed),
    read,
  );
}

function outcomeOf(
  command: Extract<MailboxCommand, { type: "StoreFlags" }>,
  before: MailboxState,
  events: readonly MailboxEvent[],
  committed: Committed,
): StoreFlagsOutcome {
  const after = committed.mailboxes.get(before.mailboxId) ?? before;
  const changed = [
    ...new Set(
      events.flatMap((event) =>
        event.type === "MessageFlagsChanged"
          ? event.data.messages.map((m) => m.uid)
          : event.type === "PrivateSeenChanged"
            ? event.data.uids
            : [],
      ),
    ),
  ].sort((a, b) => a - b);
  return {
    messages: [...after.messages]
      .sort(([a], [b]) => a - b)
      .map(([uid, message]) => ({
        uid,
        flags: visibleFlags(message, command.privateSeenOf),
        modseq: message.modseq,
      })),
    changed,
    modified: conditionalStoreFailures(command, before),
    previousHighestModSeq: before.highestModSeq,
    highestModSeq: after.highestModSeq,
    lastGlobalPosition: committed.lastGlobalPosition,
  };
}
