// `mailledger projections status|rebuild` (src/cli/projections.ts) against a real database.
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { runProjectionsCommand } from "../cli/projections.ts";
import { createProjectionQueries } from "./queries/index.ts";
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

    const rebuilt = await run(["rebuild", "mailbox", "--batch-size", "3"]);
    expect(rebuilt).toMatchObject({ code: 0, err: "" });
    expect(rebuilt.out).toMatch(/^mailbox: rebuilt as version 2 \(was 1\) from 8 events up to position 8/);
    expect((await createProjectionQueries(db.pool).mailboxStatus(user, "INBOX"))?.messages).toBe(5);

    const status = await run(["status", "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject([
      {
        name: "mailbox",
        activeVersion: 2,
        buildingVersion: null,
        appliedPosition: 8,
        headPosition: 8,
        lag: 0,
      },
    ]);
    expect((await run(["status"])).out).toMatch(/^NAME/);
  });

  it("answers usage errors with exit code 2", async () => {
    expect((await run(["rebuild", "nope"])).code).toBe(2);
    expect((await run(["rebuild"])).code).toBe(2);
    expect((await run(["frobnicate"])).code).toBe(2);
    expect((await run(["rebuild", "mailbox", "--batch-size", "0"])).code).toBe(2);
  });
});
