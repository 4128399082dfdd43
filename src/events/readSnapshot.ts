// Reads the log as the caller's transaction snapshot has it, in position order. Inside a
// REPEATABLE READ transaction every event visible is committed and every one that is not stays
// invisible, so no gap needs waiting for (readAll's work): what `projections verify` replays is
// exactly what the views it compares were made from, in the same snapshot.
import { type CommonQueryMethods, sql } from "slonik";
import type { RecordedEvent } from "./envelope.ts";
import { eventPageColumn, eventPageRow, fromEventJson } from "./eventRow.ts";
import type { Upcasters } from "./upcasting.ts";

/** Up to `limit` events after `after`, as the snapshot has them. */
export async function readSnapshotPage(
  connection: CommonQueryMethods,
  after: number,
  limit: number,
  upcasters?: Upcasters,
): Promise<RecordedEvent[]> {
  const row = await connection.one(sql.type(eventPageRow)`
    SELECT 0::int8 AS handed_out, ${eventPageColumn} AS page
    FROM (SELECT * FROM events WHERE global_position > ${after} ORDER BY global_position LIMIT ${limit}) AS events`);
  return row.page.map((json) => fromEventJson(json, upcasters));
}

/** Opens a REPEATABLE READ, read-write transaction on `connection`, rolled back whatever `work` does. */
export async function inRolledBackSnapshot<T>(
  connection: CommonQueryMethods,
  work: () => Promise<T>,
): Promise<T> {
  // Plain statements, not slonik's transaction: `work` may read blobs through the pool meanwhile,
  // which slonik refuses inside a transaction it manages.
  await connection.query(sql.unsafe`BEGIN ISOLATION LEVEL REPEATABLE READ`);
  try {
    return await work();
  } finally {
    await connection.query(sql.unsafe`ROLLBACK`);
  }
}
