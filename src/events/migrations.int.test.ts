import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import {
  assertSchemaCurrent,
  createPgScriptRunner,
  loadMigrations,
  migrate,
  SchemaVersionError,
  schemaState,
} from "./migrations.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => db?.drop());

describe("migrations", () => {
  it("applies every migration in order once, and reports the schema current", async () => {
    const known = await loadMigrations();
    expect(await schemaState(db.pool)).toMatchObject({ status: "behind", version: 0 });
    await expect(assertSchemaCurrent(db.pool)).rejects.toThrow(/run `mailledger migrate`/);

    const runner = await createPgScriptRunner(db.url);
    try {
      expect(await migrate(runner)).toEqual(known.map((m) => m.name));
      expect(await migrate(runner)).toEqual([]);
    } finally {
      await runner.close();
    }
    expect(await assertSchemaCurrent(db.pool)).toBe(known.at(-1)!.version);
    const recorded = await db.pool.anyFirst(
      sql.unsafe`SELECT version FROM schema_migrations ORDER BY version`,
    );
    expect(recorded).toEqual(known.map((m) => m.version));
  });

  it("refuses a database whose schema is newer than this build knows", async () => {
    const known = await loadMigrations();
    await db.pool.query(sql.unsafe`
      INSERT INTO schema_migrations (version, name) VALUES (${known.at(-1)!.version + 1}, 'from_the_future')`);
    const state = await schemaState(db.pool);
    expect(state).toMatchObject({ status: "ahead" });
    await expect(assertSchemaCurrent(db.pool)).rejects.toBeInstanceOf(SchemaVersionError);
    await expect(assertSchemaCurrent(db.pool)).rejects.toThrow(/newer than this mailledger knows/);
    const runner = await createPgScriptRunner(db.url);
    try {
      await expect(migrate(runner)).rejects.toThrow(/newer than this mailledger knows/);
    } finally {
      await runner.close();
    }
  });

  it("rolls back a failing migration entirely and names it", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "mailledger-migrations-"));
    await writeFile(path.join(dir, "0001_ok.sql"), "CREATE TABLE probe_ok (id int);");
    await writeFile(
      path.join(dir, "0002_broken.sql"),
      "CREATE TABLE probe_half (id int); SELECT nonsense FROM nowhere;",
    );
    const other = await createTestDatabase({ migrate: false });
    const runner = await createPgScriptRunner(other.url);
    try {
      await expect(migrate(runner, await loadMigrations(dir))).rejects.toThrow(
        /migration 0002_broken failed/,
      );
      const tables = await other.pool.anyFirst(sql.unsafe`
        SELECT tablename FROM pg_tables WHERE tablename LIKE 'probe_%' ORDER BY 1`);
      expect(tables).toEqual(["probe_ok"]);
      expect(await schemaState(other.pool, await loadMigrations(dir))).toMatchObject({
        status: "behind",
        version: 1,
      });
    } finally {
      await runner.close();
      await other.drop();
    }
  });

  it("0033 counts the messages of each body row in place, and drops the rows none refers to", async () => {
    const all = await loadMigrations();
    const other = await createTestDatabase({ migrate: false });
    const runner = await createPgScriptRunner(other.url);
    try {
      await migrate(
        runner,
        all.filter((m) => m.version < 33),
      );
      const body = (digest: string) => sql.fragment`
        (${digest}, '{}', '{}', '', '', '', '', '', '[]', '', '')`;
      const message = (uid: number, digest: string, summary: string | null) => sql.fragment`
        ('mbx', ${uid}, 1, '{}', now(), 10, ${digest}, ${summary})`;
      await other.pool.query(sql.unsafe`
        INSERT INTO proj_mailbox_v1.message_bodies (blob_digest, envelope, structure, search_from, search_to,
          search_cc, search_bcc, search_subject, search_headers, search_header_text, search_body)
        VALUES ${sql.join([body("shared"), body("single"), body("expunged")], sql.fragment`, `)}`);
      // "late": its first message came while the blob could not be read (summary columns set).
      await other.pool.query(sql.unsafe`
        INSERT INTO proj_mailbox_v1.messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_digest,
          summary_subject)
        VALUES ${sql.join(
          [
            message(1, "shared", null),
            message(2, "shared", null),
            message(3, "single", null),
            message(4, "late", ""),
          ],
          sql.fragment`, `,
        )}`);
      await migrate(
        runner,
        all.filter((m) => m.version <= 34),
      );
      const rows = await other.pool.any(sql.unsafe`
        SELECT blob_digest, refs::int AS refs FROM proj_mailbox.message_bodies ORDER BY blob_digest`);
      expect(rows).toEqual([
        { blob_digest: "shared", refs: 2 },
        { blob_digest: "single", refs: 1 },
      ]);
    } finally {
      await runner.close();
      await other.drop();
    }
  });

  it("0040 and 0041 build the index's counters and tombstones, and carry the views' bodies over", async () => {
    const all = await loadMigrations();
    const other = await createTestDatabase({ migrate: false });
    const runner = await createPgScriptRunner(other.url);
    try {
      await migrate(
        runner,
        all.filter((m) => m.version < 40),
      );
      await other.pool.query(sql.unsafe`
        INSERT INTO users (id, username, password_hash, stream_version) VALUES ('u1', 'ann', 'x', 3)`);
      await other.pool.query(sql.unsafe`
        INSERT INTO mailboxes (id, user_id, name, status, uid_validity, uid_next, highest_modseq)
        VALUES ('mbx', 'u1', 'INBOX', 'selectable', 7, 6, 8), ('gone', 'u1', 'Old', 'deleted', 9, 3, 4)`);
      await other.pool.query(sql.unsafe`
        INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_digest, header_summary)
        VALUES ('mbx', 1, 2, ARRAY['\\Seen'], now(), 10, 'd1', '{}'), ('mbx', 2, 3, '{}', now(), 20, 'd2', '{}')`);
      const event = (stream: string, version: number, type: string, data: object) => sql.fragment`
        (${`e-${stream}-${version}`}, ${stream}, ${version}, ${type}, 1, ${JSON.stringify(data)}::jsonb, '{}'::jsonb)`;
      await other.pool.query(sql.unsafe`
        INSERT INTO events (event_id, stream_id, stream_version, type, schema_version, data, metadata)
        VALUES ${sql.join(
          [
            event("mailbox-mbx", 5, "MessagesExpunged", { modseq: 5, uids: [3], cause: "expunge" }),
            event("mailbox-mbx", 6, "MessagesMovedOut", { modseq: 6, uids: [4], targetMailboxId: "x" }),
            event("mailbox-mbx", 7, "MessagesExpunged", { modseq: 7, uids: [5], cause: "uid-expunge" }),
            event("mailbox-gone", 4, "MessagesExpunged", {
              modseq: 4,
              uids: [1, 2],
              cause: "mailbox-deleted",
            }),
          ],
          sql.fragment`, `,
        )}`);
      await other.pool.query(sql.unsafe`
        INSERT INTO proj_mailbox_v1.user_positions VALUES ('u1', 42)`);
      await other.pool.query(sql.unsafe`
        INSERT INTO proj_mailbox_v1.mailboxes (mailbox_id, user_id, name, highest_modseq) VALUES ('mbx', 'u1', 'INBOX', 8)`);
      await other.pool.query(sql.unsafe`
        INSERT INTO proj_mailbox_v1.messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_digest,
          summary_subject)
        VALUES ('mbx', 1, 2, '{}', now(), 10, 'd1', NULL), ('mbx', 2, 3, '{}', now(), 20, 'd2', 'no blob')`);
      await other.pool.query(sql.unsafe`
        INSERT INTO proj_mailbox_v1.message_bodies (blob_digest, envelope, structure, search_from, search_to,
          search_cc, search_bcc, search_subject, search_headers, search_header_text, search_body, refs)
        VALUES ('d1', '{}', '{}', '', '', '', '', 'hello', '[]', '', '', 1)`);
      await other.pool.query(sql.unsafe`
        INSERT INTO checkpoints (consumer, global_position) VALUES ('projection:mailbox', 42)`);

      await migrate(runner, all);

      expect(
        await other.pool.one(sql.unsafe`
          SELECT message_count::int, unseen_count::int, total_size::int FROM mailboxes WHERE id = 'mbx'`),
      ).toEqual({ message_count: 2, unseen_count: 1, total_size: 30 });
      expect(
        await other.pool.any(sql.unsafe`
          SELECT mailbox_id, uid::int, modseq::int FROM tombstones ORDER BY mailbox_id, uid`),
      ).toEqual([
        { mailbox_id: "mbx", uid: 3, modseq: 5 },
        { mailbox_id: "mbx", uid: 4, modseq: 6 },
        { mailbox_id: "mbx", uid: 5, modseq: 7 },
      ]);
      expect(
        await other.pool.any(sql.unsafe`
          SELECT mailbox_id, uid::int, blob_digest, counted FROM proj_bodies.message_refs ORDER BY uid`),
      ).toEqual([
        { mailbox_id: "mbx", uid: 1, blob_digest: "d1", counted: true },
        { mailbox_id: "mbx", uid: 2, blob_digest: "d2", counted: false },
      ]);
      expect(
        await other.pool.any(
          sql.unsafe`SELECT blob_digest, search_subject, refs::int FROM proj_bodies.message_bodies`,
        ),
      ).toEqual([{ blob_digest: "d1", search_subject: "hello", refs: 1 }]);
      expect(
        await other.pool.any(sql.unsafe`SELECT mailbox_id, highest_modseq::int FROM proj_bodies.mailboxes`),
      ).toEqual([{ mailbox_id: "mbx", highest_modseq: 8 }]);
      expect(await other.pool.anyFirst(sql.unsafe`SELECT name FROM projection_versions`)).toEqual(["bodies"]);
      expect(await other.pool.anyFirst(sql.unsafe`SELECT consumer FROM checkpoints`)).toEqual([
        "projection:bodies",
      ]);
      expect(
        await other.pool.anyFirst(
          sql.unsafe`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'proj_mailbox%'`,
        ),
      ).toEqual([]);
    } finally {
      await runner.close();
      await other.drop();
    }
  });

  it("0052 gives each message the MODSEQ of the event that brought it into its mailbox (SAVEDATE)", async () => {
    const all = await loadMigrations();
    const other = await createTestDatabase({ migrate: false });
    const runner = await createPgScriptRunner(other.url);
    try {
      await migrate(
        runner,
        all.filter((m) => m.version < 52),
      );
      await other.pool.query(sql.unsafe`
        INSERT INTO users (id, username, password_hash, stream_version) VALUES ('u1', 'ann', 'x', 3)`);
      await other.pool.query(sql.unsafe`
        INSERT INTO mailboxes (id, user_id, name, status, uid_validity, uid_next, highest_modseq)
        VALUES ('mbx', 'u1', 'INBOX', 'selectable', 7, 10, 8)`);
      await other.pool.query(sql.unsafe`
        INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_digest, header_summary)
        VALUES ('mbx', 1, 6, '{}', now(), 10, 'd1', '{}'), ('mbx', 2, 3, '{}', now(), 20, 'd2', '{}'),
               ('mbx', 3, 3, '{}', now(), 20, 'd3', '{}'), ('mbx', 9, 8, '{}', now(), 20, 'd9', '{}')`);
      const event = (version: number, type: string, data: object) => sql.fragment`
        (${`e-${version}`}, 'mailbox-mbx', ${version}, ${type}, 1, ${JSON.stringify(data)}::jsonb, '{}'::jsonb)`;
      await other.pool.query(sql.unsafe`
        INSERT INTO events (event_id, stream_id, stream_version, type, schema_version, data, metadata)
        VALUES ${sql.join(
          [
            event(2, "MessageAppended", { modseq: 2, uid: 1 }),
            event(3, "MessagesCopiedIn", { modseq: 3, messages: [{ uid: 2 }, { uid: 3 }] }),
            event(6, "MessageFlagsChanged", { modseq: 6, messages: [{ uid: 1, flags: [] }] }),
          ],
          sql.fragment`, `,
        )}`);

      await migrate(runner, all);

      expect(
        await other.pool.any(sql.unsafe`SELECT uid::int, arrival_modseq::int FROM messages ORDER BY uid`),
      ).toEqual([
        { uid: 1, arrival_modseq: 2 },
        { uid: 2, arrival_modseq: 3 },
        { uid: 3, arrival_modseq: 3 },
        { uid: 9, arrival_modseq: null },
      ]);
    } finally {
      await runner.close();
      await other.drop();
    }
  });
});
