import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureCli } from "../../test/support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { createMailbox } from "../commands/mailbox/handlers.ts";
import { testDomainContext } from "../commands/testing/context.ts";
import { createUser } from "../commands/user/handlers.ts";
import { userStreamId } from "../events/envelope.ts";
import { readStream } from "../events/readStream.ts";
import { runAclCommand } from "./acl.ts";

let db: TestDatabase;
let aliceId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  const ctx = testDomainContext(db.pool);
  aliceId = (await createUser(ctx, { username: "alice", password: "pw" })).userId;
  await createUser(ctx, { username: "bob", password: "pw" });
  await createMailbox(ctx, { userId: aliceId, name: "Team" });
});
afterAll(async () => db.drop());

const run = (argv: string[]) => captureCli((io) => runAclCommand(argv, { pool: db.pool, ...io }));

describe("mailledger acl", () => {
  it("sets, shows, changes and deletes an entry, each as an event by the admin", async () => {
    expect(await run(["set", "alice", "Team", "Bob", "lr"])).toMatchObject({
      code: 0,
      stdout: `bob holds "lr" on alice's Team\n`,
    });
    expect(await run(["set", "alice", "Team", "bob", "+wc"])).toMatchObject({
      code: 0,
      stdout: `bob holds "lrwkx" on alice's Team\n`,
    });
    expect(await run(["set", "alice", "Team", "bob", "+w"])).toMatchObject({
      code: 0,
      stdout: `unchanged: bob holds "lrwkx" on alice's Team\n`,
    });
    expect(await run(["set", "alice", "Team", "anyone", "l"])).toMatchObject({ code: 0 });
    expect(await run(["get", "alice", "team"])).toMatchObject({ code: 1 });
    expect(await run(["get", "alice", "Team"])).toMatchObject({
      code: 0,
      stdout: "alice\tlrswipkxtea\t(owner)\nanyone\tl\nbob\tlrwkx\n",
    });
    expect(JSON.parse((await run(["get", "alice", "Team", "--json"])).stdout)).toEqual([
      { identifier: "alice", rights: "lrswipkxtea", owner: true },
      { identifier: "anyone", rights: "l", owner: false },
      { identifier: "bob", rights: "lrwkx", owner: false },
    ]);
    expect(await run(["delete", "alice", "Team", "bob"])).toMatchObject({
      code: 0,
      stdout: "bob holds no right on alice's Team\n",
    });
    expect(await run(["set", "alice", "Team", "anyone", "-l"])).toMatchObject({ code: 0 });
    expect((await run(["get", "alice", "Team"])).stdout).toBe("alice\tlrswipkxtea\t(owner)\n");
    const events = await readStream(db.pool, userStreamId(aliceId));
    const acl = events.filter((event) => event.type.startsWith("MailboxAcl"));
    expect(acl.map((event) => [event.type, (event.data as { rights?: string }).rights])).toEqual([
      ["MailboxAclSet", "lr"],
      ["MailboxAclSet", "lrwkx"],
      ["MailboxAclSet", "l"],
      ["MailboxAclDeleted", undefined],
      ["MailboxAclDeleted", undefined],
    ]);
    expect(acl.every((event) => event.metadata.actor === "admin")).toBe(true);
  });

  it("refuses with a clear message and exit 1, or the usage and exit 2", async () => {
    const refused = async (argv: string[], message: RegExp, code = 1) => {
      const result = await run(argv);
      expect(result.code, argv.join(" ")).toBe(code);
      expect(result.stderr, argv.join(" ")).toMatch(message);
    };
    await refused(["set", "carol", "Team", "bob", "lr"], /no user named "carol"/);
    await refused(["set", "alice", "Nope", "bob", "lr"], /no mailbox named "Nope"/);
    await refused(["set", "alice", "Team", "nobody", "lr"], /no user named "nobody"/);
    await refused(["set", "alice", "Team", "bob", "lrz"], /"z" is not a right this server knows/);
    await refused(["set", "alice", "Team", "alice", "lr"], /owner of a mailbox has every right/);
    await refused(["delete", "alice", "Team", "alice"], /owner of a mailbox has every right/);
    await refused(["get", "alice", "Nope"], /alice has no mailbox named "Nope"/);
    await refused(["set", "alice", "Team", "bob"], /RIGHTS is needed\nusage:/, 2);
    await refused(["get", "alice"], /MAILBOX is needed/, 2);
    await refused(["grant", "alice", "Team"], /unknown subcommand "grant"/, 2);
  });
});
