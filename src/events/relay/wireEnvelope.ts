// The JSON envelope the relay writes as each Kafka message's value (schemas/events/README.md).
import type { EventMetadata, RecordedEvent } from "../envelope.ts";
import type { Upcasters } from "../upcasting.ts";

export interface WireEnvelope {
  eventId: string;
  type: string;
  schemaVersion: number;
  streamId: string;
  streamVersion: number;
  globalPosition: number;
  /** ISO 8601 instant. */
  recordedAt: string;
  data: unknown;
  metadata: EventMetadata;
}

export function toWireEnvelope(event: RecordedEvent): WireEnvelope {
  return {
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    globalPosition: event.globalPosition,
    recordedAt: event.recordedAt.toISOString(),
    data: event.data,
    metadata: event.metadata,
  };
}

/** A Kafka message value back to the event, lifted to the current schema versions. */
export function fromWireEnvelope(value: Buffer | string, upcasters?: Upcasters): RecordedEvent {
  const wire = JSON.parse(value.toString()) as WireEnvelope;
  const event: RecordedEvent = { ...wire, recordedAt: new Date(wire.recordedAt) };
  return upcasters ? upcasters.upcast(event) : event;
}
