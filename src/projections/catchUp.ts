// Read-your-writes for writers outside a gateway (the admin CLI, a node starting up): wait until
// the projection has applied every event written after a given position, user by user, checked
// in PostgreSQL (the projector may run in another process, where no notice reaches us).
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { appliedPositionOf } from "./readYourWrites.ts";

/** The position of the last committed event (0 for an empty log). */
export async function logHead(connection: CommonQueryMethods): Promise<number> {
  return connection.oneFirst(sql.type(z.object({ head: z.number() }))`
    SELECT coalesce(max(global_position), 0)::int8 AS head FROM events`);
}

const POLL_MS = 20;

/**
 * Waits until every user with events after `after` has them applied by the projection.
 * True when caught up, false when `timeoutMs` passed first (the events stay durable either way).
 */
export async function awaitProjectedSince(
  connection: CommonQueryMethods,
  after: number,
  timeoutMs: number,
): Promise<boolean> {
  const written = await connection.any(sql.type(z.object({ user_id: z.string(), position: z.number() }))`
    SELECT metadata ->> 'userId' AS user_id, max(global_position)::int8 AS position
    FROM events WHERE global_position > ${after}
    GROUP BY 1`);
  const deadline = Date.now() + timeoutMs;
  for (const { user_id: userId, position } of written) {
    while ((await appliedPositionOf(connection, { userId })) < position) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  return true;
}
