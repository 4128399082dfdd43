// mailledger roles as separate operating-system processes (`node src/main.ts serve --role ...`),
// as an operator runs them: gateways, relay, projector and notifier each in its own process, on a
// fresh test database, with a Kafka topic and a Redis prefix of their own. A test starts, stops,
// kills, pauses (SIGSTOP) and resumes them by name, and runs the operator's CLI against the same
// deployment (`user create`, `projections verify`). Everything goes in close(): the processes,
// the database, the topic and the consumer groups.
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ulid } from "ulid";
import { Kafka, logLevel } from "../../src/events/kafka.ts";
import { notifierGroupOf } from "../../src/projections/notifier/notifier.ts";
import { projectionsGroupOf } from "../../src/projections/runner/kafkaTransport.ts";
import type { Role } from "../../src/serve/serve.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";
import { freePort } from "./freePort.ts";
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from "./services.ts";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

/**
 * A node process compiles its TypeScript, connects to three services and joins consumer groups:
 * on a busy two-core machine that can take many seconds.
 */
export const PROCESS_START_TIMEOUT_MS = 60_000;
/** A process asked to stop (SIGTERM) gets this long to close its roles before SIGKILL. */
export const PROCESS_STOP_TIMEOUT_MS = 20_000;
const CLI_TIMEOUT_MS = 120_000;
/** Log lines kept per process, for a failing test's message. */
const LOG_LINES_KEPT = 5_000;
/** What the CLI prints on standard error once every role of `serve` has started (src/cli/run.ts). */
const SERVING = '"message":"mailledger: serving (';
const IMAP_LISTENING = /"message":"IMAP listening on [^"]*:(\d+)/;

/** Children still running when the test process exits (a crash, an interrupted run) die with it. */
const living = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of living) child.kill("SIGKILL");
});

export { freePort };

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The state letter of /proc/<pid>/stat: R, S, D, T (stopped), Z... */
async function processState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

export class ClusterProcess {
  readonly name: string;
  readonly roles: readonly Role[];
  readonly child: ChildProcess;
  /** Standard error, line by line (the JSON log and the CLI's own lines). */
  readonly log: string[] = [];
  readonly exit: Promise<ExitStatus>;
  imapPort: number | undefined;
  exitStatus: ExitStatus | undefined;
  paused = false;
  #waiters = new Set<() => void>();

  constructor(name: string, roles: readonly Role[], child: ChildProcess) {
    this.name = name;
    this.roles = roles;
    this.child = child;
    living.add(child);
    let partial = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      this.log.push(...lines);
      if (this.log.length > LOG_LINES_KEPT) this.log.splice(0, this.log.length - LOG_LINES_KEPT);
      this.#wake();
    });
    child.stdout!.resume();
    this.exit = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        living.delete(child);
        this.exitStatus = { code, signal };
        this.#wake();
        resolve(this.exitStatus);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  tail(lines = 30): string {
    return this.log.slice(-lines).join("\n");
  }

  /** Lines the process logged at level error: a SERVERBUG, an unhandled rejection. */
  errors(): string[] {
    return this.log.filter((line) => line.startsWith('{"level":"error"'));
  }

  /** Resolves with the first log line (from index `from`) matching `predicate`. */
  async waitForLog(predicate: (line: string) => boolean, timeoutMs: number, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.log.slice(from).find(predicate);
      if (found !== undefined) return found;
      if (!this.running) {
        throw new Error(
          `${this.name} exited (${JSON.stringify(this.exitStatus)}) before the awaited line; its last lines:\n${this.tail()}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `${this.name}: no awaited line within ${timeoutMs} ms; its last lines:\n${this.tail()}`,
        );
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  async ready(): Promise<void> {
    await this.waitForLog((line) => line.includes(SERVING), PROCESS_START_TIMEOUT_MS);
    if (this.roles.includes("gateway")) {
      const listening = await this.waitForLog((line) => IMAP_LISTENING.test(line), 1_000);
      this.imapPort = Number(IMAP_LISTENING.exec(listening)![1]);
    }
  }

  /** Resolves with the exit status, or undefined when the process still runs after `timeoutMs`. */
  async exited(timeoutMs: number): Promise<ExitStatus | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One table's comparison in a `projections verify --json` report (src/events/compareRelations.ts). */
export interface VerifyTable {
  table: string;
  liveRows: number;
  rebuiltRows: number;
  onlyLive: number;
  onlyRebuilt: number;
  examples: unknown[];
}

export interface VerifyReport {
  name: string;
  position: number;
  events: number;
  tables: VerifyTable[];
  equal: boolean;
}

export interface ProcessClusterOptions {
  /** Brokers of the deployment; default the shared test broker. */
  kafkaBrokers?: string[];
  /** Environment for every process of the cluster (LOG_LEVEL, DOORBELL_POLL_MS, ...). */
  env?: Record<string, string>;
  /** The PostgreSQL server of the deployment's database; default the shared test server. */
  postgresUrl?: string;
}

export interface StartOptions {
  /** Environment of this process only, over the cluster's. */
  env?: Record<string, string>;
}

export class ProcessCluster {
  readonly db: TestDatabase;
  readonly topic: string;
  readonly redisPrefix: string;
  readonly kafkaBrokers: string[];
  readonly #unique: string;
  readonly #env: Record<string, string>;
  readonly #processes = new Map<string, ClusterProcess>();

  private constructor(db: TestDatabase, unique: string, options: ProcessClusterOptions) {
    this.db = db;
    this.#unique = unique;
    this.topic = `mailledger.test.${unique}`;
    this.redisPrefix = `mailledger:test:${unique}`;
    this.kafkaBrokers = options.kafkaBrokers ?? TEST_KAFKA_BROKERS;
    // Nothing of the test runner's environment (NODE_OPTIONS, VITEST_*, a developer's
    // DATABASE_URL) leaks into the processes: they see what an operator would set.
    this.#env = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      DATABASE_URL: db.url,
      KAFKA_BROKERS: this.kafkaBrokers.join(","),
      REDIS_URL: TEST_REDIS_URL,
      KAFKA_TOPIC: this.topic,
      REDIS_PREFIX: this.redisPrefix,
      IMAP_HOST: "127.0.0.1",
      ALLOW_INSECURE_AUTH: "true",
      LOG_LEVEL: "info",
      // A consumer that rejoins after a Kafka outage waits this long for its old self to leave.
      KAFKA_SESSION_TIMEOUT_MS: "6000",
      ...options.env,
    };
  }

  /** A fresh, migrated database; no process runs yet. */
  static async create(options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    const db = await createTestDatabase(options.postgresUrl ? { serverUrl: options.postgresUrl } : {});
    return new ProcessCluster(db, ulid().toLowerCase(), options);
  }

  /** The redis channel the notifier rings (src/serve/runtime.ts). */
  get noticeChannel(): string {
    return `${this.redisPrefix}:notices`;
  }

  process(name: string): ClusterProcess {
    const found = this.#processes.get(name);
    if (!found) throw new Error(`no process named ${name} in this cluster`);
    return found;
  }

  imapPort(name: string): number {
    const port = this.process(name).imapPort;
    if (port === undefined) throw new Error(`${name} runs no gateway`);
    return port;
  }

  /** Starts `serve --role <roles>` as process `name` and resolves once it serves. */
  async start(name: string, roles: readonly Role[], options: StartOptions = {}): Promise<ClusterProcess> {
    if (this.#processes.get(name)?.running) throw new Error(`${name} runs already`);
    // A free port can be taken between the probe and the listen: try another then.
    for (let attempt = 1; ; attempt++) {
      const imapPort = roles.includes("gateway") ? await freePort() : undefined;
      const child = spawn(process.execPath, [MAIN, "serve", "--role", roles.join(",")], {
        cwd: REPO_ROOT,
        env: {
          ...this.#env,
          NODE_ID: `${name}-${this.#unique}`,
          ...(imapPort !== undefined ? { IMAP_PORT: String(imapPort) } : {}),
          ...options.env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const started = new ClusterProcess(name, roles, child);
      this.#processes.set(name, started);
      try {
        await started.ready();
        return started;
      } catch (error) {
        if (started.running) {
          started.child.kill("SIGKILL");
          await started.exit;
        }
        if (attempt < 3 && started.log.some((line) => line.includes("EADDRINUSE"))) continue;
        throw error;
      }
    }
  }

  /** The pipeline an operator runs beside the gateways: relay, projector and notifier, each its own process. */
  async startPipeline(): Promise<void> {
    await Promise.all([
      this.start("relay", ["relay"]),
      this.start("projector", ["projector"]),
      this.start("notifier", ["notifier"]),
    ]);
  }

  /** SIGTERM (after SIGCONT if paused) and the exit; SIGKILL when it does not stop in time. */
  async stop(name: string): Promise<ExitStatus> {
    const target = this.process(name);
    if (!target.running) return target.exitStatus!;
    if (target.paused) await this.resume(name);
    target.child.kill("SIGTERM");
    const status = await target.exited(PROCESS_STOP_TIMEOUT_MS);
    if (status) return status;
    target.child.kill("SIGKILL");
    return target.exit;
  }

  /** Sends `signal` and waits for the exit (SIGKILL: a crash, nothing closed). */
  async kill(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<ExitStatus> {
    const target = this.process(name);
    if (!target.running) return target.exitStatus!;
    target.child.kill(signal);
    const status = await target.exited(PROCESS_STOP_TIMEOUT_MS);
    if (!status) throw new Error(`${name} still runs ${PROCESS_STOP_TIMEOUT_MS} ms after ${signal}`);
    return status;
  }

  /** SIGSTOP: the process holds its connections and answers nothing until resume(). */
  async pause(name: string): Promise<void> {
    const target = this.process(name);
    target.child.kill("SIGSTOP");
    target.paused = true;
    const deadline = Date.now() + 5_000;
    while ((await processState(target.pid)) !== "T") {
      if (Date.now() > deadline) throw new Error(`${name} did not stop on SIGSTOP`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async resume(name: string): Promise<void> {
    const target = this.process(name);
    target.child.kill("SIGCONT");
    target.paused = false;
  }

  /** Runs `node src/main.ts <args>` against this deployment, as the operator would. */
  cli(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN, ...args], {
        cwd: REPO_ROOT,
        env: { ...this.#env, ...options.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      living.add(child);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`mailledger ${args.join(" ")} did not finish within ${CLI_TIMEOUT_MS} ms`));
      }, CLI_TIMEOUT_MS);
      child.once("error", reject);
      child.once("close", (code) => {
        clearTimeout(timer);
        living.delete(child);
        resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
      child.stdin.end(options.stdin ?? "");
    });
  }

  /** `mailledger user create NAME --password-stdin`; resolves with the user id. */
  async createUser(username: string, password: string): Promise<string> {
    const result = await this.cli(["user", "create", username, "--password-stdin"], { stdin: password });
    const created = /created user \S+ \((\S+)\)/.exec(result.stdout);
    if (result.code !== 0 || !created) {
      throw new Error(`user create ${username} failed (${result.code}): ${result.stdout}${result.stderr}`);
    }
    return created[1]!;
  }

  /** `mailledger projections verify [NAME] --json`: the reports, and the exit code (1: a difference). */
  async verify(name?: "index" | "bodies"): Promise<{ code: number | null; reports: VerifyReport[] }> {
    const result = await this.cli(["projections", "verify", ...(name ? [name] : []), "--json"]);
    let reports: VerifyReport[];
    try {
      reports = JSON.parse(result.stdout) as VerifyReport[];
    } catch {
      throw new Error(
        `projections verify printed no report (${result.code}): ${result.stdout}${result.stderr}`,
      );
    }
    return { code: result.code, reports };
  }

  /** Error lines of every process started so far, named. */
  errors(): string[] {
    return [...this.#processes.values()].flatMap((p) => p.errors().map((line) => `${p.name}: ${line}`));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#processes.keys()].map((name) => this.stop(name)));
    await this.db.drop();
    // The run's topic and consumer groups go too: a broker kept across runs keeps no litter.
    const admin = new Kafka({
      brokers: this.kafkaBrokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2_000,
      retry: { retries: 2 },
    }).admin();
    const cleanup = admin
      .connect()
      .then(() => admin.deleteTopics({ topics: [this.topic], timeout: 10_000 }))
      .then(() => admin.deleteGroups([projectionsGroupOf(this.topic), notifierGroupOf(this.topic)]))
      .catch(() => {})
      .finally(() => admin.disconnect());
    await Promise.race([cleanup, new Promise((resolve) => setTimeout(resolve, 20_000).unref())]);
  }
}
