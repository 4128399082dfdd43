// Claims \Recent for one session (RFC 3501 2.3.2: "the message is considered recent by exactly
// one session"). Atomic across nodes: one upsert under the row lock moves the mark and returns
// the mark it replaced, so concurrent claimers get disjoint ranges.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

/** The UIDs in (after, through] are recent to the caller; after === through means none. */
export interface RecentClaim {
  after: number;
  through: number;
}

const claimRow = z.object({ previous_through_uid: z.number(), claimed_through_uid: z.number() });

export async function claimRecent(
  connection: CommonQueryMethods,
  mailboxId: string,
  throughUid: number,
): Promise<RecentClaim> {
  // In DO UPDATE every expression reads the row as it was before this update: previous_through_uid
  // is the mark this claim replaced.
  const row = await connection.one(sql.prepared("mailledger_claim_recent", claimRow)`
    INSERT INTO recent_claims AS r (mailbox_id, claimed_through_uid, previous_through_uid)
    VALUES (${mailboxId}, ${throughUid}, 0)
    ON CONFLICT (mailbox_id) DO UPDATE
      SET previous_through_uid = r.claimed_through_uid,
          claimed_through_uid = greatest(r.claimed_through_uid, excluded.claimed_through_uid)
    RETURNING previous_through_uid, claimed_through_uid`);
  if (throughUid <= row.previous_through_uid) return { after: throughUid, through: throughUid };
  return { after: row.previous_through_uid, through: throughUid };
}
