import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { appendMessage } from "../commands/messages/append.ts";
import { testCommandContext, testMessage } from "../commands/testing/context.ts";
import { createUser } from "../commands/user/handlers.ts";
import { awaitProjectedSince, logHead } from "./catchUp.ts";
import { createTableBlobSource } from "./mailboxView/tableBlobSource.ts";
import { startEmbeddedTransport } from "./runner/embeddedTransport.ts";
import { createMailboxProjection } from "./runner/projection.ts";
import { createProjector } from "./runner/projector.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

describe("awaitProjectedSince", () => {
  it("says stalled or timeout while no projector applies the writes, applied once one has", async () => {
    const ctx = testCommandContext(db.pool);
    const before = await logHead(db.pool);
    const { userId } = await createUser(ctx, { username: "hugo", password: "pw" });
    await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("waiting") });
    expect(await logHead(db.pool)).toBeGreaterThan(before);

    expect(await awaitProjectedSince(db.pool, before, 200)).toBe("timeout");
    // Nothing applies anything: the wait ends at the stall bound, well before the timeout.
    const stallStarted = Date.now();
    expect(await awaitProjectedSince(db.pool, before, 10_000, { stallMs: 300 })).toBe("stalled");
    expect(Date.now() - stallStarted).toBeLessThan(5_000);

    const projector = createProjector({
      pool: db.pool,
      projection: createMailboxProjection(createTableBlobSource(db.pool)),
    });
    const transport = await startEmbeddedTransport({ pool: db.pool, projector, pollIntervalMs: 20 });
    try {
      expect(await awaitProjectedSince(db.pool, before, 10_000, { stallMs: 3_000 })).toBe("applied");
      // Nothing written since the head: nothing to wait for.
      expect(await awaitProjectedSince(db.pool, await logHead(db.pool), 0)).toBe("applied");
    } finally {
      await transport.stop();
    }
  });
});
