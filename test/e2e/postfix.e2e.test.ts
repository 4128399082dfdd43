// A real MTA in front: a throwaway Postfix receives SMTP on a loopback port and delivers to
// mailledger over LMTP (virtual_transport = lmtp:inet:..., as the README says), with several
// recipients in one LMTP transaction. The message reaches the INBOX over IMAP, and a client in
// IDLE is told at once; an unknown recipient is refused at RCPT and Postfix bounces it. A second
// domain goes over a Unix socket (LMTP_SOCKET), which Postfix reaches as its own user.
import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/imap-gateway/logger.ts";
import { type LmtpServer, startLmtpServer } from "../../src/lmtp/server.ts";
import type { RunningNode } from "../../src/serve/serve.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { startThrowawayPostfix, type ThrowawayPostfix } from "../support/postfix.ts";
import { imapflowConnected } from "./helpers/clients.ts";

let server: TestMailServer;
let lmtpNode: RunningNode;
let postfix: ThrowawayPostfix;
let socketDir: string;
let socketListener: LmtpServer;

beforeAll(async () => {
  server = await startTestMailServer({ env: { LMTP_PORT: "0", LMTP_DOMAINS: "example.org" } });
  lmtpNode = await server.startNode(["lmtp"]);
  await server.createUser("alice", "alice-pw");
  await server.createUser("bob", "bob-pw");
  await server.createUser("carol", "carol-pw");
  // The directory must be searchable by the postfix user; the socket itself is 0666.
  socketDir = await mkdtemp(path.join(os.tmpdir(), "ml-lmtp-socket-"));
  await chmod(socketDir, 0o755);
  const socket = path.join(socketDir, "lmtp");
  socketListener = await startLmtpServer({
    settings: loadConfig({ LMTP_SOCKET: socket }).lmtp,
    hostname: "lmtp.test",
    logger: silentLogger,
    pool: server.db.pool,
    blobStore: server.node.runtime.blobStore,
    appendLimit: null,
    onCommitted: server.node.runtime.onCommitted,
    nodeId: "lmtp-socket",
    duplicateWindowMs: 0,
  });
  postfix = await startThrowawayPostfix({
    domains: ["example.org"],
    lmtpDestination: `inet:127.0.0.1:${lmtpNode.lmtp!.port}`,
    transports: { "example.net": `lmtp:unix:${socket}` },
  });
});

afterAll(async () => {
  await postfix?.stop();
  await socketListener?.close();
  await rm(socketDir, { recursive: true, force: true });
  await server?.close();
});

/** Sends over SMTP with Python's smtplib; what the SMTP server refused at once, by recipient. */
async function sendSmtp(port: number, from: string, to: string[], message: string): Promise<unknown> {
  const script = `
import json, smtplib, sys
s = smtplib.SMTP("127.0.0.1", ${port})
refused = s.sendmail(${JSON.stringify(from)}, json.loads(sys.argv[1]), sys.stdin.buffer.read())
s.quit()
print(json.dumps({k: [v[0], v[1].decode()] for k, v in refused.items()}))
`;
  const child = execFile("python3", ["-c", script, JSON.stringify(to)]);
  const output = new Promise<string>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    child.once("exit", (code) => (code === 0 ? resolve(stdout) : reject(new Error(stderr))));
  });
  child.stdin!.end(message);
  return JSON.parse(await output);
}

describe("Postfix delivering over LMTP", () => {
  it("puts the message in the INBOX, tells an IDLE client, and bounces an unknown recipient", async () => {
    const idler = await imapflowConnected(
      { host: server.host, port: server.port },
      { user: "alice", pass: "alice-pw" },
    );
    await idler.mailboxOpen("INBOX");
    const exists = new Promise<number>((resolve) => idler.on("exists", (update) => resolve(update.count)));
    const idling = idler.idle();

    const message =
      "From: Sender <sender@example.net>\r\nTo: alice@example.org, bob@example.org\r\n" +
      "Subject: Through Postfix\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <through-postfix@example.net>\r\n\r\nHello over SMTP and LMTP.\r\n";
    const refused = await sendSmtp(
      postfix.smtpPort,
      "sender@example.net",
      ["alice@example.org", "bob@example.org", "nobody@example.org"],
      message,
    );
    expect(refused).toEqual({});

    expect(await exists).toBe(1);
    await idler.logout();
    await idling.catch(() => {});

    for (const rcpt of ["alice", "bob"]) {
      expect(
        await postfix.waitForLog(
          new RegExp(
            `to=<${rcpt}@example\\.org>.*status=sent \\(250 2\\.0\\.0 <${rcpt}@example\\.org> delivered to INBOX, UID 1\\)`,
          ),
        ),
      ).toBeTruthy();
    }
    expect(
      await postfix.waitForLog(
        /to=<nobody@example\.org>.*status=bounced .*said: 550 5\.1\.1 <nobody@example\.org>: no such user here \(in reply to RCPT TO command\)/,
      ),
    ).toBeTruthy();

    const reader = await imapflowConnected(
      { host: server.host, port: server.port },
      { user: "bob", pass: "bob-pw" },
    );
    await reader.mailboxOpen("INBOX", { readOnly: true });
    const fetched = await reader.fetchOne("1", { source: true });
    await reader.logout();
    const source = fetched ? fetched.source!.toString("latin1") : "";
    // Our Return-Path heads it (Postfix's LMTP client delivered both recipients in one transaction,
    // so no Delivered-To), then Postfix's Received, then the message as sent.
    expect(source).toMatch(/^Return-Path: <sender@example\.net>\r\nReceived: from /);
    expect(source.endsWith(message)).toBe(true);
  });

  it("delivers over a Unix socket to a domain routed there", async () => {
    const message =
      "From: s@example.com\r\nSubject: Over the socket\r\nDate: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <socket@example.com>\r\n\r\nHi.\r\n";
    expect(await sendSmtp(postfix.smtpPort, "s@example.com", ["carol@example.net"], message)).toEqual({});
    expect(
      await postfix.waitForLog(
        /to=<carol@example\.net>.*relay=.*status=sent \(250 2\.0\.0 <carol@example\.net> delivered to INBOX, UID 1\)/,
      ),
    ).toMatch(/relay=[^ ]*lmtp/);
    const reader = await imapflowConnected(
      { host: server.host, port: server.port },
      { user: "carol", pass: "carol-pw" },
    );
    await reader.mailboxOpen("INBOX", { readOnly: true });
    const fetched = await reader.fetchOne("1", { source: true });
    await reader.logout();
    const source = fetched ? fetched.source!.toString("latin1") : "";
    expect(source).toMatch(
      /^Return-Path: <s@example\.com>\r\nDelivered-To: carol@example\.net\r\nReceived: from /,
    );
    expect(source.endsWith(message)).toBe(true);
  });
});
