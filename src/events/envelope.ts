// The one envelope every event travels in (DESIGN.md, Events).
import { randomBytes } from "node:crypto";
import { monotonicFactory } from "ulid";

export interface EventMetadata {
  /** The account the event belongs to: the Kafka key, the isolation boundary. */
  userId: string;
  /** Who acted: a user name, "admin" for the CLI, "system" for background jobs. */
  actor?: string;
  sessionId?: string;
  nodeId?: string;
  remoteAddress?: string;
  /** What the client said of itself in ID (RFC 2971). */
  clientId?: Record<string, string | null>;
  command?: { tag: string; name: string };
  correlationId?: string;
  causationId?: string;
  /** A message delivered by an MTA (actor "lmtp"): its envelope, as the MTA gave it. */
  delivery?: DeliveryMetadata;
}

/** What an LMTP delivery's events record of its envelope (src/lmtp). */
export interface DeliveryMetadata {
  /** MAIL FROM, "" for the null sender <>. */
  mailFrom: string;
  /** The RCPT TO address this event's mailbox was chosen for. */
  rcptTo: string;
  /** The message's Message-ID, when it has one. */
  messageId?: string;
  /** SHA-256 of the message as received, before Return-Path and Delivered-To were added. */
  contentDigest: string;
}

/** An event as a decider produces it: what was decided, not yet positioned in the log. */
export interface NewEvent<Type extends string = string, Data = unknown> {
  type: Type;
  schemaVersion: number;
  data: Data;
}

/** An event as the store returns it. */
export interface RecordedEvent<Type extends string = string, Data = unknown> extends NewEvent<Type, Data> {
  eventId: string;
  streamId: string;
  streamVersion: number;
  globalPosition: number;
  recordedAt: Date;
  metadata: EventMetadata;
}

/**
 * Random numbers in [0, 1) for ULIDs, from the system's cryptographic source drawn 4 KiB at a
 * time: ulid's default asks crypto for one byte per character (16 calls per id).
 */
function pooledRandom(): () => number {
  let pool = randomBytes(4096);
  let offset = 0;
  return () => {
    if (offset === pool.length) {
      pool = randomBytes(4096);
      offset = 0;
    }
    // A byte over 256: ulid's floor(x * 32) takes its top five bits, uniform over 32 letters.
    return pool[offset++]! / 256;
  };
}

const nextUlid = monotonicFactory(pooledRandom());

/** ULIDs sort by creation time and stay monotonic within one process. */
export function newEventId(): string {
  return nextUlid();
}

export const userStreamId = (userId: string): string => `user-${userId}`;
export const mailboxStreamId = (mailboxId: string): string => `mailbox-${mailboxId}`;
