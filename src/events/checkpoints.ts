// Consumer checkpoints: how far a consumer of the log has durably got. Stored in the same
// transaction as the consumer's effects, guarded so two instances cannot both move it.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

// Row schemas are built once: building one costs tens of microseconds, more than a parse.
const positionRow = z.object({ global_position: z.number() });

export async function readCheckpoint(connection: CommonQueryMethods, consumer: string): Promise<number> {
  const position = await connection.maybeOneFirst(sql.type(positionRow)`
    SELECT global_position FROM checkpoints WHERE consumer = ${consumer}`);
  return position ?? 0;
}

export type StoreCheckpointResult =
  | { ok: true }
  | { ok: false; kind: "checkpoint_mismatch"; expected: number; actual: number };

/**
 * Moves `consumer` from `expected` to `position`. A mismatch means another instance moved it
 * (or this one is replaying): the caller rolls back its batch and reloads the checkpoint.
 */
export async function storeCheckpoint(
  connection: CommonQueryMethods,
  consumer: string,
  expected: number,
  position: number,
): Promise<StoreCheckpointResult> {
  const typed = sql.type(positionRow);
  const stored =
    expected === 0
      ? await connection.maybeOneFirst(typed`
          INSERT INTO checkpoints AS c (consumer, global_position) VALUES (${consumer}, ${position})
          ON CONFLICT (consumer) DO UPDATE SET global_position = EXCLUDED.global_position, updated_at = now()
            WHERE c.global_position = 0
          RETURNING global_position`)
      : await connection.maybeOneFirst(typed`
          UPDATE checkpoints SET global_position = ${position}, updated_at = now()
          WHERE consumer = ${consumer} AND global_position = ${expected}
          RETURNING global_position`);
  if (stored !== null) return { ok: true };
  return {
    ok: false,
    kind: "checkpoint_mismatch",
    expected,
    actual: await readCheckpoint(connection, consumer),
  };
}
