// NO means not done (issue 15): a write whose reply is lost because PostgreSQL went away after
// the statement or the COMMIT was sent is looked up in the log once the database answers, and
// reported done if it is there. The loss is real: a TCP proxy between the pool and PostgreSQL is
// cut while a deferred trigger holds the commit for a second, so PostgreSQL commits and then
// finds nobody to tell. A statement PostgreSQL cancels (statement_timeout) is the opposite case:
// rolled back for sure, so NO at once.
import pg from "pg";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { startTcpProxy, type TcpProxy } from "../../test/support/tcpProxy.ts";
import { mayHaveCommitted } from "../events/commitOutcome.ts";
import { createDatabasePool, type DatabasePool, isDatabaseUnavailable } from "../events/db.ts";
import { DATABASE_UNAVAILABLE_TEXT, triageHandlerError } from "../imap-gateway/errors.ts";
import type { DomainContext } from "./context.ts";
import { createMailbox } from "./mailbox/handlers.ts";
import { appendMessage } from "./messages/append.ts";
import { testDomainContext, testMessage } from "./testing/context.ts";
import { createUser } from "./user/handlers.ts";

let db: TestDatabase;
let proxy: TcpProxy;
let proxied: DatabasePool;
let direct: DomainContext;
let userId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  direct = testDomainContext(db.pool);
  ({ userId } = await createUser(direct, { username: "lost", password: "pw" }));
  const url = new URL(db.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.port = String(proxy.port);
  proxied = await createDatabasePool(url.toString(), { maximumPoolSize: 4 });
});

afterAll(async () => {
  await proxied?.end().catch(() => {});
  await proxy?.close();
  await db.drop();
});

const count = z.object({ n: z.number() });

async function messagesWithSubject(subject: string): Promise<number> {
  const row = await db.pool.one(sql.type(count)`
    SELECT count(*)::int AS n FROM messages WHERE header_summary ->> 'subject' = ${subject}`);
  return row.n;
}

/** Holds every commit that wrote events for a second, after PostgreSQL decided to commit it. */
async function slowCommits(): Promise<void> {
  await db.pool.query(sql.unsafe`
    CREATE OR REPLACE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$`);
  await db.pool.query(sql.unsafe`DROP TRIGGER IF EXISTS test_slow_commit ON events`);
  await db.pool.query(sql.unsafe`
    CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit()`);
}

/** Cuts the proxy while the commit sleeps, restores it later: the reply is lost, the commit is not. */
function loseTheReply(): void {
  setTimeout(() => proxy.cut(), 400);
  setTimeout(() => proxy.restore(), 2_500);
}

describe("a write whose reply is lost", () => {
  it("is found in the log and answered as done: APPEND, one statement", async () => {
    await slowCommits();
    loseTheReply();
    const ctx = testDomainContext(proxied);
    const outcome = await appendMessage(ctx, {
      userId,
      mailboxName: "INBOX",
      body: testMessage("lost reply"),
    });
    expect(outcome.uid).toBeGreaterThan(0);
    expect(await messagesWithSubject("lost reply")).toBe(1);
  });

  it("is found in the log and answered as done: CREATE, a transaction's COMMIT", async () => {
    await slowCommits();
    loseTheReply();
    const ctx = testDomainContext(proxied);
    const created = await createMailbox(ctx, { userId, name: "Lost" });
    const rows = await db.pool.any(sql.type(z.object({ id: z.string() }))`
      SELECT id FROM mailboxes WHERE user_id = ${userId} AND name = 'Lost'`);
    expect(rows.map((row) => row.id)).toEqual([created.mailboxId]);
  });

  it("answers NO [UNAVAILABLE] at once, and writes nothing, when the database cannot be reached", async () => {
    await db.pool.query(sql.unsafe`DROP TRIGGER IF EXISTS test_slow_commit ON events`);
    await proxy.close();
    const ctx = testDomainContext(proxied);
    const started = Date.now();
    const error = await appendMessage(ctx, {
      userId,
      mailboxName: "INBOX",
      body: testMessage("never sent"),
    }).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(triageHandlerError(error, "APPEND", false)).toMatchObject({
      kind: "unavailable",
      status: "NO",
      code: "UNAVAILABLE",
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await messagesWithSubject("never sent")).toBe(0);
  });
});

describe("a statement cut by the statement timeout (PG_STATEMENT_TIMEOUT_MS)", () => {
  it("answers NO [UNAVAILABLE] within the timeout, writes nothing, and looks nothing up", async () => {
    await db.pool.query(sql.unsafe`DROP TRIGGER IF EXISTS test_slow_commit ON events`);
    const timed = await createDatabasePool(db.url, { maximumPoolSize: 2, statementTimeoutMs: 300 });
    // Another session holds the log's table, as a migration or VACUUM FULL would.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
      const ctx = testDomainContext(timed);
      for (const write of [
        () => appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage("cut by the timeout") }),
        () => createMailbox(ctx, { userId, name: "CutByTheTimeout" }),
      ]) {
        const started = Date.now();
        const error = await write().then(
          () => undefined,
          (failure: unknown) => failure,
        );
        // Cancelled, so rolled back: NO (not done), not a BYE after a 30 s lookup of its events.
        expect(mayHaveCommitted(error)).toBe(false);
        expect(triageHandlerError(error, "APPEND", false)).toEqual({
          kind: "unavailable",
          status: "NO",
          code: "UNAVAILABLE",
          text: DATABASE_UNAVAILABLE_TEXT,
        });
        expect(Date.now() - started).toBeLessThan(5_000);
      }
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
      await timed.end();
    }
    expect(await messagesWithSubject("cut by the timeout")).toBe(0);
    const mailboxes = await db.pool.any(sql.type(z.object({ id: z.string() }))`
      SELECT id FROM mailboxes WHERE user_id = ${userId} AND name = 'CutByTheTimeout'`);
    expect(mailboxes).toEqual([]);
  });
});
