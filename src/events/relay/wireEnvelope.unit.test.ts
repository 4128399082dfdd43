import { describe, expect, it } from "vitest";
import type { RecordedEvent } from "../envelope.ts";
import { fromWireEnvelope, REDACTED, toWireEnvelope } from "./wireEnvelope.ts";

const event = (type: string, data: unknown): RecordedEvent => ({
  eventId: "01J0000000000000000000000",
  type,
  schemaVersion: 1,
  streamId: "user-u1",
  streamVersion: 1,
  globalPosition: 7,
  recordedAt: new Date("2026-03-03T10:00:00Z"),
  data,
  metadata: { userId: "u1" },
});

describe("wire envelope", () => {
  it("never puts a password hash on the topic", () => {
    const hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
    const created = toWireEnvelope(
      event("UserCreated", { userId: "u1", username: "ada", passwordHash: hash }),
    );
    expect(created.data).toEqual({ userId: "u1", username: "ada", passwordHash: REDACTED });
    expect(JSON.stringify(created)).not.toContain("argon2id");
    const changed = toWireEnvelope(event("UserPasswordChanged", { passwordHash: hash }));
    expect(changed.data).toEqual({ passwordHash: REDACTED });
  });

  it("round-trips other events unchanged", () => {
    const data = { uid: 3, flags: ["\\Seen"] };
    const wire = JSON.stringify(toWireEnvelope(event("MessageAppended", data)));
    const back = fromWireEnvelope(wire);
    expect(back.data).toEqual(data);
    expect(back.recordedAt.toISOString()).toBe("2026-03-03T10:00:00.000Z");
    expect(back.globalPosition).toBe(7);
  });
});
