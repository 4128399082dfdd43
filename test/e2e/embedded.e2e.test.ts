// The embedded default as a user runs it: `mailledger serve` with only IMAP_PORT and DATA_DIR set,
// accounts made with `mailledger user create` against the same DATA_DIR while the server runs,
// then a real client (Python's imaplib) uses it.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { freePort, waitForPort } from "../support/freePort.ts";
import { sample, scrape, sumOf } from "../support/metrics.ts";

const execFileAsync = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "bin/mailledger.js");

let dataDir: string;
let server: ChildProcess;
let port: number;
let metricsPort: number;
let serverOutput = "";

// Only what a user of the embedded default would set: no DATABASE_URL, KAFKA_BROKERS, REDIS_URL.
const env = () => {
  const clean: NodeJS.ProcessEnv = { PATH: `${path.join(root, "node_modules/.bin")}:${process.env.PATH}` };
  return {
    ...clean,
    DATA_DIR: dataDir,
    IMAP_PORT: String(port),
    LMTP_PORT: "0",
    ALLOW_INSECURE_AUTH: "true",
    METRICS_PORT: String(metricsPort),
  };
};

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "ml-e2e-"));
  port = await freePort();
  metricsPort = await freePort();
  server = spawn(process.execPath, [bin, "serve"], { env: env(), stdio: ["ignore", "pipe", "pipe"] });
  server.stdout?.on("data", (chunk) => (serverOutput += chunk));
  server.stderr?.on("data", (chunk) => (serverOutput += chunk));
  await waitForPort(port, { timeoutMs: 60_000, output: () => serverOutput });
}, 90_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe("embedded default", () => {
  it("creates an account from a second process and serves it to imaplib; /metrics shows it", async () => {
    const before = await scrape(metricsPort);
    const create = spawn(process.execPath, [bin, "user", "create", "dana", "--password-stdin"], {
      env: env(),
    });
    create.stdin.end("dana-secret\n");
    let created = "";
    create.stdout.on("data", (chunk) => (created += chunk));
    const code = await new Promise((resolve) => create.once("exit", resolve));
    expect(code).toBe(0);
    expect(created).toMatch(/created user dana/);

    const { stdout } = await execFileAsync("python3", [
      path.join(root, "test/e2e/py/session_smoke.py"),
      "127.0.0.1",
      String(port),
      "dana",
      "dana-secret",
    ]);
    const seen = JSON.parse(stdout);
    expect(seen.login).toBe("OK");
    expect(seen.append).toMatch(/^\[APPENDUID \d+ 1\]/);
    expect(seen.select).toEqual(["OK", "1"]);
    expect(seen.body_identical).toBe(true);
    expect(seen.fetch).toMatch(/FLAGS \(\\Flagged \\Recent\) ENVELOPE \(NIL "Hello from imaplib"/);
    expect(seen.search).toBe("1");
    // SORT, THREAD and QUOTA on the embedded database, through imaplib's own parsing.
    expect(seen.sort).toBe("2 1");
    expect(seen.thread).toBe("(1 2)");
    // No quota set: the mailbox has no quota root, and no QUOTA follows.
    expect(seen.quotaroot).toEqual([["INBOX"], [null]]);
    expect(seen.expunge).toEqual(["1"]);
    expect(seen.create).toBe("OK");
    expect(seen.list).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/\) "\/" INBOX$/),
        expect.stringMatching(/\\HasChildren.*"\/" Archive$/),
        expect.stringMatching(/"\/" Archive\/2026$/),
      ]),
    );
    expect(seen.status).toBe("INBOX (MESSAGES 1 UIDNEXT 3)");

    // The scrape during the run: counters and histograms moved by what imaplib did.
    const after = await scrape(metricsPort);
    const moved = (name: string, ...labels: string[]) =>
      sumOf(after, name, ...labels) - sumOf(before, name, ...labels);
    expect(moved("mailledger_imap_logins_total", 'result="success"')).toBe(1);
    expect(moved("mailledger_imap_commands_total", 'command="APPEND"', 'result="OK"')).toBe(2);
    expect(moved("mailledger_imap_command_duration_seconds_count", 'command="APPEND"', 'result="OK"')).toBe(
      2,
    );
    expect(moved("mailledger_imap_command_duration_seconds_sum", 'command="APPEND"')).toBeGreaterThan(0);
    expect(
      moved("mailledger_imap_command_duration_seconds_bucket", 'command="SELECT"', 'le="+Inf"'),
    ).toBeGreaterThan(0);
    expect(moved("mailledger_imap_connections_total", 'result="accepted"')).toBeGreaterThanOrEqual(1);
    expect(moved("mailledger_events_appended_total", 'type="MessageAppended"')).toBe(2);
    expect(moved("mailledger_doorbell_latency_seconds_count")).toBeGreaterThan(0);
    expect(sample(after, 'mailledger_projection_lag_events{projection="bodies"}')).toBeGreaterThanOrEqual(0);
    expect(after.has('mailledger_projection_lag_events{projection="bodies"}')).toBe(true);
    expect(sample(after, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
    // The login and logout lines: who, from where, which client, how long, how many commands.
    const logoutLine = () =>
      serverOutput
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((entry) => entry.message === "logout" && entry.user === "dana");
    for (let waited = 0; logoutLine() === undefined && waited < 5_000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const logout = logoutLine();
    expect(logout).toMatchObject({ level: "info", remoteAddress: "127.0.0.1", user: "dana" });
    expect(logout?.commands).toBeGreaterThan(10);
    expect(logout?.durationMs).toBeGreaterThanOrEqual(0);
    expect(serverOutput).not.toContain("dana-secret");
  });

  it("speaks STARTTLS out of the box and refuses clear-text LOGIN without ALLOW_INSECURE_AUTH", async () => {
    const securePort = await freePort();
    const secureEnv = {
      ...env(),
      IMAP_PORT: String(securePort),
      ALLOW_INSECURE_AUTH: "false",
      METRICS_PORT: "",
    };
    // The same DATA_DIR is open in the first server: use a second one for this server.
    const secureDir = await mkdtemp(path.join(os.tmpdir(), "ml-e2e-tls-"));
    const secure = spawn(process.execPath, [bin, "serve"], {
      env: { ...secureEnv, DATA_DIR: secureDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let secureOutput = "";
    secure.stderr?.on("data", (chunk) => (secureOutput += chunk));
    try {
      await waitForPort(securePort, { timeoutMs: 60_000, output: () => serverOutput });
      expect(secureOutput).toMatch(/self-signed certificate/);
      const create = spawn(process.execPath, [bin, "user", "create", "erin", "--password-stdin"], {
        env: { ...secureEnv, DATA_DIR: secureDir },
      });
      create.stdin.end("erin-secret\n");
      expect(await new Promise((resolve) => create.once("exit", resolve))).toBe(0);
      const { stdout } = await execFileAsync("python3", [
        path.join(root, "test/e2e/py/starttls_login.py"),
        "127.0.0.1",
        String(securePort),
        "erin",
        "erin-secret",
      ]);
      const seen = JSON.parse(stdout);
      expect(seen.before).toEqual(expect.arrayContaining(["STARTTLS", "LOGINDISABLED"]));
      expect(seen.clear_login).toMatch(/PRIVACYREQUIRED/);
      expect(seen.starttls).toBe("OK");
      expect(seen.after).not.toContain("LOGINDISABLED");
      expect(seen.login).toBe("OK");
      expect(seen.select).toBe("OK");
    } finally {
      const exited = new Promise((resolve) => secure.once("exit", resolve));
      secure.kill("SIGTERM");
      await exited;
      await rm(secureDir, { recursive: true, force: true });
    }
  });

  it("imports thousands of messages beside IMAP sessions that log in, select, fetch and ask STATUS", async () => {
    const mbox = Array.from({ length: 2_000 }, (_, i) =>
      [`From bulk@example.org Sat Jan  1 00:00:00 2000`, `Subject: Bulk ${i}`, "", `body ${i}`, ""].join(
        "\n",
      ),
    ).join("\n");
    const file = path.join(dataDir, "bulk.mbox");
    await writeFile(file, mbox);
    await execFileAsync(process.execPath, [bin, "mailbox", "create", "dana", "Bulk"], { env: env() });
    const importing = execFileAsync(
      process.execPath,
      [bin, "import", "mbox", "dana", file, "--mailbox", "Bulk"],
      {
        env: env(),
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    let done = false;
    void importing.finally(() => {
      done = true;
    });
    const answers: string[] = [];
    let rounds = 0;
    // Sessions come and go while the import runs: every answer is OK, none disturbed.
    while (!done) {
      const client = await RawImapClient.connect(port);
      await client.greeting();
      answers.push((await client.command("L", "LOGIN dana dana-secret")).at(-1)!);
      answers.push((await client.command("S", "SELECT INBOX")).at(-1)!);
      answers.push((await client.command("F", "FETCH 1:* (FLAGS ENVELOPE)")).at(-1)!);
      const status = await client.command("T", "STATUS Bulk (MESSAGES)");
      answers.push(status.at(-1)!);
      client.close();
      rounds += 1;
    }
    const { stdout } = await importing;
    expect(stdout).toMatch(/imported 2000 messages into Bulk, failed 0/);
    expect(rounds).toBeGreaterThan(2);
    expect(answers.filter((line) => !/^[LSFT] OK/.test(line))).toEqual([]);
    const client = await RawImapClient.connect(port);
    await client.greeting();
    await client.command("L", "LOGIN dana dana-secret");
    expect((await client.command("T", "STATUS Bulk (MESSAGES)"))[0]).toBe("* STATUS Bulk (MESSAGES 2000)");
    client.close();
    expect(serverOutput).not.toMatch(/portal|prepared statement|SERVERBUG/);
  }, 180_000);

  it("keeps its data across a restart", async () => {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    expect(await exited).toBe(0);
    server = spawn(process.execPath, [bin, "serve"], { env: env(), stdio: ["ignore", "pipe", "pipe"] });
    server.stderr?.on("data", (chunk) => (serverOutput += chunk));
    await waitForPort(port, { timeoutMs: 60_000, output: () => serverOutput });
    const { stdout } = await execFileAsync(process.execPath, [bin, "user", "list", "--json"], { env: env() });
    expect(JSON.parse(stdout).map((user: { username: string }) => user.username)).toEqual(["dana"]);
  });
});
