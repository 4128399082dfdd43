// What every command handler is given, and how it runs its transaction.
import { randomInt } from "node:crypto";
import {
  type DatabasePool,
  type DatabaseTransactionConnection,
  UniqueIntegrityConstraintViolationError,
} from "slonik";
import type { BlobStore } from "../events/blobs/blobStore.ts";
import { eventWrittenIn, mayHaveCommitted, resolveLostCommit } from "../events/commitOutcome.ts";
import { postgresErrorCode } from "../events/db.ts";
import type { EventMetadata } from "../events/envelope.ts";
import { DomainError } from "./errors.ts";
import { MetadataLimitError } from "./metadata/decider.ts";

/** What a domain command runs with (the gateway's CommandContext, in src/imap-gateway/module.ts, is what an IMAP command module runs with; mail/services.ts makes this from that). */
export interface DomainContext {
  pool: DatabasePool;
  blobStore: BlobStore;
  /** Who acts, from where; the handler adds the userId of the account concerned. */
  metadata: Omit<EventMetadata, "userId">;
  now: () => Date;
  /** The global APPENDLIMIT (APPEND_LIMIT), the least specific of the three levels; null: none. */
  appendLimit?: number | null;
  /**
   * Called after each committed command transaction: wakes the log's tailing readers (relay,
   * embedded projections). A hint only: readers also poll, so a lost wakeup costs latency, never data.
   */
  onCommitted?: () => void;
}

/** A version conflict despite the row lock: an outside writer, or a bug. Retried, then INUSE. */
export class StreamConflict extends Error {
  readonly streamId: string;
  constructor(streamId: string) {
    super(`stream ${streamId} moved under a locked write-model row`);
    this.name = "StreamConflict";
    this.streamId = streamId;
  }
}

/** Attempts of one command's transaction before giving up on conflicts and deadlocks. */
export const MAX_TRANSACTION_ATTEMPTS = 4;

/** PostgreSQL serialization_failure and deadlock_detected: safe to retry the whole transaction. */
function isRetryableDatabaseError(error: unknown): boolean {
  const code = postgresErrorCode(error);
  return code === "40001" || code === "40P01";
}

/** Errors our own code throws to refuse a command: the transaction is rolled back, the connection is sound. */
function isRefusal(error: unknown): boolean {
  return (
    error instanceof DomainError || error instanceof MetadataLimitError || error instanceof StreamConflict
  );
}

/**
 * `pool.transaction`, but a refused command keeps its connection. slonik destroys a pooled
 * connection whenever the work it lent it for throws, whatever the error: every NO of a write
 * (TRYCREATE, ALREADYEXISTS, NONEXISTENT...) cost a new PostgreSQL backend, a fork and a cold
 * catalog and statement cache (30 new backends for 30 `COPY 1 Nope`; the live fuzzer's
 * distributed run had PostgreSQL forking dozens a second, at a load average of 11). The
 * transaction is rolled back by slonik as before; a refusal then leaves the connection as a value
 * and is thrown outside, so the connection goes back to the pool. Any other error (a lost
 * connection, a failed statement) still discards it.
 */
async function transactionOnPool<T>(
  pool: DatabasePool,
  work: (tx: DatabaseTransactionConnection) => Promise<T>,
): Promise<T> {
  const outcome = await pool.connect(async (connection) => {
    try {
      return { refused: false as const, value: await connection.transaction(work) };
    } catch (error) {
      if (isRefusal(error)) return { refused: true as const, error };
      throw error;
    }
  });
  if (outcome.refused) throw outcome.error;
  return outcome.value;
}

export async function inTransaction<T>(
  ctx: Pick<DomainContext, "pool" | "onCommitted">,
  work: (tx: DatabaseTransactionConnection) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    // What the work produced, kept in case the COMMIT's reply is lost (commitOutcome.ts).
    let produced = undefined as { value: T; eventId: string | undefined } | undefined;
    let result: T;
    try {
      result = await transactionOnPool(ctx.pool, async (tx) => {
        const value = await work(tx);
        produced = { value, eventId: eventWrittenIn(tx) };
        return value;
      });
    } catch (error) {
      if (produced?.eventId !== undefined && mayHaveCommitted(error)) {
        // The work was done and COMMIT sent when the connection went: the log tells which it was.
        if ((await resolveLostCommit(ctx.pool, [produced.eventId])) === null) throw error;
        result = produced.value;
      } else {
        const retryable = error instanceof StreamConflict || isRetryableDatabaseError(error);
        if (!retryable) throw error;
        if (attempt >= MAX_TRANSACTION_ATTEMPTS) {
          throw new DomainError("INUSE", "the mailbox is being changed by someone else; try again");
        }
        continue;
      }
    }
    // Only a transaction that wrote events wakes the relay and counts as the command's commit.
    if (produced?.eventId !== undefined) ctx.onCommitted?.();
    return result;
  }
}

export const isUniqueViolation = (error: unknown) => error instanceof UniqueIntegrityConstraintViolationError;

/** RFC 3501 2.3.1.1: non-zero 32-bit; random as go-imap-sql, so a recreated name gets a new one. */
export function randomUidValidity(): number {
  return randomInt(1, 0x1_0000_0000);
}
