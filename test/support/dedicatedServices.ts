// A PostgreSQL server and a Redis server of one run's own, for scenarios that stop them for real
// (the shared ones serve every other test and are never stopped). PostgreSQL is a throwaway
// cluster made by initdb in a temporary directory, run as the postgres user (it refuses root),
// stopped with `pg_ctl stop -m fast` and started again on the same data; Redis is a redis-server
// child process on its own port, stopped with SHUTDOWN NOSAVE. Both listen on 127.0.0.1 only.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, chown, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./freePort.ts";

const run = promisify(execFile);
const START_TIMEOUT_MS = 60_000;

export interface DedicatedService {
  /** postgres://… or redis://… of this server. */
  readonly url: string;
  readonly running: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not answer within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function postgresBin(name: string): string {
  return path.join(process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin", name);
}

/** As the postgres user when running as root (initdb and postgres refuse root). */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
}

export async function startDedicatedPostgres(): Promise<DedicatedService> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ml-pg-"));
  await chmod(dir, 0o755);
  const data = path.join(dir, "data");
  const port = await freePort();
  if (process.getuid?.() === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const [initdb, initArgs] = asPostgres(postgresBin("initdb"), [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "--no-sync",
    "-E",
    "UTF8",
  ]);
  await run(initdb, initArgs);
  let running = false;
  const pgCtl = async (...args: string[]) => {
    const [command, argv] = asPostgres(postgresBin("pg_ctl"), ["-D", data, ...args]);
    await run(command, argv);
  };
  const isReady = async () =>
    run(postgresBin("pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(port)]).then(
      () => true,
      () => false,
    );
  const service: DedicatedService = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    get running() {
      return running;
    },
    async start() {
      await pgCtl(
        "-l",
        path.join(dir, "postgres.log"),
        "-o",
        `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=200 -c fsync=off`,
        "-w",
        "start",
      );
      await waitFor("PostgreSQL", isReady);
      running = true;
    },
    async stop() {
      await pgCtl("-m", "fast", "-w", "stop");
      running = false;
    },
    async close() {
      if (running) await service.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
  await service.start();
  return service;
}

export async function startDedicatedRedis(): Promise<DedicatedService> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const answers = async () =>
    run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "ping"]).then(
      ({ stdout }) => stdout.trim() === "PONG",
      () => false,
    );
  const service: DedicatedService = {
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined;
    },
    async start() {
      child = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        { stdio: "ignore" },
      );
      await waitFor("Redis", answers);
    },
    async stop() {
      const stopping = child;
      if (!stopping) return;
      const exited = new Promise((resolve) => stopping.once("exit", resolve));
      await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "shutdown", "nosave"]).catch(() => {});
      await exited;
      child = undefined;
    },
    async close() {
      await service.stop();
    },
  };
  await service.start();
  return service;
}
