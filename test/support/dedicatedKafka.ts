// A Kafka broker of one test's own, for "Kafka is down" scenarios: the shared broker serves every
// other test and is never stopped. Kafka cannot be proxied (a broker advertises its own address),
// so this broker is stopped for real (SIGTERM, a clean shutdown) and started again on the same data
// directory with the exact command line infra/services.sh gave it: the topic, its offsets and the
// consumer groups survive, as when an operator restarts a broker.
import { spawn } from "node:child_process";
import { mkdtemp, open, readFile, readlink, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "../../src/events/kafka.ts";
import { freePort } from "./processCluster.ts";

const SERVICES_SCRIPT = fileURLToPath(new URL("../../infra/services.sh", import.meta.url));
/** A cold JVM formats, starts and elects itself controller; infra/services.sh allows 90 s too. */
export const BROKER_START_TIMEOUT_MS = 90_000;
const BROKER_STOP_TIMEOUT_MS = 30_000;

export interface DedicatedKafka {
  brokers: string[];
  readonly running: boolean;
  /** SIGTERM, and the exit: the broker is gone, its port refuses connections. */
  stop(): Promise<void>;
  /** The same broker again, on the same data; resolves once it answers a metadata request. */
  start(): Promise<void>;
  close(): Promise<void>;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${output}`)),
    );
  });
}

async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // A zombie has exited; only its parent's wait is missing.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function answers(broker: string): Promise<boolean> {
  const admin = new Kafka({
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export async function startDedicatedKafka(): Promise<DedicatedKafka> {
  const state = await mkdtemp(path.join(os.tmpdir(), "mailledger-e2e-kafka-"));
  const port = await freePort();
  const controllerPort = await freePort();
  const broker = `127.0.0.1:${port}`;
  const dir = path.join(state, `kafka-${port}`);
  await run("bash", [SERVICES_SCRIPT, "up"], {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    MAILLEDGER_SERVICES_STATE: state,
    SERVICES_WAIT_SECONDS: String(BROKER_START_TIMEOUT_MS / 1000),
  });
  let pid = Number((await readFile(path.join(dir, "kafka.pid"), "utf8")).trim());
  // The command line and directory it runs with, to start the same broker again after a stop.
  const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter((arg) => arg !== "");
  const cwd = await readlink(`/proc/${pid}/cwd`);
  let running = true;
  // A test process that dies (a crash, an interrupted run) takes its broker with it.
  process.once("exit", () => {
    if (running) process.kill(pid, "SIGKILL");
  });

  const stop = async () => {
    if (!running) return;
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + BROKER_STOP_TIMEOUT_MS;
    while (await alive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, "SIGKILL");
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    running = false;
  };

  return {
    brokers: [broker],
    get running() {
      return running;
    },
    stop,
    async start() {
      if (running) return;
      const output = await open(path.join(dir, "logs", "stdout.log"), "a");
      try {
        const child = spawn(argv[0]!, argv.slice(1), {
          cwd,
          detached: true,
          stdio: ["ignore", output.fd, output.fd],
        });
        child.unref();
        pid = child.pid!;
      } finally {
        await output.close();
      }
      await writeFile(path.join(dir, "kafka.pid"), `${pid}\n`);
      running = true;
      const deadline = Date.now() + BROKER_START_TIMEOUT_MS;
      while (!(await answers(broker))) {
        if (!(await alive(pid))) throw new Error(`the restarted Kafka broker exited; see ${dir}/logs`);
        if (Date.now() > deadline)
          throw new Error(`the restarted Kafka broker did not answer within ${BROKER_START_TIMEOUT_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    async close() {
      await stop();
      await rm(state, { recursive: true, force: true });
    },
  };
}
