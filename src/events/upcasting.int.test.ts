import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { appendToStream } from "./appendToStream.ts";
import { readAll } from "./readAll.ts";
import { readStream } from "./readStream.ts";
import { Upcasters } from "./upcasting.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

// v1 stored a single "name" string; v2 split it into given and family names; v3 added a locale.
const upcasters = new Upcasters([
  {
    type: "PersonRegistered",
    fromVersion: 1,
    upcast: (data) => {
      const { name } = data as { name: string };
      const [given = "", ...family] = name.split(" ");
      return { givenName: given, familyName: family.join(" ") };
    },
  },
  { type: "PersonRegistered", fromVersion: 2, upcast: (data) => ({ ...(data as object), locale: "en" }) },
]);

describe("upcasting", () => {
  it("reads a stored v1 row as the current version, leaving the row untouched", async () => {
    await appendToStream(
      db.pool,
      "person-1",
      0,
      [
        { type: "PersonRegistered", schemaVersion: 1, data: { name: "Ada King Lovelace" } },
        { type: "PersonRegistered", schemaVersion: 2, data: { givenName: "Grace", familyName: "Hopper" } },
      ],
      { userId: "u" },
    );
    const [v1, v2] = await readStream(db.pool, "person-1", { upcasters });
    expect(v1).toMatchObject({
      schemaVersion: 3,
      data: { givenName: "Ada", familyName: "King Lovelace", locale: "en" },
    });
    expect(v2).toMatchObject({
      schemaVersion: 3,
      data: { givenName: "Grace", familyName: "Hopper", locale: "en" },
    });

    const fromLog = await readAll(db.pool, 0, 10, { upcasters });
    expect(fromLog.events[0]).toMatchObject({ schemaVersion: 3, data: { givenName: "Ada" } });

    const stored = await db.pool.oneFirst(sql.unsafe`
      SELECT data FROM events WHERE stream_id = 'person-1' AND stream_version = 1`);
    expect(stored).toEqual({ name: "Ada King Lovelace" });
  });

  it("refuses two upcasters for the same step", () => {
    expect(() => upcasters.register({ type: "PersonRegistered", fromVersion: 1, upcast: (d) => d })).toThrow(
      /two upcasters/,
    );
  });
});
