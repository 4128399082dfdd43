// Applies a batch of events to a projection's active version in ONE transaction, together with
// the transport's checkpoint when it keeps one in PostgreSQL. Both transports (Kafka, embedded)
// drive projections through this, so the projection code is one. Nothing waits for it: readers
// derive what a lagging view lacks on demand (DESIGN.md contract 2), and the doorbell is the
// notifier's (src/projections/notifier).
//
// Idempotency is per user, not by a global checkpoint: with several Kafka partitions, batches
// of different users interleave in any order, so "position <= checkpoint" would drop events.
// Each user's applied position lives in the view (user_positions) and moves in the same
// transaction as the rows; an event at or below it has been applied and is skipped.
import { type DatabasePool, type DatabaseTransactionConnection, sql } from "slonik";
import { z } from "zod";
import { storeCheckpoint } from "../../events/checkpoints.ts";
import type { RecordedEvent } from "../../events/envelope.ts";
import type { ApplyResult } from "../bodiesView/apply.ts";
import { type OpenedBatch, type Projection, projectionLockKey } from "./projection.ts";

export interface ProjectorOptions {
  pool: DatabasePool;
  projection: Projection<unknown>;
  /** Told of events passed over (unknown type or version). */
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
   * same transaction. Resolves after commit.
   */
  applyBatch(events: readonly RecordedEvent[], checkpoint?: CheckpointMove): Promise<BatchOutcome>;
}

interface QueuedBatch {
  events: readonly RecordedEvent[];
  resolve: (outcome: BatchOutcome) => void;
  reject: (error: unknown) => void;
}

export function createProjector(options: ProjectorOptions): Projector {
  const { pool, projection } = options;
  const warn = options.onWarning ?? (() => {});

  /**
   * Takes the projection's lock shared and reads the active version; with the projection's
   * openBatch, in one round trip that also locks and moves the batch's users' positions.
   */
  const openBatch = async (
    tx: DatabaseTransactionConnection,
    events: readonly RecordedEvent[],
  ): Promise<OpenedBatch> => {
    if (projection.openBatch) {
      const lastPositions = new Map<string, number>();
      for (const event of events) {
        const userId = event.metadata.userId;
        lastPositions.set(userId, Math.max(lastPositions.get(userId) ?? 0, event.globalPosition));
      }
      return projection.openBatch(tx, lastPositions);
    }
    await tx.query(sql.unsafe`SELECT pg_advisory_xact_lock_shared(${projectionLockKey(projection.name)})`);
    const version = await tx.oneFirst(sql.type(activeVersionRow)`
      SELECT active_version FROM projection_versions WHERE name = ${projection.name}`);
    return { version };
  };

  const applyNow = async (events: readonly RecordedEvent[], checkpoint?: CheckpointMove) => {
    const prepared = await projection.prepare(events);
    const outcome = await pool.transaction(async (tx) => {
      const { version, positions } = await openBatch(tx, events);
      const result = await projection.apply(tx, projection.schemaOf(version), events, prepared, positions);
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
    return outcome;
  };

  // Group commit: batches handed in while a transaction runs (Kafka partitions are consumed
  // concurrently) are applied together in the next one. Each transaction costs several round
  // trips whatever its size, and on a busy database server each round trip waits for CPU; one
  // transaction per partition batch made the projector the bottleneck of commit→notice latency.
  // Batches of different partitions hold different users, and one caller's events stay in order.
  let queue: QueuedBatch[] = [];
  let draining = false;
  const drain = async () => {
    while (queue.length > 0) {
      const group = queue;
      queue = [];
      try {
        const outcome = await applyNow(group.flatMap((batch) => batch.events));
        const duplicates = new Set(outcome.duplicatePositions);
        const unknown = new Set(outcome.unknown);
        for (const batch of group) batch.resolve(shareOf(outcome, batch.events, duplicates, unknown));
      } catch (error) {
        for (const batch of group) batch.reject(error);
      }
    }
    draining = false;
  };

  return {
    projection,
    async applyBatch(events, checkpoint) {
      // A checkpoint belongs to one transport's sequence of batches: applied on its own.
      if (checkpoint) return applyNow(events, checkpoint);
      return new Promise<BatchOutcome>((resolve, reject) => {
        queue.push({ events, resolve, reject });
        if (!draining) {
          draining = true;
          // Let the batches handed in during this turn of the event loop join the first transaction.
          setImmediate(() => void drain());
        }
      });
    },
  };
}

/** What one caller's events came to in a group's outcome. */
function shareOf(
  outcome: BatchOutcome,
  events: readonly RecordedEvent[],
  duplicates: ReadonlySet<number>,
  unknown: ReadonlySet<RecordedEvent>,
): BatchOutcome {
  const mine = {
    duplicatePositions: [] as number[],
    unknown: [] as RecordedEvent[],
  };
  for (const event of events) {
    if (duplicates.has(event.globalPosition)) mine.duplicatePositions.push(event.globalPosition);
    else if (unknown.has(event)) mine.unknown.push(event);
  }
  return {
    ...outcome,
    duplicates: mine.duplicatePositions.length,
    duplicatePositions: mine.duplicatePositions,
    unknown: mine.unknown,
    applied: events.length - mine.duplicatePositions.length - mine.unknown.length,
  };
}
