// A commit whose reply was lost: PostgreSQL went away after the statement (or COMMIT) was sent,
// so the write may or may not be in the log. Answering NO would be a lie if it is (a client that
// retries an APPEND would store it twice), and OK a lie if it is not. The events carry ids drawn
// before they were sent: once the database answers again, the log says which it was.
import { sql } from "slonik";
import { z } from "zod";
import { type CommonQueryMethods, isDatabaseUnavailable } from "./db.ts";

/** How long a command whose commit reply was lost waits for the database to tell (COMMIT_RESOLVE_MS). */
export const DEFAULT_COMMIT_RESOLVE_MS = 30_000;
const RETRY_EVERY_MS = 250;

/** The database did not come back in time to say whether the write was committed. */
export class CommitOutcomeUnknown extends Error {
  override readonly name = "CommitOutcomeUnknown";
  readonly eventId: string;
  constructor(eventId: string, cause: unknown) {
    super(
      `the database went away while committing and did not come back to tell whether event ${eventId} was written`,
      {
        cause,
      },
    );
    this.eventId = eventId;
  }
}

const positionRow = z.object({ global_position: z.number().nullable() });

/** Refusals before any statement could be sent: no connection was made. */
const NOT_CONNECTED_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "57P03",
  "53300",
]);

function neverConnected(error: unknown): boolean {
  for (let depth = 0, current = error as Record<string, unknown> | undefined; current && depth < 8; depth++) {
    if (typeof current !== "object") return false;
    if (typeof current.code === "string" && NOT_CONNECTED_CODES.has(current.code)) return true;
    if (current.constructor?.name === "ConnectionError" || current.name === "ConnectionError") return true;
    current = current.cause as Record<string, unknown> | undefined;
  }
  return false;
}

/**
 * Whether a write that failed with this error may still have been committed: the database went
 * away while a connection was open (a restart, a reset), not before one could be made.
 */
export function mayHaveCommitted(error: unknown): boolean {
  return isDatabaseUnavailable(error) && !neverConnected(error) && !cancelled(error);
}

/**
 * A statement PostgreSQL cancelled (57014: statement_timeout): it answered, and its transaction
 * was rolled back, so nothing was committed. (COMMIT itself is not cancelled once it has begun.)
 */
function cancelled(error: unknown): boolean {
  for (let depth = 0, current = error as Record<string, unknown> | undefined; current && depth < 8; depth++) {
    if (typeof current !== "object") return false;
    if (current.code === "57014" || current.name === "StatementTimeoutError") return true;
    current = current.cause as Record<string, unknown> | undefined;
  }
  return false;
}

/**
 * Waits until the database answers, then says whether the events with these ids (written all or
 * none) are in the log: the highest global position among them if they are (positions of one
 * statement need not be contiguous), null if not (the write was rolled back with its connection).
 * Throws CommitOutcomeUnknown when the database is still unreachable after `boundMs`.
 */
export async function resolveLostCommit(
  pool: CommonQueryMethods,
  eventIds: readonly string[],
  boundMs: number = DEFAULT_COMMIT_RESOLVE_MS,
): Promise<number | null> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    try {
      const row = await pool.one(
        sql.type(positionRow)`
          SELECT max(global_position) AS global_position FROM events
          WHERE event_id = ANY(${sql.array(eventIds, "text")})`,
      );
      return row.global_position;
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      if (Date.now() >= deadline) throw new CommitOutcomeUnknown(eventIds[0] ?? "", error);
      await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
    }
  }
}

/** One event id written by each open transaction, for resolveLostCommit if its COMMIT reply is lost. */
const writtenIn = new WeakMap<object, string>();

/** Records that `transaction` wrote the event `eventId` (any one of its events will do). */
export function noteEventWritten(transaction: object, eventId: string): void {
  if (!writtenIn.has(transaction)) writtenIn.set(transaction, eventId);
}

/** An event id the transaction wrote, if it wrote any. */
export function eventWrittenIn(transaction: object): string | undefined {
  return writtenIn.get(transaction);
}
