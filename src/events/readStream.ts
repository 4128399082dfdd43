// Reads one stream in version order: the events a decider folds into its state.
import { type CommonQueryMethods, sql } from "slonik";
import type { RecordedEvent } from "./envelope.ts";
import { eventColumns, eventRow, toRecordedEvent } from "./eventRow.ts";
import type { Upcasters } from "./upcasting.ts";

export interface ReadStreamOptions {
  /** First version to read (inclusive); default 1. */
  fromVersion?: number;
  /** Last version to read (inclusive). */
  toVersion?: number;
  /** Only events recorded at or before this instant (history "as of"). */
  until?: Date;
  upcasters?: Upcasters;
}

export async function readStream(
  connection: CommonQueryMethods,
  streamId: string,
  options: ReadStreamOptions = {},
): Promise<RecordedEvent[]> {
  const rows = await connection.any(sql.type(eventRow)`
    SELECT ${eventColumns}
    FROM events
    WHERE stream_id = ${streamId}
      AND stream_version >= ${options.fromVersion ?? 1}
      ${options.toVersion === undefined ? sql.fragment`` : sql.fragment`AND stream_version <= ${options.toVersion}`}
      ${options.until === undefined ? sql.fragment`` : sql.fragment`AND recorded_at <= ${sql.timestamp(options.until)}`}
    ORDER BY stream_version`);
  return rows.map((row) => toRecordedEvent(row, options.upcasters));
}
