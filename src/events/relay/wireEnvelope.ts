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

/**
 * Secrets stay in the events table and never reach the topic, whose readers are analytics
 * consumers: the fields keep their place (the published schemas still hold) with this value.
 */
export const REDACTED = "[redacted]";
const REDACTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  UserCreated: ["passwordHash"],
  UserPasswordChanged: ["passwordHash"],
};

function redact(type: string, data: unknown): unknown {
  const fields = REDACTED_FIELDS[type];
  if (fields === undefined || typeof data !== "object" || data === null) return data;
  const copy: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const field of fields) if (field in copy) copy[field] = REDACTED;
  return copy;
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
    data: redact(event.type, event.data),
    metadata: event.metadata,
  };
}

/** A Kafka message value back to the event, lifted to the current schema versions. */
export function fromWireEnvelope(value: Buffer | string, upcasters?: Upcasters): RecordedEvent {
  const wire = JSON.parse(value.toString()) as WireEnvelope;
  const event: RecordedEvent = { ...wire, recordedAt: new Date(wire.recordedAt) };
  return upcasters ? upcasters.upcast(event) : event;
}
