import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureCli } from "../../test/support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { testDomainContext, testMessage } from "../commands/testing/context.ts";
import { createUser } from "../commands/user/handlers.ts";
import { runMailboxCommand } from "./mailbox.ts";
import { type MessageListing, parseUidSet, runMessageCommand } from "./message.ts";

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), "mailledger-cli-"));
  await createUser(testDomainContext(db.pool), { username: "bob", password: "pw" });
});
afterAll(async () => {
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[], stdin: Buffer = Buffer.alloc(0), command = runMessageCommand) {
  return captureCli((io) => command(argv, { pool: db.pool, ...io }), stdin);
}

async function listed(mailbox = "INBOX"): Promise<MessageListing[]> {
  const result = await run(["list", "bob", mailbox, "--json"]);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as MessageListing[];
}

const first = testMessage("First");
const second = testMessage("Second", 10_000);

describe("UID sets", () => {
  it("parses IMAP UID sets", () => {
    expect(parseUidSet("1:3,7,9:*")).toEqual([
      [1, 3],
      [7, 7],
      [9, null],
    ]);
    expect(() => parseUidSet("0")).toThrow();
    expect(() => parseUidSet("1:2:3")).toThrow();
    expect(() => parseUidSet("a")).toThrow();
  });
});

describe("mailledger message", () => {
  it("adds a message from a file and from standard input, with flags and a date", async () => {
    const file = path.join(dir, "first.eml");
    await writeFile(file, first);
    expect(await run(["add", "bob", "INBOX", file, "--flag", "\\Seen", "--flag", "$Work"])).toMatchObject({
      code: 0,
      stdout: `appended UID 1 (${first.length} octets)\n`,
    });
    expect(await run(["add", "bob", "inbox", "-", "--date", "2020-01-02T03:04:05Z"], second)).toMatchObject({
      code: 0,
      stdout: `appended UID 2 (${second.length} octets)\n`,
    });
    const messages = await listed();
    expect(messages.map((m) => [m.uid, m.flags, m.subject, m.size])).toEqual([
      [1, ["$Work", "\\Seen"], "First", first.length],
      [2, [], "Second", second.length],
    ]);
    expect(messages[1]?.internalDate).toBe("2020-01-02T03:04:05.000Z");
  });

  it("refuses a missing file, a bad date, a missing mailbox", async () => {
    expect((await run(["add", "bob", "INBOX", path.join(dir, "nope.eml")])).code).toBe(2);
    expect((await run(["add", "bob", "INBOX", "-", "--date", "yesterday"], first)).code).toBe(2);
    const missing = await run(["add", "bob", "Nope", "-"], first);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no mailbox named "Nope"');
    expect((await run(["list", "bob", "Nope"])).code).toBe(1);
    expect((await run(["list", "nobody", "INBOX"])).code).toBe(1);
  });

  it("lists as text", async () => {
    const lines = (await run(["list", "bob", "INBOX"])).stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^1\t\$Work \\Seen\t\d+\t\S+Z\tFirst$/);
    expect(lines[1]).toMatch(/^2\t-\t10\d+\t2020-01-02T03:04:05.000Z\tSecond$/);
  });

  it("dumps the stored bytes", async () => {
    expect((await run(["dump", "bob", "INBOX", "2"])).bytes.equals(second)).toBe(true);
    expect((await run(["dump", "bob", "INBOX", "9"])).code).toBe(1);
    expect((await run(["dump", "bob", "INBOX", "x"])).code).toBe(2);
  });

  it("adds, removes and sets flags on a UID set", async () => {
    expect((await run(["flags", "bob", "INBOX", "1:*", "add", "\\Flagged"])).stdout).toBe(
      "1\t$Work \\Flagged \\Seen\n2\t\\Flagged\n",
    );
    expect((await run(["flags", "bob", "INBOX", "*", "remove", "\\flagged"])).stdout).toBe("2\t-\n");
    expect((await run(["flags", "bob", "INBOX", "1", "set", "\\Answered"])).stdout).toBe("1\t\\Answered\n");
    expect((await run(["flags", "bob", "INBOX", "1", "set"])).stdout).toBe("1\t-\n");
    expect((await run(["flags", "bob", "INBOX", "1", "toggle", "\\Seen"])).code).toBe(2);
    expect((await run(["flags", "bob", "INBOX", "1", "add"])).code).toBe(2);
    expect((await run(["flags", "bob", "INBOX", "50:60", "add", "\\Seen"])).code).toBe(1);
    expect((await run(["flags", "bob", "INBOX", "1", "add", "\\Bogus"])).code).toBe(1);
  });

  it("copies and moves to another mailbox", async () => {
    expect((await run(["create", "bob", "Archive"], undefined, runMailboxCommand)).code).toBe(0);
    expect((await run(["copy", "bob", "INBOX", "1:2", "Archive"])).stdout).toMatch(
      /^copied 2 messages: UID 1:2 -> 1:2 \(UIDVALIDITY \d+\)\n$/,
    );
    expect((await run(["move", "bob", "Archive", "1", "INBOX"])).stdout).toMatch(
      /^moved 1 message: UID 1 -> 3 \(UIDVALIDITY \d+\)\n$/,
    );
    expect((await listed("Archive")).map((m) => m.uid)).toEqual([2]);
    expect((await listed()).map((m) => [m.uid, m.subject])).toEqual([
      [1, "First"],
      [2, "Second"],
      [3, "First"],
    ]);
    expect((await run(["copy", "bob", "INBOX", "1", "Nope"])).code).toBe(1);
  });

  it("removes exactly the messages named, leaving other \\Deleted ones", async () => {
    await run(["flags", "bob", "INBOX", "3", "add", "\\Deleted"]);
    expect((await run(["remove", "bob", "INBOX", "1:2"])).stdout).toBe("removed 2 messages: UID 1:2\n");
    expect((await listed()).map((m) => [m.uid, m.flags])).toEqual([[3, ["\\Deleted"]]]);
    expect((await run(["remove", "bob", "INBOX", "1"])).code).toBe(1);
  });

  it("explains usage", async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(["frob"])).stderr).toContain("usage:");
    expect((await run(["help"])).code).toBe(0);
    expect((await run(["copy", "bob", "INBOX", "1"])).stderr).toContain("TARGET is needed");
  });
});
