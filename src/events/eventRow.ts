// The events table's row shape and its mapping to the envelope, shared by the readers.
import { sql } from "slonik";
import { z } from "zod";
import type { EventMetadata, RecordedEvent } from "./envelope.ts";
import type { Upcasters } from "./upcasting.ts";

export const eventRow = z.object({
  global_position: z.number(),
  event_id: z.string(),
  stream_id: z.string(),
  stream_version: z.number(),
  type: z.string(),
  schema_version: z.number(),
  data: z.unknown(),
  metadata: z.record(z.string(), z.unknown()),
  recorded_at: z.number(),
});
export type EventRow = z.infer<typeof eventRow>;

export const eventColumns = sql.fragment`
  global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at`;

export function toRecordedEvent(row: EventRow, upcasters?: Upcasters): RecordedEvent {
  const event: RecordedEvent = {
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    globalPosition: row.global_position,
    recordedAt: new Date(row.recorded_at),
    data: row.data,
    metadata: row.metadata as unknown as EventMetadata,
  };
  return upcasters ? upcasters.upcast(event) : event;
}
