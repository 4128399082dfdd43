// Claims \Recent for one session (RFC 3501 2.3.2: "the message is considered recent by exactly
// one session"). Atomic across nodes: the row lock orders concurrent claimers.
import { type DatabasePool, sql } from "slonik";
import { z } from "zod";

/** The UIDs in (after, through] are recent to the caller; after === through means none. */
export interface RecentClaim {
  after: number;
  through: number;
}

export async function claimRecent(
  pool: DatabasePool,
  mailboxId: string,
  throughUid: number,
): Promise<RecentClaim> {
  return pool.transaction(async (tx) => {
    await tx.query(sql.unsafe`
      INSERT INTO recent_claims (mailbox_id, claimed_through_uid) VALUES (${mailboxId}, 0)
      ON CONFLICT (mailbox_id) DO NOTHING`);
    const previous = await tx.oneFirst(sql.type(z.object({ claimed_through_uid: z.number() }))`
      SELECT claimed_through_uid FROM recent_claims WHERE mailbox_id = ${mailboxId} FOR UPDATE`);
    if (throughUid <= previous) return { after: throughUid, through: throughUid };
    await tx.query(sql.unsafe`
      UPDATE recent_claims SET claimed_through_uid = ${throughUid} WHERE mailbox_id = ${mailboxId}`);
    return { after: previous, through: throughUid };
  });
}
