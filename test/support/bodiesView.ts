// Tests that look at the bodies view itself (it is asynchronous: IMAP answers never wait for it)
// wait here until it has applied every event committed so far.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

const lagRow = z.object({ behind: z.number() });

/** Until the bodies view has applied every user's events up to the log's head at the call. */
export async function bodiesViewCaughtUp(pool: CommonQueryMethods, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const head = await pool.oneFirst(sql.unsafe`SELECT coalesce(max(global_position), 0)::int8 FROM events`);
  for (;;) {
    const behind = await pool.oneFirst(sql.type(lagRow)`
      SELECT count(*)::int AS behind FROM (
        SELECT metadata ->> 'userId' AS user_id, max(global_position) AS position
        FROM events WHERE global_position <= ${Number(head)} GROUP BY 1
      ) AS written
      LEFT JOIN proj_bodies.user_positions AS p USING (user_id)
      WHERE coalesce(p.global_position, 0) < written.position`);
    if (behind === 0) return;
    if (Date.now() > deadline) throw new Error(`the bodies view did not reach position ${head}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
