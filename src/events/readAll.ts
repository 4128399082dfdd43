// Reads the whole log in global-position order, never skipping an event that commits late.
//
// Positions are drawn from a sequence before commit, so while transaction A (position 7) is still
// running, transaction B (position 8) may already be visible. A reader that moved its checkpoint
// to 8 would never see 7. readAll therefore only hands out a position once every position below it
// is settled: visible, or owned by a transaction that has ended without committing it.
//
// How it knows, without locking writers out:
//  1. It reads how far the sequence has been handed out (L). Every transaction that appends
//     events takes a shared advisory lock (APPENDING_LOCK) in its gate, before it draws a
//     position, and holds it until it ends: so every position <= L belongs to a transaction that
//     held that lock at this moment, or has ended.
//  2. It reads the rows up to L. If positions are missing, their owners either ended without
//     committing them (rollback, version conflict) or were still running.
//  3. It then lists the transactions holding that lock (pg_locks is live, not a snapshot). Once
//     all of those have ended, every position <= L is final: it reads again and takes what is
//     there. Transactions that write without appending (projector batches, \Recent claims) do
//     not hold the lock, so a reader never waits for them.
// Prepared (two-phase) transactions are not listed there; mailledger never prepares one.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { APPENDING_LOCK } from "./appendToStream.ts";
import type { RecordedEvent } from "./envelope.ts";
import { type EventJson, eventPageColumn, eventPageRow, fromEventJson } from "./eventRow.ts";
import type { Upcasters } from "./upcasting.ts";

const holderRow = z.object({ holder: z.string() });

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
  /**
   * True when `position` reached every position handed out when the read began (or `toPosition`):
   * nothing more to read for now. A page can hold fewer than `limit` events and still not be
   * caught up, when positions in its window were rolled back.
   */
  caughtUp: boolean;
}

/** Grace between polls while waiting for an in-flight transaction to end. */
const GAP_POLL_MS = 2;
const DEFAULT_GAP_WAIT_MS = 5_000;

/**
 * The transactions (virtual transaction ids) appending events to this database now, other than
 * our own session's: the holders of APPENDING_LOCK; with `among`, only those still holding it.
 */
async function appendingTransactions(
  connection: CommonQueryMethods,
  among?: readonly string[],
): Promise<string[]> {
  const rows = await connection.anyFirst(sql.type(holderRow)`
    SELECT virtualtransaction AS holder
    FROM pg_locks
    WHERE locktype = 'advisory' AND classid = ${APPENDING_LOCK.classId} AND objid = ${APPENDING_LOCK.objectId}
      AND objsubid = 2 AND granted AND pid <> pg_backend_pid()
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      ${among === undefined ? sql.fragment`` : sql.fragment`AND virtualtransaction = ANY(${sql.array([...among], "text")})`}`);
  return [...rows];
}

const untilFilter = (until: Date | undefined) =>
  until === undefined ? sql.fragment`` : sql.fragment`AND recorded_at <= ${sql.timestamp(until)}`;

/**
 * One statement: how far the sequence has been handed out (L), and the events in the window
 * (after, min(L, toPosition, after + limit)]. Bounding the window by positions rather than by
 * LIMIT alone keeps the plan an index range scan of at most `limit` rows even when the planner's
 * statistics lag a bulk load (it then sorted every row above `after`, for every page).
 * L may be read after the statement's snapshot was taken: a position that committed in between
 * then looks like a gap, which the gap check settles, so nothing is skipped.
 */
async function readWindow(
  connection: CommonQueryMethods,
  after: number,
  limit: number,
  options: ReadAllOptions,
): Promise<{ upTo: number; window: number; events: EventJson[] }> {
  const toPosition = options.toPosition ?? Number.MAX_SAFE_INTEGER;
  const row = await connection.one(sql.type(eventPageRow)`
    WITH bounds AS (
      SELECT handed_out, least(handed_out, ${toPosition}::int8, ${after}::int8 + ${limit}::int8) AS window_end
      FROM (SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS handed_out
            FROM events_global_position_seq) AS sequence
    )
    SELECT bounds.handed_out, (
      SELECT ${eventPageColumn}
      FROM events
      WHERE global_position > ${after} AND global_position <= bounds.window_end ${untilFilter(options.until)}
    ) AS page
    FROM bounds`);
  const upTo = Math.min(row.handed_out, toPosition);
  return { upTo, window: Math.min(upTo, after + limit), events: row.page };
}

/** The events in (after, window] as they are now: for a window whose positions are all final. */
async function readFinal(
  connection: CommonQueryMethods,
  after: number,
  window: number,
  until: Date | undefined,
): Promise<EventJson[]> {
  const row = await connection.one(sql.type(eventPageRow)`
    SELECT 0::int8 AS handed_out, ${eventPageColumn} AS page
    FROM events
    WHERE global_position > ${after} AND global_position <= ${window} ${untilFilter(until)}`);
  return row.page;
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
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError("readAll needs a positive limit");
  const toEvents = (page: readonly EventJson[]) => page.map((json) => fromEventJson(json, options.upcasters));
  const { upTo, window, events } = await readWindow(connection, after, limit, options);
  if (window <= after) return { events: [], position: after, waitingOnGap: false, caughtUp: true };

  const contiguous = events.length === window - after;
  if (contiguous && options.until === undefined) {
    return { events: toEvents(events), position: window, waitingOnGap: false, caughtUp: window === upTo };
  }

  let running = await appendingTransactions(connection);
  // The positions before the first gap are settled: while transactions that may hold the gap are
  // still running, hand those out now rather than after they end (under steady writes there
  // nearly always is one in flight, and waiting for it cost the relay a commit's time per page).
  if (running.length > 0 && options.until === undefined) {
    const prefix = contiguousPrefix(events, after);
    if (prefix.length > 0) {
      return {
        events: toEvents(prefix),
        position: after + prefix.length,
        waitingOnGap: false,
        caughtUp: false,
      };
    }
  }
  const deadline = Date.now() + (options.gapWaitMs ?? DEFAULT_GAP_WAIT_MS);
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, GAP_POLL_MS));
    running = await appendingTransactions(connection, running);
  }
  if (running.length === 0) {
    // Every position <= window is now final: read them again and take what is there.
    return {
      events: toEvents(await readFinal(connection, after, window, options.until)),
      position: window,
      waitingOnGap: false,
      caughtUp: window === upTo,
    };
  }

  // Still waiting on a gap: hand out only the contiguous prefix (without `until`, positions
  // must follow one another; with it, nothing past the first gap can be trusted either way).
  const prefix = contiguousPrefix(events, after);
  return { events: toEvents(prefix), position: after + prefix.length, waitingOnGap: true, caughtUp: false };
}

function contiguousPrefix(events: readonly EventJson[], after: number): EventJson[] {
  let length = 0;
  while (length < events.length && events[length]![0] === after + length + 1) length += 1;
  return events.slice(0, length);
}

const headRow = z.object({ head: z.number() });

/** The position of the last committed event (0 for an empty log). */
export async function logHead(connection: CommonQueryMethods): Promise<number> {
  return connection.oneFirst(sql.type(headRow)`
    SELECT coalesce(max(global_position), 0)::int8 AS head FROM events`);
}
