// Events of a mailbox stream (`mailbox-<mailboxId>`): its messages. The MODSEQ of each event
// is its version in the stream (the first event, MailboxInitialized, is MODSEQ 1), so MODSEQ
// increases with every event of the mailbox (RFC 7162; DESIGN.md contract 4), and a message's
// MODSEQ is that of the last event that changed it. Events state what was decided (UIDs,
// flags, digests), never the body. Big operations are split into several events of at most
// MAX_MESSAGES_PER_EVENT messages, each with its own MODSEQ.
import { z } from "zod";
import {
  flagListSchema,
  mailboxIdSchema,
  modSeqSchema,
  storedMessageFields,
  uidNextSchema,
  uidSchema,
  uidValiditySchema,
} from "./common.ts";
import { defineEvent, type EventOf } from "./eventDefinition.ts";

export const MAX_MESSAGES_PER_EVENT = 1000;

/** The stream's first event: the mailbox's identity for readers of this stream alone. */
export const mailboxInitialized = defineEvent(
  "MailboxInitialized",
  1,
  z.object({
    mailboxId: mailboxIdSchema,
    userId: z.string().min(1),
    uidValidity: uidValiditySchema,
    uidNext: uidNextSchema,
    modseq: modSeqSchema,
  }),
);

export const messageAppended = defineEvent(
  "MessageAppended",
  1,
  z.object({ ...storedMessageFields, modseq: modSeqSchema }),
);

/** STORE: the complete new flag list of each message whose flags changed. */
export const messageFlagsChanged = defineEvent(
  "MessageFlagsChanged",
  1,
  z.object({
    modseq: modSeqSchema,
    /** What the client asked, for auditors; `messages` is what it resulted in. */
    operation: z.enum(["add", "remove", "replace"]),
    requestedFlags: flagListSchema,
    messages: z.array(z.object({ uid: uidSchema, flags: flagListSchema })).min(1),
  }),
);

export const messagesExpunged = defineEvent(
  "MessagesExpunged",
  1,
  z.object({
    modseq: modSeqSchema,
    uids: z.array(uidSchema).min(1),
    cause: z.enum(["expunge", "uid-expunge", "mailbox-deleted", "replace"]),
  }),
);

const arrivingMessage = z.object({ ...storedMessageFields, sourceUid: uidSchema });

/** Messages arriving from another mailbox of the user: the data of COPY and MOVE alike. */
const arrivingBatch = z.object({
  modseq: modSeqSchema,
  sourceMailboxId: mailboxIdSchema,
  messages: z.array(arrivingMessage).min(1),
});

/** COPY: new messages (new UIDs here) with the flags, date and body of the source's. */
export const messagesCopiedIn = defineEvent("MessagesCopiedIn", 1, arrivingBatch);

/** MOVE (RFC 6851) and RENAME INBOX: the target side; the source records MessagesMovedOut. */
export const messagesMovedIn = defineEvent("MessagesMovedIn", 1, arrivingBatch);

/** MOVE: messages that left this mailbox (expunged here) for the target, in the same commit. */
export const messagesMovedOut = defineEvent(
  "MessagesMovedOut",
  1,
  z.object({
    modseq: modSeqSchema,
    targetMailboxId: mailboxIdSchema,
    uids: z.array(uidSchema).min(1),
  }),
);

/**
 * \Seen kept per user (RFC 4314 5.3): a user other than the owner, acting on a mailbox shared
 * with him, saw (`seen`) or unsaw these messages, for himself alone; the owner's \Seen, in the
 * messages' flags, is untouched. Like every mailbox event it takes the next MODSEQ, and so does
 * each of its messages: CONDSTORE clients resynchronize, and the other users find their flags
 * unchanged (RFC 7162 3.1 lets a MODSEQ move without a visible change).
 */
export const privateSeenChanged = defineEvent(
  "PrivateSeenChanged",
  1,
  z.object({
    modseq: modSeqSchema,
    /** Whose \Seen: the acting user's id, never the owner's. */
    userId: z.string().min(1),
    seen: z.boolean(),
    uids: z.array(uidSchema).min(1),
  }),
);

export const mailboxEventDefinitions = [
  mailboxInitialized,
  messageAppended,
  messageFlagsChanged,
  messagesExpunged,
  messagesCopiedIn,
  messagesMovedIn,
  messagesMovedOut,
  privateSeenChanged,
] as const;

export type MailboxEvent = EventOf<(typeof mailboxEventDefinitions)[number]>;
export type MailboxEventType = MailboxEvent["type"];
export type MailboxEventOfType<T extends MailboxEventType> = Extract<MailboxEvent, { type: T }>;
export type ArrivingMessage = z.infer<typeof arrivingMessage>;
