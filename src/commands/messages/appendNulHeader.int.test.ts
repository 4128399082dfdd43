// A header with a NUL byte (found by npm run fuzz): APPEND stores the message as it came and
// answers OK; the event's header summary, which is jsonb and cannot hold U+0000, has U+FFFD there.
import { sql } from "slonik";
import { afterAll, beforeAll, expect, it } from "vitest";
import { z } from "zod";
import { createTestDatabase, type TestDatabase } from "../../../test/support/database.ts";
import { testDomainContext } from "../testing/context.ts";
import { createUser } from "../user/handlers.ts";
import { appendMessage } from "./append.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

it("appends a message whose From and Subject hold a NUL byte, the summary with U+FFFD instead", async () => {
  const ctx = testDomainContext(db.pool);
  const { userId } = await createUser(ctx, { username: "nul", password: "pw" });
  const body = Buffer.from(
    "From: Fu\u0000zz <fuzz@example.org>\r\nSubject: =?UTF-8?Q?a=00b?=\r\nTo: a@example.org\r\n\r\nhello\r\n",
    "latin1",
  );
  const outcome = await appendMessage(ctx, { userId, mailboxName: "INBOX", body });
  expect(outcome.uid).toBeGreaterThan(0);
  const row = await db.pool.one(sql.type(z.object({ summary: z.unknown() }))`
    SELECT header_summary AS summary FROM messages WHERE uid = ${outcome.uid}`);
  expect(row.summary).toMatchObject({ from: ["Fu\uFFFDzz <fuzz@example.org>"], subject: "a\uFFFDb" });
});
