import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureCli } from "../../test/support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { appendMessage } from "../commands/messages/append.ts";
import { expungeMessages } from "../commands/messages/expunge.ts";
import { storeFlags } from "../commands/messages/store.ts";
import { testDomainContext, testMessage } from "../commands/testing/context.ts";
import { createUser } from "../commands/user/handlers.ts";
import { createPostgresBlobStore } from "../events/blobs/postgresBlobStore.ts";
import { runBlobsCommand } from "./blobs.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

const run = (argv: string[]) => captureCli((io) => runBlobsCommand(argv, { pool: db.pool, ...io }));

describe("mailledger blobs gc", () => {
  it("removes the body of an expunged message and keeps the others", async () => {
    const ctx = testDomainContext(db.pool);
    const { userId } = await createUser(ctx, { username: "gina", password: "pw" });
    const kept = await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("kept") });
    const gone = await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("gone") });
    await storeFlags(ctx, {
      userId,
      mailboxId: gone.mailboxId,
      uids: [gone.uid],
      operation: "add",
      flags: ["\\Deleted"],
    });
    await expungeMessages(ctx, { userId, mailboxId: gone.mailboxId });

    // Within the grace period nothing goes.
    expect(await run(["gc"])).toMatchObject({ code: 0, stdout: "examined 0 bodies, removed 0\n" });
    const collected = await run(["gc", "--grace-seconds", "0", "--json"]);
    expect(collected.code).toBe(0);
    expect(JSON.parse(collected.stdout)).toMatchObject({ deleted: [gone.blobDigest] });
    const store = createPostgresBlobStore(db.pool);
    expect(await store.has(gone.blobDigest)).toBe(false);
    expect(await store.has(kept.blobDigest)).toBe(true);
  });

  it("refuses a bad grace period with usage", async () => {
    const result = await run(["gc", "--grace-seconds", "soon"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--grace-seconds must be a whole number/);
  });
});
