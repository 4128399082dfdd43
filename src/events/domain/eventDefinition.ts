// How a domain event type is declared: its name, the schema version its data is at, and the
// zod schema of that data. The TypeScript unions and the published JSON Schemas both derive
// from these declarations, so they cannot drift apart.
import type { z } from "zod";

export interface EventDefinition<Type extends string = string, Schema extends z.ZodType = z.ZodType> {
  type: Type;
  schemaVersion: number;
  schema: Schema;
}

export function defineEvent<const Type extends string, Schema extends z.ZodType>(
  type: Type,
  schemaVersion: number,
  schema: Schema,
): EventDefinition<Type, Schema> {
  return { type, schemaVersion, schema };
}

/** The event (as a decider produces it) that a definition describes. */
export type EventOf<Definition> =
  Definition extends EventDefinition<infer Type, infer Schema>
    ? { type: Type; schemaVersion: number; data: z.infer<Schema> }
    : never;
