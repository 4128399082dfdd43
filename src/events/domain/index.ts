// The domain events of mailledger: definitions, unions and the catalog external consumers'
// JSON Schemas are generated from.
import type { z } from "zod";
import type { EventDefinition } from "./eventDefinition.ts";
import { type MailboxEvent, mailboxEventDefinitions } from "./mailboxEvents.ts";
import { type UserEvent, userEventDefinitions } from "./userEvents.ts";

export * from "./common.ts";
export * from "./eventDefinition.ts";
export * from "./mailboxEvents.ts";
export * from "./userEvents.ts";

export type DomainEvent = UserEvent | MailboxEvent;

export interface CatalogEntry extends EventDefinition {
  /** Which stream the event lives in. */
  stream: "user" | "mailbox";
}

/** Every domain event type at its current schema version. */
export const domainEventCatalog: readonly CatalogEntry[] = [
  ...userEventDefinitions.map((definition) => ({ ...definition, stream: "user" as const })),
  ...mailboxEventDefinitions.map((definition) => ({ ...definition, stream: "mailbox" as const })),
];

const catalogByType = new Map(domainEventCatalog.map((entry) => [entry.type, entry]));

/** The schema an event's data must match, if its type is known at that version. */
export function schemaFor(type: string, schemaVersion: number): z.ZodType | undefined {
  const entry = catalogByType.get(type);
  return entry && entry.schemaVersion === schemaVersion ? entry.schema : undefined;
}

/** Checks a (possibly upcast) event read from the store against its current schema. */
export function parseDomainEvent(event: { type: string; schemaVersion: number; data: unknown }): DomainEvent {
  const schema = schemaFor(event.type, event.schemaVersion);
  if (!schema) throw new Error(`unknown domain event ${event.type}@${event.schemaVersion}`);
  return {
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: schema.parse(event.data),
  } as DomainEvent;
}
