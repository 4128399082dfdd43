import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureCli } from "../../test/support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { testDomainContext } from "../commands/testing/context.ts";
import { createUser } from "../commands/user/handlers.ts";
import { userStreamId } from "../events/envelope.ts";
import { readStream } from "../events/readStream.ts";
import { type MailboxListing, runMailboxCommand } from "./mailbox.ts";

let db: TestDatabase;
let userId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  userId = (await createUser(testDomainContext(db.pool), { username: "alice", password: "pw" })).userId;
});
afterAll(async () => db.drop());

async function run(argv: string[]) {
  return captureCli((io) => runMailboxCommand(argv, { pool: db.pool, ...io }));
}

async function listed(): Promise<MailboxListing[]> {
  const result = await run(["list", "alice", "--json"]);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as MailboxListing[];
}

describe("mailledger mailbox", () => {
  it("lists the INBOX of a new account, as text and JSON", async () => {
    const text = await run(["list", "Alice"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^INBOX\tmessages=0 unseen=0 uidvalidity=\d+ uidnext=1\n$/);
    expect((await listed()).map((m) => [m.name, m.messages, m.selectable])).toEqual([["INBOX", 0, true]]);
  });

  it("creates mailboxes with their superiors and a special use, as the admin", async () => {
    const created = await run(["create", "alice", "Work/Projects", "--special-use", "\\archive"]);
    expect(created).toMatchObject({
      code: 0,
      stdout: "created mailbox Work\ncreated mailbox Work/Projects\n",
    });
    const mailboxes = await listed();
    expect(mailboxes.map((m) => m.name)).toEqual(["INBOX", "Work", "Work/Projects"]);
    expect(mailboxes.find((m) => m.name === "Work/Projects")?.specialUse).toBe("\\Archive");
    const events = await readStream(db.pool, userStreamId(userId));
    expect(events.at(-1)?.metadata).toMatchObject({
      actor: "admin",
      command: { tag: "cli", name: "mailbox create" },
    });
  });

  it("refuses what the domain refuses, and bad usage", async () => {
    expect(await run(["create", "alice", "Work"])).toMatchObject({ code: 1 });
    expect((await run(["create", "alice", "Work"])).stderr).toContain("exists");
    expect((await run(["create", "nobody", "X"])).stderr).toContain('no user named "nobody"');
    expect((await run(["create", "alice", "X", "--special-use", "\\Bogus"])).code).toBe(2);
    expect((await run(["create", "alice"])).stderr).toContain("NAME is needed");
    expect((await run(["delete", "alice", "INBOX"])).code).toBe(1);
    expect((await run(["list"])).code).toBe(2);
    expect((await run(["frob"])).code).toBe(2);
    expect((await run([])).code).toBe(2);
  });

  it("renames with inferiors, subscribes and unsubscribes", async () => {
    expect((await run(["rename", "alice", "Work", "Job"])).stdout).toBe(
      "renamed Work to Job\nrenamed Work/Projects to Job/Projects\n",
    );
    expect((await run(["subscribe", "alice", "Job"])).stdout).toBe("subscribed Job\n");
    expect((await run(["subscribe", "alice", "Job"])).stdout).toBe("Job was already subscribed\n");
    expect((await listed()).find((m) => m.name === "Job")?.subscribed).toBe(true);
    expect((await run(["list", "alice"])).stdout).toContain("Job\tmessages=0");
    expect((await run(["unsubscribe", "alice", "Job"])).stdout).toBe("unsubscribed Job\n");
    expect((await listed()).find((m) => m.name === "Job")?.subscribed).toBe(false);
  });

  it("shows and sets a mailbox's append limit", async () => {
    expect((await run(["appendlimit", "alice", "Job"])).stdout).toBe("none\n");
    expect((await run(["appendlimit", "alice", "Job", "5000"])).code).toBe(0);
    expect((await run(["appendlimit", "alice", "Job"])).stdout).toBe("5000\n");
    expect((await listed()).find((m) => m.name === "Job")?.appendLimit).toBe(5000);
    expect((await run(["appendlimit", "alice", "Job", "none"])).code).toBe(0);
    expect((await run(["appendlimit", "alice", "Job"])).stdout).toBe("none\n");
    expect((await run(["appendlimit", "alice", "Job", "big"])).code).toBe(2);
    expect((await run(["appendlimit", "alice", "Nope"])).code).toBe(1);
  });

  it("deletes: a name with inferiors stays \\Noselect", async () => {
    expect((await run(["delete", "alice", "Job"])).stdout).toContain("stays as \\Noselect");
    expect((await run(["list", "alice"])).stdout).toContain("Job\t\\Noselect");
    expect((await run(["delete", "alice", "Job/Projects"])).code).toBe(0);
    expect((await listed()).map((m) => m.name)).toEqual(["INBOX", "Job"]);
  });
});
