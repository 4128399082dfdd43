// How heavy mailledger is to start and to call: prints
//   - cold start to listening: the gateway role against a running (migrated) PostgreSQL, and the
//     embedded mode on a fresh DATA_DIR (first start: the database made and migrated) and again
//     on the same DATA_DIR;
//   - one CLI call (`user list`): beside a running embedded server (it joins the server's socket),
//     with no server running (it opens PGlite itself), and against PostgreSQL (DATABASE_URL);
//   - resident memory at idle: the embedded server and the gateway role, a few seconds after start.
//
//   node bench/startup.ts [--runs N] [--json]   (N runs per CLI figure; median and range printed;
//                                                --json: a last line `BENCH_JSON {...}`, for bench/run.ts)
//
// Each figure is a new operating-system process, as an operator's shell makes it. Node's compile
// cache (src/main.ts) is warmed by a first call that is not counted.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ulid } from "ulid";
import { createScratchDatabase, freePort } from "./support.ts";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const KAFKA_BROKERS = process.env.BENCH_KAFKA_BROKERS ?? "127.0.0.1:9092";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
/** How long a started server sits before its RSS is read: timers, pools and caches settle. */
const SETTLE_MS = 5_000;
const START_TIMEOUT_MS = 120_000;

const { values } = parseArgs({
  options: { runs: { type: "string", default: "5" }, json: { type: "boolean", default: false } },
});
/** Every figure printed, by its label: the values measured (ms, or MiB for an RSS). */
const recorded: Record<string, number[]> = {};
const record = (label: string, ...list: number[]) => {
  recorded[label] = list;
};
const runs = Number(values.runs);

const baseEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "warn" };

interface Started {
  child: ChildProcess;
  ms: number;
}

/** Spawns `serve` and resolves when its IMAP port accepts a connection (the log says so). */
async function startServer(env: Record<string, string>, args: string[] = []): Promise<Started> {
  const started = performance.now();
  const child = spawn(process.execPath, [MAIN, "serve", ...args], {
    env: { ...baseEnv, ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no start within ${START_TIMEOUT_MS} ms:\n${log}`)),
      START_TIMEOUT_MS,
    );
    child.stderr!.on("data", (chunk) => {
      log += chunk;
      if (log.includes("IMAP listening on")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`serve exited (${code}) before listening:\n${log}`)));
  });
  return { child, ms: performance.now() - started };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** One CLI call's wall time in ms (spawn to exit). */
async function cliCall(env: Record<string, string>, args: string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...baseEnv, ...env }, stdio: "ignore" });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`mailledger ${args.join(" ")} exited ${code}`);
  return performance.now() - started;
}

async function cliFigure(label: string, env: Record<string, string>, args: string[]): Promise<void> {
  await cliCall(env, args); // warms the compile cache; not counted
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await cliCall(env, args));
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  record(label, ...times);
  console.log(
    `${label.padEnd(58)} ${(median / 1000).toFixed(2)} s  (${(times[0]! / 1000).toFixed(2)}–${(times.at(-1)! / 1000).toFixed(2)} s, ${runs} runs)`,
  );
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

console.log(
  `mailledger startup and weight (Node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)})`,
);

// ---- embedded --------------------------------------------------------------------------------
const dataDir = await mkdtemp(path.join(os.tmpdir(), "ml-startup-"));
try {
  const embeddedEnv = { DATA_DIR: dataDir, IMAP_PORT: String(await freePort()) };
  const first = await startServer(embeddedEnv);
  console.log(`${"embedded, fresh DATA_DIR: start to listening".padEnd(58)} ${seconds(first.ms)}`);
  record("embedded, fresh DATA_DIR: start to listening", first.ms);
  await stop(first.child);
  const again = await startServer(embeddedEnv);
  console.log(`${"embedded, same DATA_DIR: start to listening".padEnd(58)} ${seconds(again.ms)}`);
  record("embedded, same DATA_DIR: start to listening", again.ms);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const embeddedRss = await rssMiB(again.child.pid!);
  console.log(`${"embedded server: idle RSS".padEnd(58)} ${embeddedRss.toFixed(0)} MiB`);
  record("embedded server: idle RSS", embeddedRss);
  await cliFigure("CLI `user list`, embedded server running", embeddedEnv, ["user", "list"]);
  await stop(again.child);
  await cliFigure("CLI `user list`, embedded, no server running", embeddedEnv, ["user", "list"]);
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

// ---- distributed: the gateway role against a running PostgreSQL -------------------------------
const db = await createScratchDatabase(2);
try {
  const gatewayEnv = {
    DATABASE_URL: db.url,
    KAFKA_BROKERS,
    REDIS_URL,
    REDIS_PREFIX: `mailledger:bench:${ulid().toLowerCase()}`,
    IMAP_PORT: String(await freePort()),
  };
  const gateway = await startServer(gatewayEnv, ["--role", "gateway"]);
  console.log(`${"gateway role (PostgreSQL running): start to listening".padEnd(58)} ${seconds(gateway.ms)}`);
  record("gateway role (PostgreSQL running): start to listening", gateway.ms);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const gatewayRss = await rssMiB(gateway.child.pid!);
  console.log(`${"gateway role: idle RSS".padEnd(58)} ${gatewayRss.toFixed(0)} MiB`);
  record("gateway role: idle RSS", gatewayRss);
  await cliFigure("CLI `user list`, DATABASE_URL (PostgreSQL)", gatewayEnv, ["user", "list"]);
  await stop(gateway.child);
} finally {
  await db.drop();
}
if (values.json) console.log(`BENCH_JSON ${JSON.stringify({ runs, figures: recorded })}`);
