// Starts mailledger for bench/imap.ts the way an operator runs it in the distributed mode: a
// scratch PostgreSQL database, `mailledger migrate` and `mailledger user create` through the CLI,
// then two child processes on PostgreSQL, Kafka and Redis, as a deployment on more than one core
// runs them: the IMAP gateway, and the pipeline (relay, projector, notifier) beside it. With
// --roles all (BENCH_ROLES=all) every role shares one process instead.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ulid } from "ulid";
import { Kafka, logLevel } from "../../src/events/kafka.ts";
import { admin, BENCH_POSTGRES_URL } from "../support.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "bin/mailledger.js");
const NODE_ENTRY = path.join(ROOT, "bench/imap/mailledgerNode.ts");
export const BENCH_KAFKA_BROKERS = process.env.BENCH_KAFKA_BROKERS ?? "127.0.0.1:9092";
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
/** How long the node may take to start listening (Kafka group join included). */
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export interface MailledgerInstance {
  host: string;
  /** The first gateway's port; `ports` has every gateway's. */
  port: number;
  ports: number[];
  databaseUrl: string;
  /** The node processes, by their roles ("gateway", "relay,projector,notifier" or "all"). */
  pids: { roles: string; pid: number }[];
  stop(): Promise<void>;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`mailledger ${args.join(" ")}: ${stderr || error.message}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(stdin ?? "");
  });
}

export async function startMailledger(
  /** One port per gateway process: two ports, two gateway nodes. */
  port: number | readonly number[],
  users: { name: string; password: string }[],
  /** Without the pipeline (relay, projector, notifier): a gateway alone on the database. */
  options: { pipeline?: boolean } = {},
): Promise<MailledgerInstance> {
  const ports = typeof port === "number" ? [port] : [...port];
  const unique = ulid().toLowerCase();
  const database = `mailledger_bench_imap_${unique}`;
  const url = new URL(BENCH_POSTGRES_URL);
  url.pathname = `/${database}`;
  const topic = `mailledger.bench.${unique}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: url.toString(),
    KAFKA_BROKERS: BENCH_KAFKA_BROKERS,
    REDIS_URL: BENCH_REDIS_URL,
    IMAP_HOST: "127.0.0.1",
    IMAP_PORT: String(ports[0]),
    LMTP_PORT: "0",
    ALLOW_INSECURE_AUTH: "true",
    NODE_ID: `bench-${unique}`,
    LOG_LEVEL: "warn",
    BENCH_KAFKA_TOPIC: topic,
    BENCH_KAFKA_GROUP: `projections-bench-${unique}`,
  };
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children.splice(0).reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    const kafka = new Kafka({
      clientId: `bench-${unique}`,
      brokers: [BENCH_KAFKA_BROKERS],
      logLevel: logLevel.NOTHING,
    });
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin
      .connect()
      .then(() => kafkaAdmin.deleteTopics({ topics: [topic], timeout: 10_000 }))
      .catch(() => {})
      .finally(() => kafkaAdmin.disconnect());
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  };
  /** Starts one node process with these roles; resolves with the port its gateway listens on. */
  const launch = (roles: string, imapPort = ports[0]!) => {
    // BENCH_NODE_OPTIONS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": profile the server under load.
    const nodeOptions = (process.env.BENCH_NODE_OPTIONS ?? "").split(" ").filter(Boolean);
    const child = spawn(process.execPath, [...nodeOptions, NODE_ENTRY, roles], {
      env: { ...env, BENCH_ROLE: roles, IMAP_PORT: String(imapPort) },
      stdio: ["pipe", "pipe", "inherit"],
    });
    children.push(child);
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`mailledger (${roles}) did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        const match = /^listening (\d+)$/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`mailledger (${roles}) exited with ${code} before it started`));
      });
    });
  };
  await admin(`CREATE DATABASE ${database}`);
  try {
    await runCli(["migrate"], env);
    for (const user of users)
      await runCli(["user", "create", user.name, "--password-stdin"], env, `${user.password}\n`);
    const split = (process.env.BENCH_ROLES ?? "split") !== "all" || ports.length > 1;
    const listening =
      options.pipeline === false
        ? await Promise.all(ports.map((imapPort) => launch("gateway", imapPort)))
        : split
          ? (
              await Promise.all([
                launch("relay,projector,notifier"),
                ...ports.map((imapPort) => launch("gateway", imapPort)),
              ])
            ).slice(1)
          : [await launch("all")];
    return {
      host: "127.0.0.1",
      port: listening[0]!,
      ports: listening,
      databaseUrl: url.toString(),
      pids: children.map((child) => ({ roles: child.spawnargs.at(-1) ?? "", pid: child.pid! })),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
