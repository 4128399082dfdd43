// The embedded default delivers mail too: `mailledger serve` with nothing but DATA_DIR and ports
// set runs the lmtp role beside IMAP, so an MTA can deliver to it at once.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ImapFlow } from "imapflow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, waitForPort } from "../support/freePort.ts";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "bin/mailledger.js");

let dataDir: string;
let server: ChildProcess;
let imapPort: number;
let lmtpPort: number;
let output = "";

const env = () => ({
  PATH: `${path.join(root, "node_modules/.bin")}:${process.env.PATH}`,
  DATA_DIR: dataDir,
  IMAP_PORT: String(imapPort),
  LMTP_PORT: String(lmtpPort),
  ALLOW_INSECURE_AUTH: "true",
});

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "ml-lmtp-embedded-"));
  imapPort = await freePort();
  lmtpPort = await freePort();
  server = spawn(process.execPath, [bin, "serve"], { env: env(), stdio: ["ignore", "pipe", "pipe"] });
  server.stdout?.on("data", (chunk) => (output += chunk));
  server.stderr?.on("data", (chunk) => (output += chunk));
  await waitForPort(imapPort, { timeoutMs: 60_000, output: () => output });
  await waitForPort(lmtpPort, { timeoutMs: 10_000, output: () => output });
}, 90_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe("the embedded default", () => {
  it("takes mail over LMTP into an INBOX that IMAP serves", async () => {
    const create = spawn(process.execPath, [bin, "user", "create", "erin", "--password-stdin"], {
      env: env(),
    });
    create.stdin.end("erin-secret\n");
    expect(await new Promise((resolve) => create.once("exit", resolve))).toBe(0);

    const sent =
      "From: a@example.net\r\nSubject: Embedded delivery\r\nMessage-ID: <embedded@example.net>\r\n\r\nHi.\r\n";
    const file = path.join(dataDir, "message.eml");
    await writeFile(file, sent);
    const child = execFile("python3", [path.join(root, "test/e2e/py/lmtp_deliver.py")]);
    child.stdin!.end(
      JSON.stringify({
        host: "127.0.0.1",
        port: lmtpPort,
        mail_from: "a@example.net",
        rcpts: ["erin@example.org"],
        message_file: file,
      }),
    );
    let stdout = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    expect(await new Promise((resolve) => child.once("exit", resolve))).toBe(0);
    expect(JSON.parse(stdout).data).toEqual([[250, "2.0.0 <erin@example.org> delivered to INBOX, UID 1"]]);

    // The embedded default offers STARTTLS with a self-signed certificate; clear text is allowed here.
    const client = new ImapFlow({
      host: "127.0.0.1",
      port: imapPort,
      secure: false,
      doSTARTTLS: false,
      auth: { user: "erin", pass: "erin-secret" },
      logger: false,
    });
    await client.connect();
    await client.mailboxOpen("INBOX", { readOnly: true });
    const fetched = await client.fetchOne("1", { source: true });
    await client.logout();
    expect(fetched ? fetched.source!.toString("latin1") : "").toBe(
      `Return-Path: <a@example.net>\r\nDelivered-To: erin@example.org\r\n${sent}`,
    );

    const { stdout: trail } = await run(process.execPath, [bin, "history", "erin", "INBOX"], { env: env() });
    expect(trail).toMatch(
      /\tlmtp\t127\.0\.0\.1\tDATA\tINBOX\tappended UID 1 .*, delivered from <a@example\.net> to <erin@example\.org>/,
    );
  });
});
