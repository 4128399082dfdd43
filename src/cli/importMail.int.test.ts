import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureCli } from "../../test/support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { testCommandContext } from "../commands/testing/context.ts";
import { createUser } from "../commands/user/handlers.ts";
import { maildirFlags, parseFromLine, runImportCommand } from "./importMail.ts";
import { type AdminCommandDeps, runMailboxCommand } from "./mailbox.ts";
import { type MessageListing, runMessageCommand } from "./message.ts";

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), "mailledger-import-"));
  await createUser(testCommandContext(db.pool), { username: "bob", password: "pw" });
});
afterAll(async () => {
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

type Command = (argv: string[], deps: AdminCommandDeps) => Promise<number>;
async function run(
  argv: string[],
  options: { stdin?: Buffer; appendLimit?: number; command?: Command } = {},
) {
  return captureCli(
    (io) =>
      (options.command ?? runImportCommand)(argv, {
        pool: db.pool,
        ...io,
        ...(options.appendLimit === undefined ? {} : { appendLimit: options.appendLimit }),
      }),
    options.stdin,
  );
}

async function listed(mailbox: string): Promise<MessageListing[]> {
  const result = await run(["list", "bob", mailbox, "--json"], { command: runMessageCommand });
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as MessageListing[];
}

async function dumped(mailbox: string, uid: number): Promise<string> {
  return (await run(["dump", "bob", mailbox, String(uid)], { command: runMessageCommand })).stdout;
}

describe("import helpers", () => {
  it("reads Maildir flags and mbox From lines", () => {
    expect(maildirFlags("1700000000.M1P2.host:2,FRS")).toEqual(["\\Answered", "\\Flagged", "\\Seen"]);
    expect(maildirFlags("1700000000.M1P2.host:2,DTa")).toEqual(["\\Deleted", "\\Draft"]);
    expect(maildirFlags("1700000000.M1P2.host")).toEqual([]);
    expect(parseFromLine("From ann@example.org Wed Jan  3 01:05:34 1996")).toEqual({
      sender: "ann@example.org",
      date: new Date("1996-01-03T01:05:34Z"),
    });
    expect(parseFromLine("From MAILER-DAEMON Fri Jul  8 12:08:34 2011 +0200")?.date).toEqual(
      new Date("2011-07-08T10:08:34Z"),
    );
    expect(parseFromLine("From someone who wrote this")?.date).toBeNull();
    // RFC 2822 dates, as some tools write them on the From line.
    expect(parseFromLine("From ann@example.org Mon, 02 Jan 2006 15:04:05 -0700")?.date).toEqual(
      new Date("2006-01-02T22:04:05Z"),
    );
    expect(parseFromLine("From ann@example.org 2 Jan 2006 15:04 +0000")?.date).toEqual(
      new Date("2006-01-02T15:04:00Z"),
    );
  });
});

describe("mailledger import maildir", () => {
  it("imports cur/ and new/ with flags and mtimes, creating the mailbox; reports refusals and goes on", async () => {
    const maildir = path.join(dir, "Maildir");
    await mkdir(path.join(maildir, "cur"), { recursive: true });
    await mkdir(path.join(maildir, "new"), { recursive: true });
    await mkdir(path.join(maildir, "tmp"), { recursive: true });
    const files = [
      [
        "cur/1600000000.a.host:2,FS",
        "From: a@example.org\nSubject: One\n\nbody one\n",
        "2020-09-13T12:26:40Z",
      ],
      ["cur/1600000100.b.host:2,", "Subject: Big\r\n\r\n" + "y".repeat(500), "2020-09-13T12:28:20Z"],
      ["new/1600000200.c.host", "not really a message at all", "2020-09-13T12:30:00Z"],
      ["cur/1600000300.d.host:2,RT", "Subject: Four\r\n\r\nfour\r\n", "2020-09-13T12:31:40Z"],
    ] as const;
    for (const [name, body, time] of files) {
      await writeFile(path.join(maildir, name), body);
      await utimes(path.join(maildir, name), new Date(time), new Date(time));
    }
    await writeFile(path.join(maildir, "tmp", "ignored"), "Subject: tmp\r\n\r\n");

    const result = await run(["maildir", "bob", maildir, "--mailbox", "Archive/2020"], { appendLimit: 300 });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("created mailbox Archive/2020");
    expect(result.stdout).toContain("imported 3 messages into Archive/2020, failed 1");
    expect(result.stdout).toMatch(/cur\/1600000100\.b\.host:2,: TOOBIG/);
    expect(result.stderr).toBe("");

    const messages = await listed("Archive/2020");
    expect(messages.map((m) => [m.uid, m.flags, m.internalDate, m.subject])).toEqual([
      [1, ["\\Flagged", "\\Seen"], "2020-09-13T12:26:40.000Z", "One"],
      [2, [], "2020-09-13T12:30:00.000Z", null],
      [3, ["\\Answered", "\\Deleted"], "2020-09-13T12:31:40.000Z", "Four"],
    ]);
    expect(await dumped("Archive/2020", 1)).toBe("From: a@example.org\r\nSubject: One\r\n\r\nbody one\r\n");
    expect(await dumped("Archive/2020", 2)).toBe("not really a message at all");
    expect(await dumped("Archive/2020", 3)).toBe("Subject: Four\r\n\r\nfour\r\n");
  });

  it("refuses a directory that is not a Maildir, and a missing user", async () => {
    expect((await run(["maildir", "bob", path.join(dir, "nowhere")])).code).toBe(2);
    expect((await run(["maildir", "nobody", dir])).code).toBe(1);
    expect((await run(["tar", "bob", dir])).code).toBe(2);
    expect((await run(["maildir", "bob"])).code).toBe(2);
  });
});

describe("mailledger import mbox", () => {
  const mbox = [
    "From ann@example.org Wed Jan  3 01:05:34 1996",
    "From: ann@example.org",
    "Subject: First",
    "",
    "Hello",
    ">From the quoted line",
    ">>From twice quoted",
    "From here on, an unquoted line after text",
    "",
    "From bob@example.org Thu Feb  1 10:00:00 2024",
    "Subject: Second",
    "",
    "second body",
    "",
    "From someone who left no date",
    "",
    "From carol@example.org Fri Mar  1 00:00:00 2024",
    "Subject: Third",
    "",
    "third",
    "",
  ].join("\n");

  it("splits on From lines, un-quotes >From, dates from the From line, into INBOX by default", async () => {
    const file = path.join(dir, "mail.mbox");
    await writeFile(file, mbox);
    const result = await run(["mbox", "bob", file]);
    expect(result).toMatchObject({
      code: 0,
      stdout: "imported 3 messages into INBOX, failed 0\n",
      stderr: "",
    });
    const messages = await listed("INBOX");
    expect(messages.map((m) => [m.subject, m.internalDate])).toEqual([
      ["First", "1996-01-03T01:05:34.000Z"],
      ["Second", "2024-02-01T10:00:00.000Z"],
      ["Third", "2024-03-01T00:00:00.000Z"],
    ]);
    expect(await dumped("INBOX", 1)).toBe(
      "From: ann@example.org\r\nSubject: First\r\n\r\nHello\r\nFrom the quoted line\r\n>From twice quoted\r\nFrom here on, an unquoted line after text\r\n",
    );
    expect(await dumped("INBOX", 2)).toBe(
      "Subject: Second\r\n\r\nsecond body\r\n\r\nFrom someone who left no date\r\n",
    );
  });

  it("splits on From lines dated as RFC 2822, and refuses a file whose separators it cannot date", async () => {
    const dated = Array.from({ length: 40 }, (_, i) =>
      [
        `From list@example.org Mon, ${String(1 + (i % 28)).padStart(2, "0")} Jan 2024 10:00:00 +0000`,
        `Subject: Post ${i}`,
        "",
        `post ${i}`,
        "",
      ].join("\n"),
    ).join("\n");
    const file = path.join(dir, "rfc2822.mbox");
    await writeFile(file, dated);
    const result = await run(["mbox", "bob", file, "--mailbox", "List"]);
    expect(result).toMatchObject({
      code: 0,
      stdout: "created mailbox List\nimported 40 messages into List, failed 0\n",
    });
    expect((await listed("List")).map((m) => m.subject).slice(0, 2)).toEqual(["Post 0", "Post 1"]);

    // Separators in a form the reader cannot date: refused, rather than 30 messages run into one.
    const undatable = Array.from({ length: 30 }, (_, i) =>
      [`From list@example.org at some point in 2024 (${i})`, `Subject: Lost ${i}`, "", "text", ""].join("\n"),
    ).join("\n");
    const bad = path.join(dir, "undatable.mbox");
    await writeFile(bad, undatable);
    const refused = await run(["mbox", "bob", bad, "--mailbox", "Undatable"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/goes on past 3 "From " lines that follow a blank line but carry no date/);
    // The target was made before the file was read; nothing went into it.
    expect(refused.stdout).toBe("created mailbox Undatable\n");
    expect(await listed("Undatable")).toEqual([]);
  });

  it("runs again after an interruption and appends only what is missing, duplicates counted", async () => {
    // 250 messages cross a batch (IMPORT_BATCH_MESSAGES); two of them are the same message twice.
    const message = (i: number) =>
      [
        `From list@example.org Mon Jan  1 10:00:00 2024`,
        `Subject: Item ${i % 249}`,
        "",
        `item ${i % 249}`,
        "",
      ].join("\n");
    const all = Array.from({ length: 250 }, (_, i) => message(i));
    const part = path.join(dir, "part.mbox");
    const whole = path.join(dir, "whole.mbox");
    // An import that stopped after 120 messages left them in the mailbox.
    await writeFile(part, all.slice(0, 120).join("\n"));
    await writeFile(whole, all.join("\n"));
    expect((await run(["mbox", "bob", part, "--mailbox", "Restart"])).stdout).toBe(
      "created mailbox Restart\nimported 120 messages into Restart, failed 0\n",
    );
    const rerun = await run(["mbox", "bob", whole, "--mailbox", "Restart"]);
    expect(rerun).toMatchObject({
      code: 0,
      stdout: "imported 130 messages into Restart, 120 already there, failed 0\n",
    });
    const messages = await listed("Restart");
    expect(messages).toHaveLength(250);
    expect(messages.filter((m) => m.subject === "Item 0")).toHaveLength(2);
    expect(messages.map((m) => m.uid)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    // A third run finds everything there, the twin included.
    expect((await run(["mbox", "bob", whole, "--mailbox", "Restart"])).stdout).toBe(
      "imported 0 messages into Restart, 250 already there, failed 0\n",
    );
    expect(await listed("Restart")).toHaveLength(250);
  });

  it("reads standard input, and refuses a file that is not an mbox", async () => {
    const result = await run(["mbox", "bob", "-", "--mailbox", "FromStdin"], {
      stdin: Buffer.from("From x Sat Jan  1 00:00:00 2000\nSubject: S\n\nx\n"),
    });
    expect(result.code).toBe(0);
    expect((await listed("FromStdin")).map((m) => m.subject)).toEqual(["S"]);
    const notMbox = path.join(dir, "not.mbox");
    await writeFile(notMbox, "Subject: nope\n");
    const refused = await run(["mbox", "bob", notMbox, "--mailbox", "Never"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("not an mbox file");
    const boxes = await run(["list", "bob"], { command: runMailboxCommand });
    expect(boxes.stdout).not.toContain("Never");
  });
});
