// Mail delivery over LMTP (RFC 2033) with a real client, Python's smtplib.LMTP: per-recipient
// replies, the delivered bytes under IMAP, +detail, a 20 MiB message, retried deliveries, and
// malformed sessions that get clear errors while the listener serves others.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { history } from "../../src/cli/history.ts";
import { createMailbox } from "../../src/commands/mailbox/handlers.ts";
import { setUserAppendLimit, setUserQuota } from "../../src/commands/user/handlers.ts";
import { loadConfig } from "../../src/config.ts";
import { createDatabasePool } from "../../src/events/db.ts";
import { silentLogger } from "../../src/imap-gateway/logger.ts";
import { lmtpDeliveries } from "../../src/lmtp/metrics.ts";
import { startLmtpServer } from "../../src/lmtp/server.ts";
import type { RunningNode } from "../../src/serve/serve.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { startTcpProxy } from "../support/tcpProxy.ts";
import { asOperator, imapflowConnected } from "./helpers/clients.ts";

const DRIVER = fileURLToPath(new URL("./py/lmtp_deliver.py", import.meta.url));

let server: TestMailServer;
let lmtpNode: RunningNode;
let lmtpPort: number;
let scratch: string;
const userIds = new Map<string, string>();

beforeAll(async () => {
  server = await startTestMailServer({ env: { LMTP_PORT: "0", LMTP_DOMAINS: "example.org" } });
  lmtpNode = await server.startNode(["lmtp"]);
  lmtpPort = lmtpNode.lmtp!.port!;
  scratch = await mkdtemp(path.join(os.tmpdir(), "ml-lmtp-"));
  for (const user of ["alice", "bob", "olga", "tim"])
    userIds.set(user, await server.createUser(user, `${user}-pw`));
  await asOperator(server, (ctx) => setUserQuota(ctx, { username: "olga", storageLimit: 1000 }));
  await asOperator(server, (ctx) => setUserAppendLimit(ctx, { username: "tim", appendLimit: 4096 }));
  await asOperator(server, (ctx) => createMailbox(ctx, { userId: userIds.get("alice")!, name: "Lists" }));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
  await server?.close();
});

interface Replies {
  lhlo: [number, string];
  mail: [number, string];
  rcpt: [number, string][];
  data: [number, string][];
  quit: [number, string];
}

let files = 0;
async function lmtp(
  mailFrom: string,
  rcpts: string[],
  message: Buffer,
  extra: { mail_options?: string[]; socket?: string; port?: number } = {},
): Promise<Replies> {
  const file = path.join(scratch, `message-${files++}.eml`);
  await writeFile(file, message);
  const child = execFile("python3", [DRIVER], { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
  const output = new Promise<string>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    child.once("exit", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`driver failed: ${stderr}`)),
    );
  });
  child.stdin!.end(
    JSON.stringify({
      host: "127.0.0.1",
      port: lmtpPort,
      mail_from: mailFrom,
      rcpts,
      message_file: file,
      ...extra,
    }),
  );
  return JSON.parse(await output) as Replies;
}

function message(subject: string, body = "Hello.\r\n"): Buffer {
  return Buffer.from(
    `From: Sender <sender@example.net>\r\nTo: alice@example.org\r\nSubject: ${subject}\r\n` +
      `Message-ID: <${subject.replace(/\W/g, "")}.${Date.now()}@example.net>\r\n\r\n${body}`,
  );
}

/** The messages of a mailbox as an IMAP client reads them: UID and BODY[]. */
async function mailbox(user: string, name = "INBOX"): Promise<{ uid: number; source: Buffer }[]> {
  const client = await imapflowConnected(
    { host: server.host, port: server.port },
    { user, pass: `${user}-pw` },
  );
  try {
    await client.mailboxOpen(name, { readOnly: true });
    const messages: { uid: number; source: Buffer }[] = [];
    if ((client.mailbox as { exists: number }).exists === 0) return messages;
    for await (const fetched of client.fetch("1:*", { uid: true, source: true })) {
      messages.push({ uid: fetched.uid, source: fetched.source! });
    }
    return messages;
  } finally {
    await client.logout();
  }
}

describe("LMTP delivery", () => {
  it("answers each recipient of one transaction for itself: unknown, over quota, delivered", async () => {
    const counted = async (result: string) =>
      (await lmtpDeliveries.get()).values.find((value) => value.labels.result === result)?.value ?? 0;
    const before = { delivered: await counted("delivered"), overQuota: await counted("over_quota") };
    const sent = message("Mixed results");
    const replies = await lmtp(
      "sender@example.net",
      ["nobody@example.org", "alice@example.org", "olga@example.org", "alice@elsewhere.net"],
      Buffer.concat([sent, Buffer.alloc(2000, "x"), Buffer.from("\r\n")]),
    );
    expect(replies.lhlo[0]).toBe(250);
    expect(replies.lhlo[1]).toMatch(/PIPELINING/);
    expect(replies.lhlo[1]).toMatch(/ENHANCEDSTATUSCODES/);
    expect(replies.rcpt[0]).toEqual([550, "5.1.1 <nobody@example.org>: no such user here"]);
    expect(replies.rcpt[1]![0]).toBe(250);
    expect(replies.rcpt[2]![0]).toBe(250);
    expect(replies.rcpt[3]).toEqual([
      550,
      "5.1.2 <alice@elsewhere.net>: this server does not deliver mail for that domain",
    ]);
    expect(replies.data).toHaveLength(2);
    expect(replies.data[0]![0]).toBe(250);
    expect(replies.data[0]![1]).toMatch(/^2\.0\.0 <alice@example\.org> delivered to INBOX, UID \d+$/);
    expect(replies.data[1]).toEqual([552, "5.2.2 <olga@example.org>: mailbox is over quota"]);
    expect(await mailbox("olga")).toEqual([]);
    // The metrics count each recipient's outcome.
    expect(await counted("delivered")).toBe(before.delivered + 1);
    expect(await counted("over_quota")).toBe(before.overQuota + 1);
  });

  it("stores the message byte for byte, after the Return-Path and Delivered-To it adds", async () => {
    const sent = message("Byte for byte", "Line one.\r\n..leading dot line\r\n\r\n\tindented\r\n");
    const replies = await lmtp("sender@example.net", ["Bob@Example.org"], sent);
    expect(replies.data).toEqual([
      [250, expect.stringMatching(/^2\.0\.0 <Bob@Example\.org> delivered to INBOX, UID 1$/)],
    ]);
    const [stored] = await mailbox("bob");
    const added = "Return-Path: <sender@example.net>\r\nDelivered-To: Bob@Example.org\r\n";
    expect(stored!.source.toString("latin1")).toBe(added + sent.toString("latin1"));

    // The log says who delivered it, from where, for which envelope.
    const entries = [];
    for await (const entry of history(server.db.pool, "bob", { mailbox: "INBOX" })) entries.push(entry);
    const appended = entries.find((entry) => entry.type === "MessageAppended")!;
    expect(appended.actor).toBe("lmtp");
    expect(appended.description).toMatch(/, delivered from <sender@example\.net> to <Bob@Example\.org>$/);
    expect(appended.remoteAddress).toBe("127.0.0.1");
    expect(appended.metadata.delivery).toMatchObject({
      mailFrom: "sender@example.net",
      rcptTo: "Bob@Example.org",
      contentDigest: createHash("sha256").update(sent).digest("hex"),
    });
  });

  it("stores one body for all recipients of a transaction, with Return-Path only", async () => {
    const sent = message("Two recipients");
    const replies = await lmtp("", ["alice@example.org", "bob@example.org"], sent);
    expect(replies.data.map(([code]) => code)).toEqual([250, 250]);
    const alice = (await mailbox("alice")).find((m) => m.source.includes("Two recipients"))!;
    const bob = (await mailbox("bob")).find((m) => m.source.includes("Two recipients"))!;
    expect(alice.source.toString("latin1")).toBe(`Return-Path: <>\r\n${sent.toString("latin1")}`);
    expect(bob.source.equals(alice.source)).toBe(true);
  });

  it("delivers user+detail to the mailbox the detail names, else to INBOX", async () => {
    const toLists = message("For the list folder");
    const toInbox = message("No such folder");
    expect((await lmtp("s@example.net", ["ALICE+lists@example.org"], toLists)).data[0]![1]).toMatch(
      /delivered to Lists/,
    );
    expect((await lmtp("s@example.net", ["alice+nosuch@example.org"], toInbox)).data[0]![1]).toMatch(
      /delivered to INBOX/,
    );
    const lists = await mailbox("alice", "Lists");
    expect(lists).toHaveLength(1);
    expect(lists[0]!.source.toString("latin1")).toBe(
      `Return-Path: <s@example.net>\r\nDelivered-To: ALICE+lists@example.org\r\n${toLists.toString("latin1")}`,
    );
    expect((await mailbox("alice")).some((m) => m.source.includes("No such folder"))).toBe(true);
  });

  it("delivers a 20 MiB message intact", async () => {
    const line = `${"0123456789abcdef".repeat(4)}\r\n`;
    const body = line.repeat(Math.ceil((20 * 1024 * 1024) / line.length));
    const sent = message("Twenty mebibytes", body);
    const replies = await lmtp("big@example.net", ["bob@example.org"], sent);
    expect(replies.data[0]![0]).toBe(250);
    const stored = (await mailbox("bob")).find((m) =>
      m.source.subarray(0, 400).includes("Twenty mebibytes"),
    )!;
    const added = Buffer.from("Return-Path: <big@example.net>\r\nDelivered-To: bob@example.org\r\n");
    expect(stored.source.length).toBe(added.length + sent.length);
    expect(createHash("sha256").update(stored.source.subarray(added.length)).digest("hex")).toBe(
      createHash("sha256").update(sent).digest("hex"),
    );
  }, 120_000);

  it("refuses at RCPT a message whose declared SIZE is above the recipient's limit or quota", async () => {
    const replies = await lmtp(
      "s@example.net",
      ["tim@example.org", "olga@example.org", "bob@example.org"],
      message("Sized"),
      { mail_options: ["SIZE=10000"] },
    );
    expect(replies.rcpt[0]).toEqual([
      552,
      "5.3.4 <tim@example.org>: the message is 10000 octets, above this mailbox's limit of 4096",
    ]);
    expect(replies.rcpt[1]).toEqual([552, "5.2.2 <olga@example.org>: mailbox is over quota"]);
    expect(replies.rcpt[2]![0]).toBe(250);
    expect(replies.data.map(([code]) => code)).toEqual([250]);
  });

  it("recognises a delivery retried after a lost reply and stores it once", async () => {
    const sent = message("Retried");
    const first = await lmtp("retry@example.net", ["alice@example.org"], sent);
    const again = await lmtp("retry@example.net", ["alice@example.org"], sent);
    expect(first.data[0]![1]).toMatch(/delivered to INBOX, UID (\d+)$/);
    const uid = /UID (\d+)$/.exec(first.data[0]![1])![1];
    expect(again.data[0]).toEqual([
      250,
      `2.0.0 <alice@example.org> already delivered to INBOX (UID ${uid}); not stored again`,
    ]);
    expect((await mailbox("alice")).filter((m) => m.source.includes("Retried"))).toHaveLength(1);
    // Retried for one of its recipients only (the MTA had the other's 250): still recognised.
    const pair = message("Retried for one");
    expect(
      (await lmtp("retry@example.net", ["alice@example.org", "bob@example.org"], pair)).data.map(
        ([code]) => code,
      ),
    ).toEqual([250, 250]);
    expect((await lmtp("retry@example.net", ["bob@example.org"], pair)).data[0]![1]).toMatch(
      /already delivered to INBOX/,
    );
    expect((await mailbox("bob")).filter((m) => m.source.includes("Retried for one"))).toHaveLength(1);
    // Another envelope sender is another delivery.
    expect((await lmtp("other@example.net", ["alice@example.org"], sent)).data[0]![1]).toMatch(
      /delivered to INBOX/,
    );
  });
});

/**
 * A raw LMTP session: writes `input` in one go after the greeting (or before it, `early`), returns
 * every reply line until the server closes or `until` is seen.
 */
function rawSession(input: string, until = /^221 /m, early = false): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(lmtpPort, "127.0.0.1");
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of session in: ${received}`));
    }, 20_000);
    let written = false;
    const send = () => {
      if (!written) socket.write(input);
      written = true;
    };
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (received.startsWith("220 ")) send();
      if (until.test(received)) socket.end();
    });
    socket.once("connect", () => early && send());
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(received.split("\r\n").filter((line) => line !== ""));
    });
    socket.once("error", reject);
  });
}

describe("malformed LMTP sessions", () => {
  it("DATA without RCPT, a command before LHLO and RCPT without MAIL get clear errors", async () => {
    const lines = await rawSession(
      "MAIL FROM:<a@example.net>\r\nLHLO client.example\r\nDATA\r\nRCPT TO:<alice@example.org>\r\nQUIT\r\n",
    );
    expect(lines[0]).toMatch(/^220 .* LMTP mailledger/);
    expect(lines[1]).toMatch(/^503 5\.5\.1 Error: send LHLO first/);
    expect(lines.find((line) => line.startsWith("503 5.5.1 Error: need RCPT"))).toBeDefined();
    expect(lines.find((line) => line.startsWith("503 5.5.1 Error: need MAIL"))).toBeDefined();
    expect(lines.at(-1)).toMatch(/^221 /);
  });

  it("refuses a body with bare LF line ends for every recipient", async () => {
    const replies = await lmtp(
      "s@example.net",
      ["alice@example.org", "bob@example.org"],
      Buffer.from("Subject: bare\n\nline\nother\r\n"),
    );
    expect(replies.data).toEqual([
      [
        550,
        "5.6.0 <alice@example.org>: the message has a bare CR or LF on line 1; lines end in CRLF (RFC 5321 2.3.8)",
      ],
      [
        550,
        "5.6.0 <bob@example.org>: the message has a bare CR or LF on line 1; lines end in CRLF (RFC 5321 2.3.8)",
      ],
    ]);
    expect((await mailbox("alice")).some((m) => m.source.includes("Subject: bare"))).toBe(false);
  });

  it("answers a whole transaction pipelined in one write, body included, and keeps serving others", async () => {
    const pipelined =
      "LHLO abuse.example\r\nMAIL FROM:<p@example.net>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\n" +
      "DATA\r\nSubject: pipelined\r\n\r\nbody\r\n.\r\nNOT A COMMAND\r\nRCPT TO:<bob@example.org>\r\nQUIT\r\n";
    const abusers = Promise.all([
      rawSession(pipelined),
      rawSession(pipelined, /^421 /m, true),
      rawSession("\x00\xff garbage\r\n".repeat(50), /^421 /m),
    ]);
    const meanwhile = await lmtp("s@example.net", ["bob@example.org"], message("While others misbehave"));
    expect(meanwhile.data[0]![0]).toBe(250);
    const [first, early, garbage] = await abusers;
    // A client that talks before the greeting is an abuser, not an MTA (smtp-server's early-talker check).
    expect(early).toEqual([expect.stringMatching(/^421 .*You talk too soon$/)]);
    expect(
      first.filter((line) => /^(250|354|550|503|500) /.test(line)).map((line) => line.slice(0, 3)),
    ).toEqual([
      "250", // LHLO (last line)
      "250", // MAIL
      "250", // RCPT alice
      "550", // RCPT nobody
      "354",
      "250", // alice delivered
      "500", // NOT A COMMAND
      "503", // RCPT without MAIL
    ]);
    expect(garbage.at(-1)).toMatch(/^421 /);
    const client = await lmtp("s@example.net", ["bob@example.org"], message("After the abuse"));
    expect(client.data[0]![0]).toBe(250);
  });
});

/** A listener of its own on the test database (or through `pool`), with these settings. */
async function listener(env: Record<string, string>, pool = server.db.pool) {
  const config = loadConfig({ LMTP_PORT: "0", ...env });
  return startLmtpServer({
    settings: config.lmtp,
    hostname: "lmtp.test",
    logger: silentLogger,
    pool,
    blobStore: server.node.runtime.blobStore,
    appendLimit: config.appendLimit ?? null,
    onCommitted: server.node.runtime.onCommitted,
    nodeId: "lmtp-test",
    duplicateWindowMs: config.lmtp.duplicateWindowMs,
  });
}

describe("where LMTP listens and who may connect", () => {
  it("delivers over a Unix socket (LMTP_SOCKET)", async () => {
    const socket = path.join(scratch, "lmtp.sock");
    const unix = await listener({ LMTP_SOCKET: socket });
    try {
      const replies = await lmtp("s@example.net", ["bob@example.org"], message("Over a Unix socket"), {
        socket,
      });
      expect(replies.data[0]![1]).toMatch(/^2\.0\.0 <bob@example\.org> delivered to INBOX/);
    } finally {
      await unix.close();
    }
  });

  it("refuses a client outside LMTP_ALLOWED_CLIENTS before anything is said", async () => {
    const guarded = await listener({ LMTP_ALLOWED_CLIENTS: "10.9.9.0/24" });
    try {
      const lines = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(guarded.port!, "127.0.0.1");
        let received = "";
        socket.on("data", (chunk) => (received += chunk));
        socket.once("close", () => resolve(received));
        socket.once("error", reject);
      });
      expect(lines).toBe("554 5.7.1 127.0.0.1 may not deliver mail here\r\n");
    } finally {
      await guarded.close();
    }
  });

  it("refuses a message above APPEND_LIMIT at MAIL FROM when its SIZE is declared, else after DATA", async () => {
    const limited = await listener({ APPEND_LIMIT: "5000" });
    try {
      const big = message("Too big", `${"x".repeat(6000)}\r\n`);
      const declared = await lmtp("s@example.net", ["bob@example.org"], big, {
        port: limited.port!,
        mail_options: [`SIZE=${big.length}`],
      });
      expect(declared.lhlo[1]).toMatch(/SIZE 5000/);
      expect(declared.mail).toEqual([552, "5.3.4 Error: message exceeds fixed maximum message size 5000"]);
      const undeclared = await lmtp("s@example.net", ["bob@example.org", "alice@example.org"], big, {
        port: limited.port!,
      });
      expect(undeclared.data).toEqual([
        [552, "5.3.4 Error: message exceeds fixed maximum message size 5000"],
        [552, "5.3.4 Error: message exceeds fixed maximum message size 5000"],
      ]);
      expect((await mailbox("bob")).some((m) => m.source.includes("Too big"))).toBe(false);
    } finally {
      await limited.close();
    }
  });

  it("answers over quota with 452 4.2.2 when the operator prefers a retry", async () => {
    const temporary = await listener({ LMTP_QUOTA_REPLY: "temporary" });
    try {
      const replies = await lmtp(
        "s@example.net",
        ["olga@example.org"],
        message("Retry later", `${"x".repeat(2000)}\r\n`),
        {
          port: temporary.port!,
        },
      );
      expect(replies.data).toEqual([
        [452, "4.2.2 <olga@example.org>: mailbox is over quota; try again later"],
      ]);
    } finally {
      await temporary.close();
    }
  });
});

/** One LMTP connection driven a step at a time: each step's text, then its replies. */
async function stepwise(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  let buffer = "";
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  socket.on("data", (chunk) => {
    buffer += chunk.toString("latin1");
    for (let at = buffer.indexOf("\r\n"); at !== -1; at = buffer.indexOf("\r\n")) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      if (line[3] !== "-") lines.push(line);
    }
    wake?.();
  });
  const replies = async (count: number) => {
    while (lines.length < count) await new Promise<void>((resolve) => (wake = resolve));
    return lines.splice(0, count);
  };
  await replies(1);
  return {
    async send(text: string, count = 1) {
      socket.write(text);
      return replies(count);
    },
    close: () => socket.destroy(),
  };
}

describe("database trouble", () => {
  it("answers 451 4.3.0 for every recipient, never 250, and delivers again once the database is back", async () => {
    const url = new URL(server.db.url);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    const pool = await createDatabasePool(url.toString(), { maximumPoolSize: 2 });
    const flaky = await listener({}, pool);
    try {
      const session = await stepwise(flaky.port!);
      await session.send("LHLO client.example\r\n");
      expect(
        await session.send(
          "MAIL FROM:<s@example.net>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n",
          3,
        ),
      ).toEqual([
        expect.stringMatching(/^250 /),
        expect.stringMatching(/^250 /),
        expect.stringMatching(/^250 /),
      ]);
      proxy.cut();
      expect(await session.send("DATA\r\n")).toEqual([expect.stringMatching(/^354 /)]);
      const lost = message("Lost in the outage");
      expect(await session.send(`${lost.toString("latin1")}.\r\n`, 2)).toEqual([
        "451 4.3.0 <alice@example.org>: local error while storing the message; try again later",
        "451 4.3.0 <bob@example.org>: local error while storing the message; try again later",
      ]);
      // RCPT needs the database too.
      expect(await session.send("MAIL FROM:<s@example.net>\r\nRCPT TO:<alice@example.org>\r\n", 2)).toEqual([
        expect.stringMatching(/^250 /),
        "451 4.3.0 <alice@example.org>: local error looking up the recipient; try again later",
      ]);
      await session.send("RSET\r\n");
      proxy.restore();
      const back = message("After the outage");
      await session.send("MAIL FROM:<s@example.net>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n", 3);
      expect(await session.send(`${back.toString("latin1")}.\r\n`)).toEqual([
        expect.stringMatching(/^250 2\.0\.0 <alice@example\.org> delivered to INBOX/),
      ]);
      session.close();
      const inbox = await mailbox("alice");
      expect(inbox.some((m) => m.source.includes("Lost in the outage"))).toBe(false);
      expect(inbox.some((m) => m.source.includes("After the outage"))).toBe(true);
    } finally {
      await flaky.close();
      await pool.end();
      await proxy.close();
    }
  });
});
