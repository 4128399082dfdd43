import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureCli } from "../../test/support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { verifyCredentials } from "../commands/user/handlers.ts";
import { runUserCommand } from "./user.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

async function run(argv: string[], stdin = "") {
  return captureCli((io) => runUserCommand(argv, { pool: db.pool, ...io }), stdin);
}

describe("mailledger user", () => {
  it("creates a user with the password from standard input", async () => {
    const result = await run(["create", "Carol", "--password-stdin", "--append-limit", "1000"], "hunter2\n");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^created user carol \(/);
    expect((await verifyCredentials(db, { username: "carol", password: "hunter2" })).ok).toBe(true);
  });

  it("refuses a password given any other way, and an empty one", async () => {
    expect((await run(["create", "dave", "--password", "x"])).code).toBe(2);
    expect((await run(["create", "dave"])).stderr).toContain("--password-stdin");
    expect((await run(["create", "dave", "--password-stdin"], "\n")).stderr).toContain("no password");
  });

  it("says clearly when the user exists or does not", async () => {
    const again = await run(["create", "carol", "--password-stdin"], "x");
    expect(again).toMatchObject({ code: 1 });
    expect(again.stderr).toContain("already exists");
    expect(await run(["delete", "nobody"])).toMatchObject({ code: 1 });
    expect((await run(["appendlimit", "nobody"])).code).toBe(1);
  });

  it("lists users, as text and as JSON", async () => {
    await run(["create", "erin", "--password-stdin"], "pw");
    expect((await run(["list"])).stdout).toBe("carol\tappendlimit=1000\nerin\n");
    const listed = JSON.parse((await run(["list", "--json"])).stdout) as {
      username: string;
      appendLimit: number | null;
    }[];
    expect(listed.map((user) => [user.username, user.appendLimit])).toEqual([
      ["carol", 1000],
      ["erin", null],
    ]);
  });

  it("changes a password, shows and sets the append limit, deletes", async () => {
    expect((await run(["passwd", "erin", "--password-stdin"], "new-pw\r\n")).code).toBe(0);
    expect((await verifyCredentials(db, { username: "erin", password: "new-pw" })).ok).toBe(true);
    expect((await run(["appendlimit", "erin", "2048"])).code).toBe(0);
    expect((await run(["appendlimit", "erin"])).stdout).toBe("2048\n");
    expect((await run(["appendlimit", "erin", "none"])).code).toBe(0);
    expect((await run(["appendlimit", "erin"])).stdout).toBe("none\n");
    expect((await run(["appendlimit", "erin", "lots"])).code).toBe(2);
    expect((await run(["delete", "erin"])).code).toBe(0);
    expect((await run(["list"])).stdout).toBe("carol\tappendlimit=1000\n");
  });

  it("shows, sets and removes a storage quota, with sizes in octets or with a unit", async () => {
    expect((await run(["quota", "carol"])).stdout).toBe("0 B of no quota\n");
    expect((await run(["quota", "carol", "500M"])).stdout).toBe(
      "storage quota of carol: 500 MiB (524288000 octets)\n",
    );
    expect((await run(["quota", "carol"])).stdout).toBe("0 B of 500 MiB\n");
    expect(JSON.parse((await run(["quota", "carol", "--json"])).stdout)).toEqual({
      username: "carol",
      used: 0,
      quota: 524288000,
    });
    expect((await run(["list"])).stdout).toBe("carol\tappendlimit=1000\tquota=524288000\n");
    expect(JSON.parse((await run(["list", "--json"])).stdout)[0].storageLimit).toBe(524288000);
    expect((await run(["quota", "carol", "none"])).code).toBe(0);
    expect((await run(["quota", "carol"])).stdout).toBe("0 B of no quota\n");
    const bad = await run(["quota", "carol", "lots"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"lots" is not a size');
    expect((await run(["quota", "nobody", "1G"])).code).toBe(1);
  });

  it("explains usage for unknown or missing subcommands", async () => {
    expect(await run([])).toMatchObject({ code: 2 });
    const unknown = await run(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("usage:");
  });
});
