// `mailledger projections status|rebuild|verify` (src/cli/projections.ts) against a real database.
import { PassThrough } from "node:stream";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bodiesViewCaughtUp } from "../../test/support/bodiesView.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { runProjectionsCommand } from "../cli/projections.ts";
import {
  appendMessage,
  copyMessages,
  createMailbox,
  createUser,
  deleteMailbox,
  expungeMessages,
  moveMessages,
  renameMailbox,
  storeFlags,
  subscribeMailbox,
} from "../commands/index.ts";
import { testDomainContext, testMessage } from "../commands/testing/context.ts";
import { createTableBlobSource } from "./bodiesView/tableBlobSource.ts";
import { createMailboxQueries } from "./queries/index.ts";
import { startEmbeddedTransport } from "./runner/embeddedTransport.ts";
import { createBodiesProjection } from "./runner/projection.ts";
import { createProjector } from "./runner/projector.ts";
import { EventWriter, sampleMessage } from "./testSupport.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

async function run(argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk) => (out += chunk));
  stderr.on("data", (chunk) => (err += chunk));
  const code = await runProjectionsCommand(argv, { pool: db.pool, stdout, stderr });
  return { code, out, err };
}

describe("mailledger projections", () => {
  it("rebuilds a projection from the log and reports its status, quietly in a pipe", async () => {
    const writer = new EventWriter(db.pool);
    const user = await writer.createUser();
    const inbox = await writer.createMailbox(user, "INBOX");
    for (let i = 0; i < 5; i++) await writer.append(inbox, sampleMessage(i));

    const rebuilt = await run(["rebuild", "bodies", "--batch-size", "3"]);
    expect(rebuilt).toMatchObject({ code: 0, err: "" });
    expect(rebuilt.out).toMatch(/^bodies: rebuilt as version 2 \(was 1\) from 8 events up to position 8/);
    expect(
      (
        await createMailboxQueries(db.pool, { blobs: createTableBlobSource(db.pool) }).mailboxStatus(
          user,
          "INBOX",
        )
      )?.messages,
    ).toBe(5);

    const status = await run(["status", "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject([
      {
        name: "bodies",
        activeVersion: 2,
        buildingVersion: null,
        appliedPosition: 8,
        headPosition: 8,
        lag: 0,
      },
    ]);
    expect((await run(["status"])).out).toMatch(/^NAME/);
  });

  it("verifies the index and the bodies view against the log, under traffic, and names what differs", async () => {
    const ctx = testDomainContext(db.pool);
    const { userId } = await createUser(ctx, { username: "vera", password: "pw" });
    await createMailbox(ctx, { userId, name: "Archive/2025" });
    for (let i = 0; i < 12; i++) {
      await appendMessage(ctx, {
        userId,
        mailboxName: "INBOX",
        body: testMessage(`note ${i}`),
        flags: i % 3 ? [] : ["\\Seen"],
      });
    }
    const inbox = (await createMailboxQueries(db.pool, {
      blobs: createTableBlobSource(db.pool),
    }).mailboxStatus(userId, "INBOX"))!;
    await storeFlags(ctx, {
      userId,
      mailboxId: inbox.mailboxId,
      uids: [1, 2, 3, 4],
      operation: "add",
      flags: ["\\Deleted", "$Later"],
    });
    await copyMessages(ctx, { userId, mailboxId: inbox.mailboxId, uids: [5, 6], targetName: "Archive/2025" });
    await moveMessages(ctx, { userId, mailboxId: inbox.mailboxId, uids: [7], targetName: "Archive" });
    await expungeMessages(ctx, { userId, mailboxId: inbox.mailboxId });
    await subscribeMailbox(ctx, { userId, name: "Archive" });
    await renameMailbox(ctx, { userId, from: "Archive", to: "Kept" });
    await createMailbox(ctx, { userId, name: "Scratch" });
    await deleteMailbox(ctx, { userId, name: "Scratch" });

    const projector = createProjector({
      pool: db.pool,
      projection: createBodiesProjection(createTableBlobSource(db.pool)),
    });
    const transport = await startEmbeddedTransport({ pool: db.pool, projector, pollIntervalMs: 20 });
    try {
      await bodiesViewCaughtUp(db.pool);
      // Traffic goes on while both are verified: the snapshot sees a consistent instant.
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage(`busy ${i}`) });
        }
      })();
      const verified = await run(["verify", "--json"]);
      writing = false;
      await writer;
      expect(verified.err).toBe("");
      expect(verified.code).toBe(0);
      const reports = JSON.parse(verified.out) as {
        name: string;
        equal: boolean;
        events: number;
        tables: { table: string; liveRows: number }[];
      }[];
      expect(reports.map((r) => [r.name, r.equal])).toEqual([
        ["index", true],
        ["bodies", true],
      ]);
      expect(reports[0]!.tables.find((t) => t.table === "tombstones")!.liveRows).toBe(5);
      expect(reports[1]!.tables.find((t) => t.table === "message_bodies")!.liveRows).toBeGreaterThan(10);
      expect((await run(["verify", "index"])).out).toMatch(
        /^index: equal to a rebuild from the log \(\d+ events up to position \d+; users 2, mailboxes 5, retired_mailbox_names 3, subscriptions 1, messages \d+, tombstones 5, metadata_entries 0, mailbox_acl 0, private_seen 0\)$/m,
      );
    } finally {
      await transport.stop();
    }

    // A row changed behind the log's back is found, in either.
    await db.pool.query(
      sql.unsafe`UPDATE messages SET flags = '{$Tampered}' WHERE uid = 8 AND mailbox_id = ${inbox.mailboxId}`,
    );
    const index = await run(["verify", "index"]);
    expect(index.code).toBe(1);
    expect(index.out).toMatch(/^index: DIFFERS/);
    expect(index.out).toMatch(/messages: 1 rows only live, 1 only rebuilt/);
    expect(index.out).toMatch(/live: .*"uid": ?8/);
    await db.pool.query(
      sql.unsafe`DELETE FROM proj_bodies.message_refs WHERE uid = 8 AND mailbox_id = ${inbox.mailboxId}`,
    );
    const bodies = await run(["verify", "bodies"]);
    expect(bodies.code).toBe(1);
    expect(bodies.out).toMatch(/message_refs: 0 rows only live, 1 only rebuilt/);
    // Nothing is left behind: the scratch copies lived in a rolled-back transaction.
    expect(
      await db.pool.anyFirst(
        sql.unsafe`SELECT nspname FROM pg_namespace WHERE nspname ~ 'verify|_v2[0-9]{9}'`,
      ),
    ).toEqual([]);
  });

  it("answers usage errors with exit code 2", async () => {
    expect((await run(["rebuild", "nope"])).code).toBe(2);
    expect((await run(["rebuild"])).code).toBe(2);
    expect((await run(["frobnicate"])).code).toBe(2);
    expect((await run(["rebuild", "bodies", "--batch-size", "0"])).code).toBe(2);
    expect((await run(["verify", "nope"])).code).toBe(2);
    expect((await run(["verify", "index", "bodies"])).code).toBe(2);
  });
});
