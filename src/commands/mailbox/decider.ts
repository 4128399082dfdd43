// The mailbox aggregate (stream mailbox-<id>): UIDs, MODSEQs, flags and the \Deleted set.
// Pure: no I/O, time passed in. The state holds the mailbox header and only the messages the
// command at hand touches (loaded from the write model by the handler): a state of every
// message would be too slow for a 100,000-message mailbox.

import type { HeaderSummary } from "../../events/domain/common.ts";
import { MAX_UID } from "../../events/domain/common.ts";
import {
  type ArrivingMessage,
  MAX_MESSAGES_PER_EVENT,
  type MailboxEvent,
  mailboxInitialized,
  messageAppended,
  messageFlagsChanged,
  messagesCopiedIn,
  messagesExpunged,
  messagesMovedIn,
  messagesMovedOut,
  privateSeenChanged,
} from "../../events/domain/mailboxEvents.ts";
import { DomainError } from "../errors.ts";
import {
  applyFlagOperation,
  canonicalFlags,
  type FlagOperation,
  hasDeletedFlag,
  sameFlags,
} from "../flags.ts";

export interface MessageState {
  modseq: number;
  flags: readonly string[];
  /**
   * The \Seen of the grantee a StoreFlags with `privateSeenOf` is decided for (read with the
   * messages then, absent otherwise): his own, apart from the owner's in `flags`.
   */
  privateSeen?: boolean;
}

export interface MailboxState {
  initialized: boolean;
  mailboxId: string;
  uidValidity: number;
  uidNext: number;
  /** Also the stream's version: every event takes the next MODSEQ. */
  highestModSeq: number;
  /** The messages relevant to the command being decided, by UID. */
  messages: ReadonlyMap<number, MessageState>;
}

/** A message arriving by COPY or MOVE: everything but its new UID. */
export interface IncomingMessage {
  sourceUid: number;
  flags: readonly string[];
  internalDate: string;
  size: number;
  blobDigest: string;
  headerSummary: HeaderSummary;
}

export type MailboxCommand =
  | { type: "InitializeMailbox"; mailboxId: string; userId: string; uidValidity: number; uidNext: number }
  | {
      type: "AppendMessage";
      flags: readonly string[];
      /** INTERNALDATE; the decision time when absent. */
      internalDate?: Date;
      size: number;
      blobDigest: string;
      headerSummary: HeaderSummary;
      /** The append limit in force (mailbox > user > global), null for none. */
      appendLimit: number | null;
      /**
       * The UID to keep (an import from a store that had one): at least UIDNEXT, so UIDs still
       * strictly increase and none is reused; the next UID when absent.
       */
      uid?: number;
    }
  | {
      type: "StoreFlags";
      uids: readonly number[];
      operation: FlagOperation;
      flags: readonly string[];
      /** CONDSTORE (RFC 7162 3.1.3): only messages whose MODSEQ is at most this change. */
      unchangedSince?: number;
      /**
       * A user other than the owner stores on a shared mailbox: \Seen is his own (RFC 4314 5.3),
       * a PrivateSeenChanged of his, and the other flags are the messages' (whose \Seen, the
       * owner's, a replace keeps). The messages' `privateSeen` must have been read for him.
       */
      privateSeenOf?: string;
    }
  /** EXPUNGE (uids absent) or UID EXPUNGE (RFC 4315): removes the \Deleted messages among them. */
  | { type: "Expunge"; uids?: readonly number[] }
  /** Every message in the state goes (DELETE of the mailbox). */
  | { type: "ExpungeAll" }
  /** REPLACE (RFC 8508): the replaced message goes, \Deleted or not. */
  | { type: "ExpungeReplaced"; uid: number }
  | {
      type: "ReceiveMessages";
      mode: "copy" | "move";
      sourceMailboxId: string;
      messages: readonly IncomingMessage[];
    }
  | { type: "SendMessages"; targetMailboxId: string; uids: readonly number[] };

function flagsChangedEvents(
  highestModSeq: number,
  operation: FlagOperation,
  requested: string[],
  changes: readonly { uid: number; flags: string[] }[],
): MailboxEvent[] {
  return chunks([...changes]).map((messages, index) => ({
    type: messageFlagsChanged.type,
    schemaVersion: messageFlagsChanged.schemaVersion,
    data: { modseq: highestModSeq + 1 + index, operation, requestedFlags: requested, messages },
  }));
}

const SEEN = "\\Seen";

/**
 * STORE by a grantee (StoreFlags.privateSeenOf): the flags other than \Seen change the messages
 * (MessageFlagsChanged, a replace keeping the owner's \Seen), then \Seen changes his own state
 * (PrivateSeenChanged, one event per direction), each event with the next MODSEQ.
 */
function decidePrivateStore(
  command: Extract<MailboxCommand, { type: "StoreFlags" }>,
  reader: string,
  requested: string[],
  failed: ReadonlySet<number>,
  state: MailboxState,
): MailboxEvent[] {
  const wantsSeen = requested.includes(SEEN);
  const shared = requested.filter((flag) => flag !== SEEN);
  const changes: { uid: number; flags: string[] }[] = [];
  const seen: number[] = [];
  const unseen: number[] = [];
  const uids = [...new Set(command.uids)].sort((a, b) => a - b);
  for (const uid of uids) {
    const message = state.messages.get(uid);
    if (!message || failed.has(uid)) continue;
    const flags =
      command.operation === "replace"
        ? canonicalFlags([...shared, ...message.flags.filter((flag) => flag === SEEN)])
        : shared.length === 0
          ? [...message.flags]
          : applyFlagOperation(message.flags, command.operation, shared);
    if (!sameFlags(flags, message.flags)) changes.push({ uid, flags });
    const was = message.privateSeen ?? false;
    const now = command.operation === "replace" ? wantsSeen : wantsSeen ? command.operation === "add" : was;
    if (now !== was) (now ? seen : unseen).push(uid);
  }
  const events = flagsChangedEvents(state.highestModSeq, command.operation, shared, changes);
  let modseq = state.highestModSeq + events.length;
  for (const [value, list] of [
    [true, seen],
    [false, unseen],
  ] as const) {
    for (const part of chunks(list)) {
      modseq += 1;
      events.push({
        type: privateSeenChanged.type,
        schemaVersion: privateSeenChanged.schemaVersion,
        data: { modseq, userId: reader, seen: value, uids: part },
      });
    }
  }
  return events;
}

export function initialState(mailboxId = ""): MailboxState {
  return { initialized: false, mailboxId, uidValidity: 0, uidNext: 1, highestModSeq: 0, messages: new Map() };
}

function withMessages(
  state: MailboxState,
  change: (messages: Map<number, MessageState>) => void,
): MailboxState {
  const messages = new Map(state.messages);
  change(messages);
  return { ...state, messages };
}

export function evolve(state: MailboxState, event: MailboxEvent): MailboxState {
  switch (event.type) {
    case "MailboxInitialized":
      return {
        ...state,
        initialized: true,
        mailboxId: event.data.mailboxId,
        uidValidity: event.data.uidValidity,
        uidNext: event.data.uidNext,
        highestModSeq: event.data.modseq,
      };
    case "MessageAppended": {
      const { uid, modseq, flags } = event.data;
      const next = withMessages(state, (messages) => messages.set(uid, { modseq, flags }));
      return { ...next, uidNext: Math.max(state.uidNext, uid + 1), highestModSeq: modseq };
    }
    case "MessageFlagsChanged": {
      const { modseq } = event.data;
      const next = withMessages(state, (messages) => {
        for (const { uid, flags } of event.data.messages) {
          if (messages.has(uid)) messages.set(uid, { modseq, flags });
        }
      });
      return { ...next, highestModSeq: modseq };
    }
    case "PrivateSeenChanged": {
      const { modseq, seen } = event.data;
      const next = withMessages(state, (messages) => {
        for (const uid of event.data.uids) {
          const message = messages.get(uid);
          // The state knows one user's \Seen, the deciding grantee's (MessageState.privateSeen).
          if (message) messages.set(uid, { ...message, modseq, privateSeen: seen });
        }
      });
      return { ...next, highestModSeq: modseq };
    }
    case "MessagesExpunged":
    case "MessagesMovedOut": {
      const next = withMessages(state, (messages) => {
        for (const uid of event.data.uids) messages.delete(uid);
      });
      return { ...next, highestModSeq: event.data.modseq };
    }
    case "MessagesCopiedIn":
    case "MessagesMovedIn": {
      const { modseq } = event.data;
      let uidNext = state.uidNext;
      const next = withMessages(state, (messages) => {
        for (const message of event.data.messages) {
          messages.set(message.uid, { modseq, flags: message.flags });
          uidNext = Math.max(uidNext, message.uid + 1);
        }
      });
      return { ...next, uidNext, highestModSeq: modseq };
    }
    default: {
      const unknown: never = event;
      throw new Error(`unknown mailbox event ${(unknown as { type: string }).type}`);
    }
  }
}

function chunks<T>(items: readonly T[], size = MAX_MESSAGES_PER_EVENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function requireInitialized(state: MailboxState): void {
  if (!state.initialized) throw new DomainError("NONEXISTENT", "no such mailbox");
}

function requireUidSpace(state: MailboxState, count: number): void {
  if (state.uidNext + count - 1 > MAX_UID) {
    throw new DomainError("LIMIT", "the mailbox has used up its UIDs; copy its messages to a new mailbox");
  }
}

export function decide(command: MailboxCommand, state: MailboxState, now: Date): MailboxEvent[] {
  switch (command.type) {
    case "InitializeMailbox": {
      if (state.initialized)
        throw new DomainError("ALREADYEXISTS", "the mailbox stream is already initialized");
      return [
        {
          type: mailboxInitialized.type,
          schemaVersion: mailboxInitialized.schemaVersion,
          data: {
            mailboxId: command.mailboxId,
            userId: command.userId,
            uidValidity: command.uidValidity,
            uidNext: command.uidNext,
            modseq: 1,
          },
        },
      ];
    }
    case "AppendMessage": {
      requireInitialized(state);
      if (command.appendLimit !== null && command.size > command.appendLimit) {
        throw new DomainError(
          "TOOBIG",
          `the message is ${command.size} octets, above this mailbox's limit of ${command.appendLimit}`,
        );
      }
      requireUidSpace(state, 1);
      if (command.uid !== undefined && (command.uid < state.uidNext || command.uid > MAX_UID)) {
        throw new DomainError(
          "CANNOT",
          `UID ${command.uid} cannot be kept: the mailbox's next UID is ${state.uidNext} (UIDs only increase)`,
        );
      }
      return [
        {
          type: messageAppended.type,
          schemaVersion: messageAppended.schemaVersion,
          data: {
            uid: command.uid ?? state.uidNext,
            modseq: state.highestModSeq + 1,
            flags: canonicalFlags(command.flags),
            internalDate: (command.internalDate ?? now).toISOString(),
            size: command.size,
            blobDigest: command.blobDigest,
            headerSummary: command.headerSummary,
          },
        },
      ];
    }
    case "StoreFlags": {
      requireInitialized(state);
      const requested = canonicalFlags(command.flags);
      const changes: { uid: number; flags: string[] }[] = [];
      const failed = new Set(conditionalStoreFailures(command, state));
      const reader = command.privateSeenOf;
      if (reader !== undefined) return decidePrivateStore(command, reader, requested, failed, state);
      for (const uid of new Set(command.uids)) {
        const message = state.messages.get(uid);
        if (!message || failed.has(uid)) continue;
        const flags = applyFlagOperation(message.flags, command.operation, requested);
        if (!sameFlags(flags, message.flags)) changes.push({ uid, flags });
      }
      changes.sort((a, b) => a.uid - b.uid);
      return flagsChangedEvents(state.highestModSeq, command.operation, requested, changes);
    }
    case "Expunge":
    case "ExpungeAll": {
      requireInitialized(state);
      const wanted = command.type === "Expunge" && command.uids ? new Set(command.uids) : undefined;
      const uids = [...state.messages]
        .filter(([uid, message]) =>
          command.type === "ExpungeAll"
            ? true
            : hasDeletedFlag(message.flags) && (!wanted || wanted.has(uid)),
        )
        .map(([uid]) => uid)
        .sort((a, b) => a - b);
      const cause =
        command.type === "ExpungeAll"
          ? "mailbox-deleted"
          : command.uids
            ? "uid-expunge"
            : ("expunge" as const);
      return chunks(uids).map((part, index) => ({
        type: messagesExpunged.type,
        schemaVersion: messagesExpunged.schemaVersion,
        data: { modseq: state.highestModSeq + 1 + index, uids: part, cause },
      }));
    }
    case "ExpungeReplaced": {
      requireInitialized(state);
      if (!state.messages.has(command.uid))
        throw new DomainError("NONEXISTENT", `no message with UID ${command.uid}`);
      return [
        {
          type: messagesExpunged.type,
          schemaVersion: messagesExpunged.schemaVersion,
          data: { modseq: state.highestModSeq + 1, uids: [command.uid], cause: "replace" },
        },
      ];
    }
    case "ReceiveMessages": {
      requireInitialized(state);
      requireUidSpace(state, command.messages.length);
      const arriving: ArrivingMessage[] = command.messages.map((message, index) => ({
        uid: state.uidNext + index,
        sourceUid: message.sourceUid,
        flags: canonicalFlags(message.flags),
        internalDate: message.internalDate,
        size: message.size,
        blobDigest: message.blobDigest,
        headerSummary: message.headerSummary,
      }));
      const definition = command.mode === "copy" ? messagesCopiedIn : messagesMovedIn;
      return chunks(arriving).map((messages, index) => ({
        type: definition.type,
        schemaVersion: definition.schemaVersion,
        data: { modseq: state.highestModSeq + 1 + index, sourceMailboxId: command.sourceMailboxId, messages },
      })) as MailboxEvent[];
    }
    case "SendMessages": {
      requireInitialized(state);
      const uids = [...new Set(command.uids)].filter((uid) => state.messages.has(uid)).sort((a, b) => a - b);
      return chunks(uids).map((part, index) => ({
        type: messagesMovedOut.type,
        schemaVersion: messagesMovedOut.schemaVersion,
        data: {
          modseq: state.highestModSeq + 1 + index,
          targetMailboxId: command.targetMailboxId,
          uids: part,
        },
      }));
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown mailbox command ${(unknown as { type: string }).type}`);
    }
  }
}

/** UIDs a conditional STORE must leave alone and report as MODIFIED (RFC 7162 3.1.3). */
export function conditionalStoreFailures(
  command: Extract<MailboxCommand, { type: "StoreFlags" }>,
  state: MailboxState,
): number[] {
  const { unchangedSince } = command;
  if (unchangedSince === undefined) return [];
  return [...new Set(command.uids)]
    .filter((uid) => {
      const message = state.messages.get(uid);
      return message !== undefined && message.modseq > unchangedSince;
    })
    .sort((a, b) => a - b);
}

export function evolveAll(state: MailboxState, events: readonly MailboxEvent[]): MailboxState {
  return events.reduce(evolve, state);
}
