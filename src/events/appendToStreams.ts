// Appends to several streams atomically (MOVE touches two mailboxes): all or nothing.
import type { CommonQueryMethods, DatabasePool, DatabaseTransactionConnection } from "slonik";
import {
  type AppendSuccess,
  appendToStream,
  type EventToAppend,
  type ExpectedVersion,
  type VersionConflict,
} from "./appendToStream.ts";
import type { EventMetadata } from "./envelope.ts";

export interface StreamAppend {
  streamId: string;
  expectedVersion: ExpectedVersion;
  events: readonly EventToAppend[];
}

export type MultiAppendResult = { ok: true; streams: AppendSuccess[] } | VersionConflict;

class ConflictRollback extends Error {
  readonly conflict: VersionConflict;
  constructor(conflict: VersionConflict) {
    super(`version conflict on ${conflict.streamId}`);
    this.conflict = conflict;
  }
}

type Transactional = Pick<DatabasePool | DatabaseTransactionConnection, "transaction">;

/**
 * Appends to every stream or to none. Inside a caller's transaction it uses a savepoint, so a
 * conflict undoes only these appends and the caller decides what else to roll back.
 */
export async function appendToStreams(
  connection: Transactional,
  appends: readonly StreamAppend[],
  metadata: EventMetadata,
): Promise<MultiAppendResult> {
  try {
    const streams = await connection.transaction(async (tx: CommonQueryMethods) => {
      const results: AppendSuccess[] = [];
      for (const append of appends) {
        const result = await appendToStream(
          tx,
          append.streamId,
          append.expectedVersion,
          append.events,
          metadata,
        );
        if (!result.ok) throw new ConflictRollback(result);
        results.push(result);
      }
      return results;
    });
    return { ok: true, streams };
  } catch (error) {
    if (error instanceof ConflictRollback) return error.conflict;
    throw error;
  }
}
