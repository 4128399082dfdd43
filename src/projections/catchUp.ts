// Read-your-writes for writers outside a gateway (the admin CLI, a node starting up): wait until
// the projection has applied every event written after a given position, user by user, checked
// in PostgreSQL (the projector may run in another process, where no notice reaches us).
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { appliedPositionOf } from "./readYourWrites.ts";

const headRow = z.object({ head: z.number() });
const progressRow = z.object({ progress: z.number() });
const writtenRow = z.object({ user_id: z.string(), position: z.number() });

/** The position of the last committed event (0 for an empty log). */
export async function logHead(connection: CommonQueryMethods): Promise<number> {
  return connection.oneFirst(sql.type(headRow)`
    SELECT coalesce(max(global_position), 0)::int8 AS head FROM events`);
}

const POLL_MS = 20;

export type ProjectedOutcome =
  /** Every user's events after the position are applied. */
  | "applied"
  /** The projection applied nothing at all for `stallMs`: no projector seems to run. */
  | "stalled"
  /** The projection moved, but not far enough within the timeout. */
  | "timeout";

/** The furthest any user's events are applied: it moves whenever a projector applies anything. */
async function projectionProgress(connection: CommonQueryMethods): Promise<number> {
  return connection.oneFirst(sql.type(progressRow)`
    SELECT coalesce(max(global_position), 0)::int8 AS progress FROM proj_mailbox.user_positions`);
}

/**
 * Waits until every user with events after `after` has them applied by the projection. Gives up
 * after `timeoutMs`, or sooner when the projection shows no progress at all for `stallMs` (no
 * projector is running: waiting longer would only delay the caller). The events stay durable
 * whatever the outcome.
 */
export async function awaitProjectedSince(
  connection: CommonQueryMethods,
  after: number,
  timeoutMs: number,
  options: { stallMs?: number } = {},
): Promise<ProjectedOutcome> {
  const written = await connection.any(sql.type(writtenRow)`
    SELECT metadata ->> 'userId' AS user_id, max(global_position)::int8 AS position
    FROM events WHERE global_position > ${after}
    GROUP BY 1`);
  const started = Date.now();
  const deadline = started + timeoutMs;
  const stallMs = options.stallMs ?? Number.POSITIVE_INFINITY;
  let progress = written.length > 0 ? await projectionProgress(connection) : 0;
  let progressAt = started;
  for (const { user_id: userId, position } of written) {
    while ((await appliedPositionOf(connection, { userId })) < position) {
      const now = Date.now();
      if (now >= deadline) return "timeout";
      const current = await projectionProgress(connection);
      if (current !== progress) {
        progress = current;
        progressAt = now;
      } else if (now - progressAt >= stallMs) {
        return "stalled";
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  return "applied";
}
