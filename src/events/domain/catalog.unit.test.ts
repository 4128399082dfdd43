import { describe, expect, it } from "vitest";
import { z } from "zod";
import { domainEventCatalog, parseDomainEvent, schemaFor } from "./index.ts";

describe("domain event catalog", () => {
  it("lists every event type once, each with a schema version", () => {
    const types = domainEventCatalog.map((entry) => entry.type);
    expect(new Set(types).size).toBe(types.length);
    expect(types).toEqual(
      expect.arrayContaining([
        "UserCreated",
        "MailboxCreated",
        "MailboxRenamed",
        "MailboxDeleted",
        "MessageAppended",
        "MessageFlagsChanged",
        "MessagesExpunged",
        "MessagesMovedOut",
      ]),
    );
    for (const entry of domainEventCatalog) expect(entry.schemaVersion).toBeGreaterThanOrEqual(1);
  });

  it("turns every schema into a JSON Schema for the topic's consumers", () => {
    for (const entry of domainEventCatalog) {
      const jsonSchema = z.toJSONSchema(entry.schema) as { type?: string; properties?: object };
      expect(jsonSchema.type, entry.type).toBe("object");
      expect(Object.keys(jsonSchema.properties ?? {}).length, entry.type).toBeGreaterThan(0);
    }
  });

  it("parses a stored event against its schema and rejects a wrong shape or version", () => {
    const event = {
      type: "MessagesExpunged",
      schemaVersion: 1,
      data: { modseq: 3, uids: [1, 2], cause: "expunge" },
    };
    expect(parseDomainEvent(event)).toEqual(event);
    expect(() => parseDomainEvent({ ...event, data: { modseq: 0, uids: [], cause: "expunge" } })).toThrow();
    expect(schemaFor("MessagesExpunged", 2)).toBeUndefined();
    expect(() => parseDomainEvent({ ...event, type: "Nope" })).toThrow(/unknown domain event/);
  });

  it("never carries a message body: no event schema has a body or content field", () => {
    for (const entry of domainEventCatalog) {
      const text = JSON.stringify(z.toJSONSchema(entry.schema));
      expect(text, entry.type).not.toMatch(/"(body|content|raw)"/);
    }
  });
});
