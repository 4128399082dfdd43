// What the bodies view derives from a body (envelope, structure, search text: most of a message's
// bytes) is kept once per distinct body, for as long as a message refers to it; then it goes, and
// a rebuild from the log, after `blobs gc` too, equals the live view row for row (contract 6).
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { collectGarbage } from "../../src/events/blobs/collectGarbage.ts";
import { createPostgresBlobStore } from "../../src/events/blobs/postgresBlobStore.ts";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { createTableBlobSource } from "../../src/projections/bodiesView/tableBlobSource.ts";
import { dumpProjectionSchema } from "../../src/projections/rebuild/dumpVersion.ts";
import { rebuildProjection } from "../../src/projections/rebuild/rebuild.ts";
import { createBodiesProjection } from "../../src/projections/runner/projection.ts";
import { bodiesViewCaughtUp } from "../support/bodiesView.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";

let server: TestMailServer;
let client: RawImapClient;

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser("erin", "erin-password");
  client = await RawImapClient.connect(server.port);
  await client.greeting();
  expect((await client.command("L", "LOGIN erin erin-password")).at(-1)).toMatch(/^L OK/);
});
afterAll(async () => {
  client?.close();
  await server?.close();
});

const body = (word: string) =>
  `From: a@example.org\r\nSubject: about ${word}\r\nMessage-ID: <${word}@example.org>\r\n\r\nThe word is ${word}.\r\n`;

async function append(mailbox: string, text: string): Promise<void> {
  const answer = await client.command("A", `APPEND ${mailbox} {${Buffer.byteLength(text)}+}\r\n${text}`);
  expect(answer.at(-1)).toMatch(/^A OK/);
}

async function ok(command: string): Promise<string[]> {
  const answer = await client.command("T", command);
  expect(answer.at(-1)).toMatch(/^T OK/);
  return answer;
}

/** The view's body rows once it has caught up, as digest → refs. */
async function bodyRefs(): Promise<Map<string, number>> {
  await bodiesViewCaughtUp(server.db.pool);
  const rows = await server.db.pool.any(sql.type(z.object({ blob_digest: z.string(), refs: z.number() }))`
    SELECT blob_digest, refs::int AS refs FROM proj_bodies.message_bodies`);
  return new Map(rows.map((row) => [row.blob_digest, row.refs]));
}

async function digestOf(mailbox: string, uid: number): Promise<string> {
  return (await server.db.pool.oneFirst(sql.unsafe`
    SELECT m.blob_digest FROM messages AS m JOIN mailboxes AS b ON b.id = m.mailbox_id
    WHERE b.name = ${mailbox} AND b.status = 'selectable' AND m.uid = ${uid}`)) as string;
}

describe("the body rows of the bodies view", () => {
  it("go with the last message that refers to them, and a rebuild after blobs gc equals the live view", async () => {
    await ok("CREATE Archive");
    await append("INBOX", body("alpha"));
    await append("INBOX", body("bravo"));
    await ok("SELECT INBOX");
    await ok("COPY 1 Archive");
    const alpha = await digestOf("INBOX", 1);
    const bravo = await digestOf("INBOX", 2);
    expect((await bodyRefs()).get(alpha)).toBe(2);
    expect((await bodyRefs()).get(bravo)).toBe(1);

    // The original goes; the copy keeps the body's row, so it still searches and fetches.
    await ok("STORE 1 +FLAGS.SILENT (\\Deleted)");
    await ok("EXPUNGE");
    expect((await bodyRefs()).get(alpha)).toBe(1);
    await ok("SELECT Archive");
    expect(await ok("SEARCH BODY alpha")).toContain("* SEARCH 1");
    expect((await ok("FETCH 1 ENVELOPE"))[0]).toContain('"about alpha"');

    // The last reference goes with its mailbox; bravo's with its expunge.
    await ok("SELECT INBOX");
    await ok("DELETE Archive");
    await ok("STORE 1 +FLAGS.SILENT (\\Deleted)");
    await ok("EXPUNGE");
    expect((await bodyRefs()).has(alpha)).toBe(false);
    expect((await bodyRefs()).has(bravo)).toBe(false);

    // The same body again: its row comes back.
    await append("INBOX", body("alpha"));
    expect((await bodyRefs()).get(alpha)).toBe(1);
    await ok("NOOP");
    expect(await ok("SEARCH BODY alpha")).toContain("* SEARCH 1");

    // bravo's blob is collected; the log still names it. A rebuild cannot read it, and needs not.
    const collected = await collectGarbage(server.db.pool, createPostgresBlobStore(server.db.pool), {
      gracePeriodMs: 0,
    });
    expect(collected.deleted).toEqual([bravo]);
    const projection = createBodiesProjection(createTableBlobSource(server.db.pool));
    const activeSchema = async () =>
      `proj_bodies_v${await server.db.pool.oneFirst(sql.unsafe`
        SELECT active_version FROM projection_versions WHERE name = 'bodies'`)}`;
    await bodiesViewCaughtUp(server.db.pool);
    const live = await dumpProjectionSchema(server.db.pool, projection, await activeSchema());
    const rebuilt = await rebuildProjection({ pool: server.db.pool, projection });
    const fresh = await dumpProjectionSchema(server.db.pool, projection, `proj_bodies_v${rebuilt.version}`);
    expect(fresh.message_bodies).toHaveLength(1);
    expect(fresh).toEqual(live);
  });
});
