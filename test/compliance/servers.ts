// The servers the compliance suite runs against: mailledger's embedded default exactly as a user
// starts it (`mailledger serve`, an account made with `mailledger user create`), or a throwaway
// Dovecot as the reference reading of the RFCs.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startDovecot } from "../../bench/imap/dovecot.ts";
import { freePort, waitForPort } from "../support/freePort.ts";
import type { Target } from "./imaptest.ts";

const SERVER_START_TIMEOUT_MS = 60_000;

export interface RunningServer {
  target: Target;
  stop(): Promise<void>;
}

const USER = "imaptest";
/** The second account scripts with two users log in as (urlauth2: `user 2: $user2`), same password. */
const USER2 = "imaptest2";
/** The mailbox imaptest's scripts work in (its `box=` default for compliance tests). */
const SCRIPT_MAILBOX = "imaptest";
const PASSWORD = "imaptest-secret";

export { freePort };

function runToExit(child: ChildProcess, output: () => string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} exited with ${code}:\n${output()}`)),
    );
  });
}

export async function startMailledger(repositoryRoot: string): Promise<RunningServer> {
  const main = path.join(repositoryRoot, "src/main.ts");
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "ml-compliance-"));
  const port = await freePort();
  // Only what the embedded default needs; nothing from the caller's environment points it at a
  // shared database or broker.
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: dataDir,
    IMAP_HOST: "127.0.0.1",
    IMAP_PORT: String(port),
    LMTP_PORT: "0",
    ALLOW_INSECURE_AUTH: "true",
    LOG_LEVEL: "warn",
  };
  let output = "";
  const server = spawn(process.execPath, [main, "serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
  server.stdout?.on("data", (chunk) => (output += chunk));
  server.stderr?.on("data", (chunk) => (output += chunk));
  const stop = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, { timeoutMs: SERVER_START_TIMEOUT_MS, process: server, output: () => output });
    for (const user of [USER, USER2]) {
      const create = spawn(process.execPath, [main, "user", "create", user, "--password-stdin"], {
        env,
        stdio: ["pipe", "pipe", "pipe"],
      });
      let createOutput = "";
      create.stdout?.on("data", (chunk) => (createOutput += chunk));
      create.stderr?.on("data", (chunk) => (createOutput += chunk));
      create.stdin?.end(`${PASSWORD}\n`);
      await runToExit(create, () => createOutput, "mailledger user create");
    }
    // Every connection of a script SELECTs the script's mailbox, the second user's too (urlauth2):
    // the first user's is made by imaptest, the second's here.
    const mailbox = spawn(process.execPath, [main, "mailbox", "create", USER2, SCRIPT_MAILBOX], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let mailboxOutput = "";
    mailbox.stdout?.on("data", (chunk) => (mailboxOutput += chunk));
    mailbox.stderr?.on("data", (chunk) => (mailboxOutput += chunk));
    await runToExit(mailbox, () => mailboxOutput, "mailledger mailbox create");
  } catch (error) {
    await stop();
    throw error;
  }
  return { target: { host: "127.0.0.1", port, user: USER, user2: USER2, password: PASSWORD }, stop };
}

export async function startReferenceDovecot(): Promise<RunningServer> {
  const port = await freePort();
  const dovecot = await startDovecot(port, [
    { name: USER, password: PASSWORD },
    { name: USER2, password: PASSWORD },
  ]);
  return {
    target: { host: dovecot.host, port, user: USER, user2: USER2, password: PASSWORD },
    stop: () => dovecot.stop(),
  };
}
