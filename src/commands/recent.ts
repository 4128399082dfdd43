// Claims \Recent for one session (RFC 3501 2.3.2: "the message is considered recent by exactly
// one session"). Atomic across nodes: one upsert under the row lock moves the mark and returns
// the mark it replaced, so concurrent claimers get disjoint ranges.
import { type CommonQueryMethods, type DatabasePool, sql } from "slonik";
import { z } from "zod";

/** The UIDs in (after, through] are recent to the caller; after === through means none. */
export interface RecentClaim {
  after: number;
  through: number;
}

const claimRow = z.object({ previous_through_uid: z.number(), claimed_through_uid: z.number() });

/**
 * Claim marks this process has seen committed, by mailbox: each is at most the mailbox's mark
 * now (marks only grow), so a claim through a UID at or below it would get nothing and is not
 * sent. Bounded: cleared when full, which only costs queries.
 */
const knownMarks = new Map<string, number>();
const KNOWN_MARKS_LIMIT = 100_000;

/**
 * Claims the UIDs up to `throughUid` not yet claimed by any session. On the pool, never in a
 * transaction: the claim is committed when it returns (the marks remembered rely on that).
 */
export async function claimRecent(
  pool: DatabasePool,
  mailboxId: string,
  throughUid: number,
): Promise<RecentClaim> {
  const known = knownMarks.get(mailboxId);
  if (known !== undefined && throughUid <= known) return { after: throughUid, through: throughUid };
  const row = await claim(pool, mailboxId, throughUid);
  if (knownMarks.size >= KNOWN_MARKS_LIMIT) knownMarks.clear();
  knownMarks.set(mailboxId, Math.max(row.claimed_through_uid, knownMarks.get(mailboxId) ?? 0));
  if (throughUid <= row.previous_through_uid) return { after: throughUid, through: throughUid };
  return { after: row.previous_through_uid, through: throughUid };
}

/**
 * What a read-only session (EXAMINE) sees as \Recent without taking it: the UIDs up to
 * `throughUid` that no session claimed yet (RFC 3501 2.3.2: "if the session is read-only,
 * subsequent sessions will also see \Recent set for this message").
 */
export async function peekRecent(
  connection: CommonQueryMethods,
  mailboxId: string,
  throughUid: number,
): Promise<RecentClaim> {
  const mark =
    (await connection.maybeOneFirst(sql.prepared("mailledger_peek_recent", markRow)`
      SELECT claimed_through_uid FROM recent_claims WHERE mailbox_id = ${mailboxId}`)) ?? 0;
  return { after: Math.min(mark, throughUid), through: throughUid };
}

const markRow = z.object({ claimed_through_uid: z.number() });

async function claim(connection: CommonQueryMethods, mailboxId: string, throughUid: number) {
  // In DO UPDATE every expression reads the row as it was before this update: previous_through_uid
  // is the mark this claim replaced.
  // \Recent is session state, not history: a claim lost in a crash costs a message its \Recent
  // flag, nothing more, so its commit does not wait for the WAL's flush (set for this statement's
  // own transaction only).
  const row = await connection.one(sql.prepared("mailledger_claim_recent", claimRow)`
    WITH no_flush_wait AS (SELECT set_config('synchronous_commit', 'off', true))
    INSERT INTO recent_claims AS r (mailbox_id, claimed_through_uid, previous_through_uid)
    SELECT ${mailboxId}::text, ${throughUid}::int8, 0 FROM no_flush_wait
    ON CONFLICT (mailbox_id) DO UPDATE
      SET previous_through_uid = r.claimed_through_uid,
          claimed_through_uid = greatest(r.claimed_through_uid, excluded.claimed_through_uid)
    RETURNING previous_through_uid, claimed_through_uid`);
  return row;
}

const countRow = z.object({ recent: z.number() });

/**
 * How many messages of the mailbox no session has claimed yet: the \Recent count that STATUS
 * reports for a mailbox the asking session has not selected (whoever selects it next gets them).
 * From the write model, where the UIDs are exact.
 */
export async function unclaimedRecentCount(
  connection: CommonQueryMethods,
  mailboxId: string,
): Promise<number> {
  return connection.oneFirst(sql.prepared("mailledger_unclaimed_recent", countRow)`
    SELECT count(*)::int AS recent FROM messages
    WHERE mailbox_id = ${mailboxId}
      AND uid > coalesce((SELECT claimed_through_uid FROM recent_claims WHERE mailbox_id = ${mailboxId}), 0)`);
}
