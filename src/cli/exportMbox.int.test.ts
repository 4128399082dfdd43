import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureCli } from "../../test/support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { appendMessage } from "../commands/messages/append.ts";
import { testDomainContext } from "../commands/testing/context.ts";
import { createUser } from "../commands/user/handlers.ts";
import { asctime, mboxSender, runExportCommand } from "./exportMbox.ts";
import { runImportCommand } from "./importMail.ts";
import type { AdminCommandDeps } from "./mailbox.ts";
import { takeMboxFlags, withMboxFlags } from "./mboxStatus.ts";
import { type MessageListing, runMessageCommand } from "./message.ts";

let db: TestDatabase;
let dir: string;

const first =
  "From: Ann Example <ann@example.org>\r\nSubject: First\r\n\r\nHello\r\nFrom the start of a line\r\n>From quoted once\r\n";
const second = "Subject: No sender\r\n\r\nbody\r\n";

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), "mailledger-export-"));
  const ctx = testDomainContext(db.pool);
  const { userId } = await createUser(ctx, { username: "bob", password: "pw" });
  await appendMessage(ctx, {
    userId,
    mailboxName: "INBOX",
    body: Buffer.from(first),
    flags: ["\\Seen"],
    internalDate: new Date("1996-01-03T01:05:34Z"),
  });
  await appendMessage(ctx, {
    userId,
    mailboxName: "INBOX",
    body: Buffer.from(second),
    internalDate: new Date("2024-12-25T18:30:00Z"),
  });
});
afterAll(async () => {
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

type Command = (argv: string[], deps: AdminCommandDeps) => Promise<number>;
async function run(argv: string[], command: Command = runExportCommand) {
  return captureCli((io) => command(argv, { pool: db.pool, ...io }));
}

const expected = [
  "From ann@example.org Wed Jan  3 01:05:34 1996",
  "From: Ann Example <ann@example.org>",
  "Subject: First",
  "Status: RO",
  "",
  "Hello",
  ">From the start of a line",
  ">>From quoted once",
  "",
  "From MAILER-DAEMON Wed Dec 25 18:30:00 2024",
  "Subject: No sender",
  "Status: O",
  "",
  "body",
  "",
  "",
].join("\n");

describe("mailledger export mbox", () => {
  it("formats asctime and the envelope sender", () => {
    expect(asctime(new Date("1996-01-03T01:05:34Z"))).toBe("Wed Jan  3 01:05:34 1996");
    expect(asctime(new Date("2024-12-25T18:30:00Z"))).toBe("Wed Dec 25 18:30:00 2024");
    expect(mboxSender(["Ann <ann@example.org>"])).toBe("ann@example.org");
    expect(mboxSender(["ann@example.org"])).toBe("ann@example.org");
    expect(mboxSender(["undisclosed recipients"])).toBe("MAILER-DAEMON");
    expect(mboxSender([])).toBe("MAILER-DAEMON");
  });

  it("writes the messages in UID order as mboxrd, to standard output and to a file", async () => {
    expect(await run(["mbox", "bob", "INBOX", "-"])).toMatchObject({ code: 0, stdout: expected, stderr: "" });
    const file = path.join(dir, "inbox.mbox");
    expect(await run(["mbox", "bob", "inbox", file])).toMatchObject({
      code: 0,
      stdout: `exported 2 messages from INBOX to ${file}\n`,
    });
    expect(await readFile(file, "utf8")).toBe(expected);
  });

  it("round-trips through import mbox: the same bytes and INTERNALDATEs", async () => {
    const file = path.join(dir, "roundtrip.mbox");
    expect((await run(["mbox", "bob", "INBOX", file])).code).toBe(0);
    expect((await run(["mbox", "bob", file, "--mailbox", "Restored"], runImportCommand)).code).toBe(0);
    const list = async (mailbox: string) =>
      JSON.parse(
        (await run(["list", "bob", mailbox, "--json"], runMessageCommand)).stdout,
      ) as MessageListing[];
    const original = await list("INBOX");
    const restored = await list("Restored");
    expect(restored.map((m) => [m.blobDigest, m.internalDate, m.size, m.flags])).toEqual(
      original.map((m) => [m.blobDigest, m.internalDate, m.size, m.flags]),
    );
  });

  it("keeps every flag and keyword through an mboxrd round trip (Status, X-Status, X-Keywords)", async () => {
    const flags = ["$Forwarded", "Work", "\\Answered", "\\Deleted", "\\Draft", "\\Flagged", "\\Seen"];
    const ctx = testDomainContext(db.pool);
    const { userId } = await createUser(ctx, { username: "flagged", password: "pw" });
    for (const set of [flags, ["\\Flagged", "Later"], []]) {
      await appendMessage(ctx, {
        userId,
        mailboxName: "INBOX",
        body: Buffer.from(`Subject: ${set.join(" ") || "none"}\r\n\r\nbody\r\n`),
        flags: set,
        internalDate: new Date("2025-05-05T05:05:05Z"),
      });
    }
    const file = path.join(dir, "flags.mbox");
    expect((await run(["mbox", "flagged", "INBOX", file])).code).toBe(0);
    const text = await readFile(file, "latin1");
    expect(text).toContain("Status: RO\nX-Status: ADFT\nX-Keywords: $Forwarded Work\n");
    expect((await run(["mbox", "flagged", file, "--mailbox", "Back"], runImportCommand)).code).toBe(0);
    const list = async (mailbox: string) =>
      JSON.parse(
        (await run(["list", "flagged", mailbox, "--json"], runMessageCommand)).stdout,
      ) as MessageListing[];
    const original = await list("INBOX");
    const back = await list("Back");
    expect(back.map((m) => [m.blobDigest, [...m.flags].sort()])).toEqual(
      original.map((m) => [m.blobDigest, [...m.flags].sort()]),
    );
    expect(back[0]!.flags).toEqual(expect.arrayContaining(flags));
  });

  it("reads flags that mutt or Dovecot wrote, folded or comma-separated, and stores the message without them", () => {
    const read = takeMboxFlags(
      Buffer.from(
        "Subject: x\r\nstatus: RO\r\nX-Keywords: one,\r\n two\r\nX-Status: AF\r\n\r\nStatus: R in the body\r\n",
      ),
    );
    expect(read.flags).toEqual(["\\Answered", "\\Flagged", "\\Seen", "one", "two"]);
    expect(read.body.toString()).toBe("Subject: x\r\n\r\nStatus: R in the body\r\n");
    const plain = Buffer.from("Subject: y\r\n\r\nbody\r\n");
    expect(takeMboxFlags(plain)).toEqual({ body: plain, flags: [] });
    // A message that is only a header, or only a body, keeps its bytes through the pair.
    for (const body of ["Subject: z\r\n", "\r\nonly a body\r\n"]) {
      const written = withMboxFlags(Buffer.from(body), ["\\Seen", "kw"]);
      expect(takeMboxFlags(written)).toEqual({ body: Buffer.from(body), flags: ["\\Seen", "kw"] });
    }
  });

  it("refuses a missing mailbox (1), an unknown format or missing arguments (2), an unwritable file (2)", async () => {
    expect((await run(["mbox", "bob", "Nope", "-"])).code).toBe(1);
    expect((await run(["maildir", "bob", "INBOX", "-"])).code).toBe(2);
    expect((await run(["mbox", "bob", "INBOX"])).code).toBe(2);
    expect((await run(["mbox", "bob", "INBOX", path.join(dir, "no", "such", "dir.mbox")])).code).toBe(2);
  });
});
