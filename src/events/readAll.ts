// Reads the whole log in global-position order, never skipping an event that commits late.
//
// Positions are drawn from a sequence before commit, so while transaction A (position 7) is still
// running, transaction B (position 8) may already be visible. A reader that moved its checkpoint
// to 8 would never see 7. readAll therefore only hands out a position once every position below it
// is settled: visible, or owned by a transaction that has ended without committing it.
//
// How it knows, without locking writers out:
//  1. It reads how far the sequence has been handed out (L). appendToStream gives its transaction
//     an id (xid) before it draws a position, so every position <= L belongs to a transaction
//     whose xid existed before this moment.
//  2. It reads the rows up to L. If positions are missing, their owners either ended without
//     committing them (rollback, version conflict) or were still running.
//  3. It then lists the xids of the transactions running in this database (pg_stat_activity
//     reads them live, unlike a snapshot's xip list, which omits xids above its xmax). Once all
//     of those have ended, every position <= L is final: it reads again and takes what is there.
// Prepared (two-phase) transactions are not listed there; mailledger never prepares one.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { RecordedEvent } from "./envelope.ts";
import { type EventRow, eventColumns, eventRow, toRecordedEvent } from "./eventRow.ts";
import type { Upcasters } from "./upcasting.ts";

export interface ReadAllOptions {
  /** How long to wait for in-flight transactions that hold a gap before returning what is settled. */
  gapWaitMs?: number;
  /** Only events recorded at or before this instant. */
  until?: Date;
  /** Stop at this position (inclusive). */
  toPosition?: number;
  upcasters?: Upcasters;
}

export interface ReadAllResult {
  events: RecordedEvent[];
  /**
   * Every position up to here is settled and was returned if it exists: the next call's `after`.
   * It can be greater than the last event's position when trailing positions were rolled back.
   */
  position: number;
  /** True when a gap held by a transaction still running stopped the read early. */
  waitingOnGap: boolean;
}

/** Grace between polls while waiting for an in-flight transaction to end. */
const GAP_POLL_MS = 2;
const DEFAULT_GAP_WAIT_MS = 5_000;

async function handedOut(connection: CommonQueryMethods): Promise<number> {
  return connection.oneFirst(sql.type(z.object({ handed_out: z.number() }))`
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS handed_out FROM events_global_position_seq`);
}

/** Xids of the write transactions running now in this database, other than our own session's. */
async function runningTransactions(
  connection: CommonQueryMethods,
  among?: readonly string[],
): Promise<string[]> {
  // pg_stat_activity caches its view until the transaction ends; clear it so polls are live
  // even when the caller runs us inside a transaction.
  await connection.query(sql.unsafe`SELECT pg_stat_clear_snapshot()`);
  const rows = await connection.anyFirst(sql.type(z.object({ xid: z.string() }))`
    SELECT backend_xid::text AS xid
    FROM pg_stat_activity
    WHERE datname = current_database()
      AND backend_xid IS NOT NULL
      AND pid <> pg_backend_pid()
      ${among === undefined ? sql.fragment`` : sql.fragment`AND backend_xid::text = ANY(${sql.array([...among], "text")})`}`);
  return [...rows];
}

async function readRows(
  connection: CommonQueryMethods,
  after: number,
  upTo: number,
  limit: number,
  until: Date | undefined,
): Promise<readonly EventRow[]> {
  return connection.any(sql.type(eventRow)`
    SELECT ${eventColumns}
    FROM events
    WHERE global_position > ${after} AND global_position <= ${upTo}
      ${until === undefined ? sql.fragment`` : sql.fragment`AND recorded_at <= ${sql.timestamp(until)}`}
    ORDER BY global_position
    LIMIT ${limit}`);
}

/**
 * Up to `limit` events with global position > `after`, in position order, none skipped.
 * With `until`, events recorded later are filtered out but their positions still count as settled.
 */
export async function readAll(
  connection: CommonQueryMethods,
  after: number,
  limit: number,
  options: ReadAllOptions = {},
): Promise<ReadAllResult> {
  let upTo = await handedOut(connection);
  if (options.toPosition !== undefined) upTo = Math.min(upTo, options.toPosition);
  if (upTo <= after) return { events: [], position: after, waitingOnGap: false };

  let rows = await readRows(connection, after, upTo, limit, options.until);
  // When the page is full, positions past its last row are left for the next call.
  const horizon = rows.length === limit ? rows.at(-1)!.global_position : upTo;
  const contiguous =
    rows.length === horizon - after && (rows.length === 0 || rows.at(-1)!.global_position === horizon);
  if (contiguous && options.until === undefined) {
    return {
      events: rows.map((row) => toRecordedEvent(row, options.upcasters)),
      position: horizon,
      waitingOnGap: false,
    };
  }

  let running = await runningTransactions(connection);
  const deadline = Date.now() + (options.gapWaitMs ?? DEFAULT_GAP_WAIT_MS);
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, GAP_POLL_MS));
    running = await runningTransactions(connection, running);
  }
  if (running.length === 0) {
    // Every position <= horizon is now final: read them again and take what is there.
    rows = await readRows(connection, after, horizon, limit, options.until);
    return {
      events: rows.map((row) => toRecordedEvent(row, options.upcasters)),
      position: horizon,
      waitingOnGap: false,
    };
  }

  // Still waiting on a gap: hand out only the contiguous prefix (without `until`, positions
  // must follow one another; with it, nothing past the first gap can be trusted either way).
  const prefix: EventRow[] = [];
  let expected = after + 1;
  for (const row of rows) {
    if (row.global_position !== expected) break;
    prefix.push(row);
    expected += 1;
  }
  return {
    events: prefix.map((row) => toRecordedEvent(row, options.upcasters)),
    position: expected - 1,
    waitingOnGap: true,
  };
}
