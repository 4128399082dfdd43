// Applies a batch of events to a projection's active version in ONE transaction, together with
// the transport's checkpoint when it keeps one in PostgreSQL, then sends the notices. Both
// transports (Kafka, embedded) drive projections through this, so the projection code is one.
//
// Idempotency is per user, not by a global checkpoint: with several Kafka partitions, batches
// of different users interleave in any order, so "position <= checkpoint" would drop events.
// Each user's applied position lives in the view (user_positions) and moves in the same
// transaction as the rows; an event at or below it has been applied and is skipped.
import { type DatabasePool, sql } from "slonik";
import { z } from "zod";
import { storeCheckpoint } from "../../events/checkpoints.ts";
import type { RecordedEvent } from "../../events/envelope.ts";
import type { ApplyResult } from "../mailboxView/apply.ts";
import type { NoticeBus } from "../notices/notice.ts";
import { type Projection, projectionLockKey } from "./projection.ts";

export interface ProjectorOptions {
  pool: DatabasePool;
  projection: Projection<unknown>;
  notices?: NoticeBus;
  /** Told of events passed over (unknown type or version) and of notices that could not be sent. */
  onWarning?: (message: string, detail?: unknown) => void;
}

export interface CheckpointMove {
  consumer: string;
  expected: number;
  position: number;
}

export interface BatchOutcome extends ApplyResult {
  version: number;
}

export class CheckpointMismatchError extends Error {
  readonly actual: number;
  constructor(consumer: string, expected: number, actual: number) {
    super(`checkpoint of ${consumer} is at ${actual}, not ${expected}: another instance moved it`);
    this.name = "CheckpointMismatchError";
    this.actual = actual;
  }
}

const activeVersionRow = z.object({ active_version: z.number() });

export interface Projector {
  readonly projection: Projection<unknown>;
  /**
   * Applies `events` (in log order per user) and, with `checkpoint`, moves that checkpoint in the
   * same transaction. Resolves after commit and after the notices went out.
   */
  applyBatch(events: readonly RecordedEvent[], checkpoint?: CheckpointMove): Promise<BatchOutcome>;
}

export function createProjector(options: ProjectorOptions): Projector {
  const { pool, projection } = options;
  const warn = options.onWarning ?? (() => {});
  return {
    projection,
    async applyBatch(events, checkpoint) {
      const prepared = await projection.prepare(events);
      const outcome = await pool.transaction(async (tx) => {
        await tx.query(
          sql.unsafe`SELECT pg_advisory_xact_lock_shared(${projectionLockKey(projection.name)})`,
        );
        const version = await tx.oneFirst(sql.type(activeVersionRow)`
          SELECT active_version FROM projection_versions WHERE name = ${projection.name}`);
        const result = await projection.apply(tx, projection.schemaOf(version), events, prepared);
        if (checkpoint) {
          const stored = await storeCheckpoint(
            tx,
            checkpoint.consumer,
            checkpoint.expected,
            checkpoint.position,
          );
          if (!stored.ok)
            throw new CheckpointMismatchError(checkpoint.consumer, stored.expected, stored.actual);
        }
        return { ...result, version };
      });
      for (const event of outcome.unknown) {
        warn(`projection ${projection.name} passed over unknown event ${event.type}@${event.schemaVersion}`, {
          globalPosition: event.globalPosition,
        });
      }
      if (options.notices && outcome.notices.length > 0) {
        // The batch is committed: a lost notice delays waiters until their PostgreSQL check, no more.
        await options.notices.publish(outcome.notices).catch((error: unknown) => {
          warn(`projection ${projection.name} could not send notices`, error);
        });
      }
      return outcome;
    },
  };
}
