// `npm run stress -- [--target embedded|distributed|dovecot] [--clients N] [--secs N] [IMAPTEST_ARG...]`
// Runs Dovecot's imaptest in its stress mode (no `test=`: its default command mix, every client
// checking that what it sees agrees with what the others did) against one server, and prints
// imaptest's own summary: commands/s per command, and its error count. Exits 1 when imaptest
// reported an error.
//
// - embedded: `mailledger serve` with nothing configured, as the compliance suite starts it;
// - distributed: `mailledger serve` on a fresh PostgreSQL database (created, migrated, dropped),
//   the shared Kafka and Redis, a topic and a Redis prefix of its own;
// - dovecot: a throwaway Dovecot, the reference.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { ulid } from "ulid";
import { RawImapClient } from "../src/imap-gateway/testing/rawClient.ts";
import { ensureImaptest, type Target } from "../test/compliance/imaptest.ts";
import {
  freePort,
  type RunningServer,
  startMailledger,
  startReferenceDovecot,
} from "../test/compliance/servers.ts";
import { waitForPort } from "../test/support/freePort.ts";
import { TEST_KAFKA_BROKERS, TEST_POSTGRES_URL, TEST_REDIS_URL } from "../test/support/services.ts";

const repositoryRoot = path.resolve(import.meta.dirname, "..");
const USER = "imaptest";
const PASSWORD = "imaptest-secret";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    target: { type: "string", default: "embedded" },
    clients: { type: "string", default: "10" },
    secs: { type: "string", default: "60" },
  },
});

/**
 * The messages imaptest appends: every message of the compliance suite's own mboxes (plain,
 * multipart, encoded, nested), each given a Message-ID of its own. imaptest knows a message by
 * its Message-ID across clients: two different messages sharing one would read to it as one
 * message whose ENVELOPE and size changed.
 */
export function stressMessages(testsDir: string): string {
  const messages: string[] = [];
  for (const name of readdirSync(testsDir)
    .filter((file) => file.endsWith(".mbox"))
    .sort()) {
    const text = readFileSync(path.join(testsDir, name), "latin1").replace(/\r?\n/g, "\n");
    for (const raw of text.split(/^(?=From )/m)) {
      if (!raw.startsWith("From ")) continue;
      const newline = raw.indexOf("\n");
      const separator = raw.slice(0, newline);
      let message = raw.slice(newline + 1).replace(/\n+$/, "\n");
      const id = `<stress-${messages.length + 1}@mailledger.test>`;
      const headerEnd = message.search(/\n\n|^\n/);
      const header = headerEnd < 0 ? message : message.slice(0, headerEnd + 1);
      const body = headerEnd < 0 ? "" : message.slice(headerEnd + 1);
      const cleaned = header.replace(/^message-id:.*\n([ \t].*\n)*/gim, "");
      message = `Message-ID: ${id}\n${cleaned}${body}`;
      messages.push(`${separator}\n${message}\n`);
    }
  }
  return messages.join("");
}

async function writeMbox(testsDir: string, into: string): Promise<string> {
  const file = path.join(into, "stress.mbox");
  await writeFile(file, stressMessages(testsDir), "latin1");
  return file;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

function runToExit(child: ChildProcess, what: string, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} exited with ${code}:\n${output()}`)),
    );
  });
}

function mailledger(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<void> {
  const child = spawn(process.execPath, [path.join(repositoryRoot, "src/main.ts"), ...args], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  child.stdin?.end(stdin ?? "");
  return runToExit(child, `mailledger ${args.join(" ")}`, () => output);
}

/** The distributed mode, all roles in one process, on a database of its own. */
async function startDistributed(): Promise<RunningServer> {
  const id = ulid().toLowerCase();
  const database = `mailledger_stress_${id}`;
  await admin((client) => client.query(`CREATE DATABASE ${database}`));
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${database}`;
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: url.toString(),
    KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(","),
    KAFKA_TOPIC: `mailledger.stress.${id}`,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: `mailledger-stress-${id}`,
    IMAP_HOST: "127.0.0.1",
    IMAP_PORT: String(port),
    LMTP_PORT: "0",
    ALLOW_INSECURE_AUTH: "true",
    LOG_LEVEL: "warn",
  };
  let server: ChildProcess | undefined;
  const stop = async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    await admin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  };
  try {
    await mailledger(["migrate"], env);
    let output = "";
    server = spawn(process.execPath, [path.join(repositoryRoot, "src/main.ts"), "serve"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.stdout?.on("data", (chunk) => (output += chunk));
    server.stderr?.on("data", (chunk) => {
      output += chunk;
      process.stderr.write(chunk);
    });
    await waitForPort(port, { timeoutMs: 60_000, process: server, output: () => output });
    await mailledger(["user", "create", USER, "--password-stdin"], env, `${PASSWORD}\n`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { target: { host: "127.0.0.1", port, user: USER, password: PASSWORD }, stop };
}

async function startTarget(name: string): Promise<RunningServer> {
  switch (name) {
    case "embedded":
      return startMailledger(repositoryRoot);
    case "distributed":
      return startDistributed();
    case "dovecot":
      return startReferenceDovecot();
    default:
      throw new Error(`--target must be embedded, distributed or dovecot, not ${name}`);
  }
}

function runImaptest(binary: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

/**
 * imaptest's closing summary (the totals table: command names, their probabilities, the count of
 * each), the count of each per second over `seconds`, and every error line.
 */
export function summaryOf(output: string, seconds: number): { summary: string; errors: string[] } {
  const lines = output.split("\n");
  const errors = lines.filter((line) => /^\s*Error: /.test(line));
  const start = lines.lastIndexOf("Totals:");
  if (start < 0) return { summary: output.slice(-4_000), errors };
  const table = lines.slice(start + 1).filter((line) => line.trim() !== "");
  const names = table[0]?.trim().split(/\s+/) ?? [];
  const totals = table.at(-1)?.trim().split(/\s+/).map(Number) ?? [];
  const perSecond = names.map((name, i) => `${name} ${((totals[i] ?? 0) / seconds).toFixed(1)}`);
  const summary = [
    "Totals:",
    ...table,
    `per second: ${perSecond.join(", ")}`,
    `errors: ${errors.length}`,
  ].join("\n");
  return { summary, errors };
}

/**
 * With `copybox=NAME`, imaptest's clients COPY there and, told TRYCREATE, all CREATE it at once:
 * every CREATE but the first is answered NO [ALREADYEXISTS], as it must be, and imaptest counts
 * each as an error, on any server. The mailbox is made before the run instead.
 */
async function createCopyBox(target: Target, args: readonly string[]): Promise<void> {
  const copybox = args.find((arg) => arg.startsWith("copybox="))?.slice("copybox=".length);
  if (copybox === undefined) return;
  const client = await RawImapClient.connect(target.port, target.host);
  try {
    await client.greeting(10_000);
    await client.command("L", `LOGIN "${target.user}" "${target.password}"`, 10_000);
    const created = await client.command("C", `CREATE "${copybox}"`, 10_000);
    if (!/^C (OK|NO \[ALREADYEXISTS\])/.test(created.at(-1) ?? ""))
      throw new Error(`CREATE ${copybox}: ${created.at(-1)}`);
  } finally {
    client.close();
  }
}

async function main(): Promise<number> {
  const imaptest = ensureImaptest(repositoryRoot);
  const work = await mkdtemp(path.join(os.tmpdir(), "ml-stress-"));
  const server = await startTarget(values.target);
  try {
    const mbox = await writeMbox(imaptest.testsDir, work);
    const target: Target = server.target;
    const args = [
      `host=${target.host}`,
      `port=${target.port}`,
      `user=${target.user}`,
      `pass=${target.password}`,
      `mbox=${mbox}`,
      `clients=${values.clients}`,
      `secs=${values.secs}`,
      ...positionals,
    ];
    await createCopyBox(target, positionals);
    process.stdout.write(`imaptest ${args.filter((arg) => !arg.startsWith("pass=")).join(" ")}\n`);
    const { code, output } = await runImaptest(imaptest.binary, args);
    const { summary, errors } = summaryOf(output, Number(values.secs));
    if (errors.length > 0) {
      process.stdout.write(`${errors.length} errors:\n`);
      for (const line of errors.slice(0, 50)) process.stdout.write(`  ${line.slice(0, 400)}\n`);
    }
    process.stdout.write(`${summary}\n`);
    process.stdout.write(`target ${values.target}: imaptest exit ${code}\n`);
    return errors.length > 0 || code !== 0 ? 1 : 0;
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

// Run as a script; imported (its helpers), it does nothing.
if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (error) {
    process.stderr.write(`stress: ${(error as Error).stack ?? error}\n`);
    process.exitCode = 2;
  }
}
