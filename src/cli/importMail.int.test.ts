import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { captureCli } from "../../test/support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { testDomainContext } from "../commands/testing/context.ts";
import { createUser } from "../commands/user/handlers.ts";
import { runExportCommand } from "./exportMbox.ts";
import { maildirFlags, parseFromLine, runImportCommand } from "./importMail.ts";
import { type AdminCommandDeps, runMailboxCommand } from "./mailbox.ts";
import { type MessageListing, runMessageCommand } from "./message.ts";

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), "mailledger-import-"));
  await createUser(testDomainContext(db.pool), { username: "bob", password: "pw" });
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
  return dumpedOf("bob", mailbox, uid);
}

async function dumpedOf(user: string, mailbox: string, uid: number): Promise<string> {
  return (await run(["dump", user, mailbox, String(uid)], { command: runMessageCommand })).stdout;
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

  it("imports the same message twice in one batch as two messages (one body stored)", async () => {
    const twice = "From x Sat Jan  1 00:00:00 2000\nSubject: Twin\n\nsame\n\n".repeat(2);
    const result = await run(["mbox", "bob", "-", "--mailbox", "Twins"], { stdin: Buffer.from(twice) });
    expect(result.stdout).toBe("created mailbox Twins\nimported 2 messages into Twins, failed 0\n");
    const messages = await listed("Twins");
    expect(messages.map((m) => [m.uid, m.subject])).toEqual([
      [1, "Twin"],
      [2, "Twin"],
    ]);
    expect(await dumped("Twins", 2)).toBe("Subject: Twin\r\n\r\nsame\r\n");
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

describe("a Maildir++ tree, as Dovecot lays it out", () => {
  /** A Dovecot-style tree: INBOX, Work with an inferior, Archive/2020 without its superior. */
  async function writeTree(root: string) {
    const put = async (folder: string, name: string, body: string, time: string) => {
      await mkdir(path.join(root, folder, "cur"), { recursive: true });
      await mkdir(path.join(root, folder, "new"), { recursive: true });
      const file = path.join(root, folder, name);
      await writeFile(file, body);
      await utimes(file, new Date(time), new Date(time));
    };
    await put(
      "",
      "cur/1600000000.M1P1.host,S=40:2,Sa",
      "Subject: Inbox one\n\nfirst\n",
      "2020-09-13T12:26:40Z",
    );
    await put(
      "",
      "cur/1600000100.M2P1.host,S=40:2,FSbc",
      "Subject: Inbox two\n\nsecond\n",
      "2020-09-13T12:28:20Z",
    );
    await put("", "new/1600000200.M3P1.host", "Subject: Inbox new\n\nthird\n", "2020-09-13T12:30:00Z");
    await writeFile(
      path.join(root, "dovecot-uidlist"),
      "3 V1234 N20 G0123456789abcdef\n3 :1600000000.M1P1.host,S=40\n7 W41 :1600000100.M2P1.host,S=40\n",
    );
    await writeFile(path.join(root, "dovecot-keywords"), "0 $Junk\n1 Project\n2 later\n");
    await put(".Work", "cur/1600001000.M4P1.host:2,R", "Subject: Work one\n\nwork\n", "2020-09-13T12:43:20Z");
    await put(
      ".Work",
      "cur/1600001100.M5P1.host:2,a",
      "Subject: Work two\n\nmore work\n",
      "2020-09-13T12:45:00Z",
    );
    await writeFile(
      path.join(root, ".Work", "dovecot-uidlist"),
      "3 V555 N9\n4 :1600001000.M4P1.host\n8 :1600001100.M5P1.host\n",
    );
    await writeFile(path.join(root, ".Work", "dovecot-keywords"), "0 Urgent\n");
    await put(
      ".Work.Reports",
      "cur/1600002000.M6P1.host:2,S",
      "Subject: Report\n\nq3\n",
      "2020-09-13T13:00:00Z",
    );
    await writeFile(path.join(root, ".Work.Reports", "dovecot-uidlist"), "1 556 3\n2 1600002000.M6P1.host\n");
    await put(
      ".Archive.2020",
      "cur/1600003000.M7P1.host:2,",
      "Subject: Old\n\nold\n",
      "2020-09-13T13:16:40Z",
    );
    await mkdir(path.join(root, ".Archive.2020", "tmp"), { recursive: true });
    await writeFile(path.join(root, "subscriptions"), "V\t2\n\nWork\nWork\tReports\n");
  }

  async function account(username: string) {
    await createUser(testDomainContext(db.pool), { username, password: "pw" });
  }

  async function listedOf(user: string, mailbox: string): Promise<MessageListing[]> {
    const result = await run(["list", user, mailbox, "--json"], { command: runMessageCommand });
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as MessageListing[];
  }

  async function mailboxesOf(user: string) {
    const result = await run(["list", user, "--json"], { command: runMailboxCommand });
    expect(result.code).toBe(0);
    return (JSON.parse(result.stdout) as { name: string; uidValidity: number; subscribed: boolean }[]).map(
      (m) => ({ name: m.name, uidValidity: m.uidValidity, subscribed: m.subscribed }),
    );
  }

  /** What a client sees of every message: UID, flags, date and body, per mailbox. */
  async function contentOf(user: string) {
    const content: Record<string, [number, string[], string, string][]> = {};
    for (const { name } of await mailboxesOf(user)) {
      const messages = await listedOf(user, name);
      content[name] = [];
      for (const m of messages) {
        const body = (await run(["dump", user, name, String(m.uid)], { command: runMessageCommand })).stdout;
        content[name]!.push([m.uid, m.flags, m.internalDate, body]);
      }
    }
    return content;
  }

  it("imports the folders with hierarchy, keywords, UIDs and UIDVALIDITY; a second run adds nothing", async () => {
    await account("dana");
    const root = path.join(dir, "tree");
    await writeTree(root);
    const result = await run(["maildir", "dana", root]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        "imported 3 messages into INBOX, failed 0",
        "created mailbox Archive",
        "created mailbox Archive/2020",
        "imported 1 message into Archive/2020, failed 0",
        "created mailbox Work",
        "imported 2 messages into Work, failed 0",
        "created mailbox Work/Reports",
        "imported 1 message into Work/Reports, failed 0",
        "",
      ].join("\n"),
    );
    const boxes = await mailboxesOf("dana");
    expect(boxes.find((m) => m.name === "Work")).toEqual({
      name: "Work",
      uidValidity: 555,
      subscribed: true,
    });
    expect(boxes.find((m) => m.name === "Work/Reports")).toEqual({
      name: "Work/Reports",
      uidValidity: 556,
      subscribed: true,
    });
    expect(boxes.find((m) => m.name === "Archive/2020")?.subscribed).toBe(false);
    // INBOX came with the account (its UIDVALIDITY stays), empty: the UIDs are kept.
    const inbox = await listedOf("dana", "INBOX");
    expect(inbox.map((m) => [m.uid, m.flags, m.subject])).toEqual([
      [3, ["$Junk", "\\Seen"], "Inbox one"],
      [7, ["Project", "\\Flagged", "\\Seen", "later"], "Inbox two"],
      [8, [], "Inbox new"],
    ]);
    expect((await listedOf("dana", "Work")).map((m) => [m.uid, m.flags])).toEqual([
      [4, ["\\Answered"]],
      [8, ["Urgent"]],
    ]);
    expect((await listedOf("dana", "Work/Reports")).map((m) => [m.uid, m.flags])).toEqual([[2, ["\\Seen"]]]);
    expect(await dumpedOf("dana", "Work", 8)).toBe("Subject: Work two\r\n\r\nmore work\r\n");

    const before = await contentOf("dana");
    const again = await run(["maildir", "dana", root]);
    expect(again.stdout).toBe(
      [
        "imported 0 messages into INBOX, 3 already there, failed 0",
        "imported 0 messages into Archive/2020, 1 already there, failed 0",
        "imported 0 messages into Work, 2 already there, failed 0",
        "imported 0 messages into Work/Reports, 1 already there, failed 0",
        "",
      ].join("\n"),
    );
    expect(await contentOf("dana")).toEqual(before);
  });

  it("keeps the listed UIDs when an interrupted import of a folder is run again", async () => {
    await account("gale");
    const root = path.join(dir, "tree-gale");
    await mkdir(path.join(root, ".Lists", "cur"), { recursive: true });
    await writeFile(
      path.join(root, ".Lists", "dovecot-uidlist"),
      "3 V777 N40\n10 :1600000000.M1P1.host\n30 :1600000100.M2P1.host\n",
    );
    // The first run saw only the first file (the second came, or was read, after the crash).
    await writeFile(path.join(root, ".Lists", "cur", "1600000000.M1P1.host:2,S"), "Subject: A\n\na\n");
    expect((await run(["maildir", "gale", root])).code).toBe(0);
    await writeFile(path.join(root, ".Lists", "cur", "1600000100.M2P1.host:2,"), "Subject: B\n\nb\n");
    const again = await run(["maildir", "gale", root]);
    expect(again.stdout).toBe("imported 1 message into Lists, 1 already there, failed 0\n");
    expect((await listedOf("gale", "Lists")).map((m) => [m.uid, m.subject])).toEqual([
      [10, "A"],
      [30, "B"],
    ]);
    expect((await mailboxesOf("gale")).find((m) => m.name === "Lists")?.uidValidity).toBe(777);
  });

  it("exports the same layout, which imports back to the same mailboxes, UIDs, flags and bodies", async () => {
    await account("erin");
    await account("finn");
    const root = path.join(dir, "tree-erin");
    await writeTree(root);
    expect((await run(["maildir", "erin", root])).code).toBe(0);
    const out = path.join(dir, "exported");
    const exported = await run(["maildir", "erin", out], { command: runExportCommand });
    expect(exported.stderr).toBe("");
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain("exported 2 messages from Work to");

    // Dovecot's files: folders, uidlist with the mailbox's UIDVALIDITY and UIDs, keywords by letter.
    expect((await readdir(out)).sort()).toEqual([
      ".Archive",
      ".Archive.2020",
      ".Work",
      ".Work.Reports",
      "cur",
      "dovecot-keywords",
      "dovecot-uidlist",
      "new",
      "subscriptions",
      "tmp",
    ]);
    const workList = await readFile(path.join(out, ".Work", "dovecot-uidlist"), "utf8");
    expect(workList.split("\n")[0]).toBe("3 V555 N9");
    expect(workList).toMatch(/^8 :\d+\.M8P\d+\.mailledger,S=29,W=32$/m);
    expect(await readFile(path.join(out, ".Work", "dovecot-keywords"), "utf8")).toBe("0 Urgent\n");
    const workFiles = (await readdir(path.join(out, ".Work", "cur"))).sort();
    expect(workFiles.map((name) => name.replace(/^.*:2,/, ""))).toEqual(["R", "a"]);
    expect(await readFile(path.join(out, ".Work", "cur", workFiles[1]!), "utf8")).toBe(
      "Subject: Work two\n\nmore work\n",
    );
    expect(await readFile(path.join(out, "subscriptions"), "utf8")).toBe("V\t2\n\nWork\nWork\tReports\n");

    // Back in through import (a new account): everything a client sees is the same.
    expect((await run(["maildir", "finn", out])).code).toBe(0);
    const erin = await contentOf("erin");
    const finn = await contentOf("finn");
    expect(finn).toEqual(erin);
    const uidValidities = (boxes: Awaited<ReturnType<typeof mailboxesOf>>) =>
      boxes
        .filter((m) => m.name !== "INBOX" && m.name !== "Archive")
        .map((m) => [m.name, m.uidValidity, m.subscribed]);
    expect(uidValidities(await mailboxesOf("finn"))).toEqual(uidValidities(await mailboxesOf("erin")));
    // An export never writes over what is there.
    const refused = await run(["maildir", "erin", out], { command: runExportCommand });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("is not empty");
  });
});

describe("an import killed with kill -9", () => {
  it("runs again and ends with every message exactly once", async () => {
    const count = 4000;
    const file = path.join(dir, "killed.mbox");
    const filler = "x".repeat(2000);
    await writeFile(
      file,
      Array.from({ length: count }, (_, i) =>
        [
          `From list@example.org Mon Jan  1 10:00:00 2024`,
          `Subject: Killed ${i}`,
          "",
          `item ${i}`,
          filler,
          "",
        ].join("\n"),
      ).join("\n"),
    );
    const bin = path.join(import.meta.dirname, "../../bin/mailledger.js");
    const env = { ...process.env, DATABASE_URL: db.url, KAFKA_BROKERS: "", REDIS_URL: "" };
    const argv = [bin, "import", "mbox", "bob", file, "--mailbox", "Killed"];
    const child = spawn(process.execPath, argv, { env, stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_, signal) => resolve(signal)),
    );
    const inMailbox = async () =>
      db.pool.oneFirst(sql.type(z.object({ n: z.number() }))`
        SELECT count(*)::int AS n FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
        WHERE b.name = 'Killed' AND b.status = 'selectable'`);
    // Killed once a few batches are in, in the middle of the file.
    let atKill = 0;
    for (let waited = 0; atKill < 600 && waited < 60_000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      atKill = await inMailbox();
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    atKill = await inMailbox();
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(count);

    const rerun = spawnSync(process.execPath, argv, { env, encoding: "utf8" });
    expect(rerun.stderr).toBe("");
    expect(rerun.stdout).toBe(
      `imported ${count - atKill} messages into Killed, ${atKill} already there, failed 0\n`,
    );
    const messages = await listed("Killed");
    expect(messages).toHaveLength(count);
    expect(new Set(messages.map((m) => m.subject)).size).toBe(count);
    expect(messages.map((m) => m.uid)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  }, 120_000);
});
