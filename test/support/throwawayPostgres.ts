// A PostgreSQL server of a test's own (initdb + pg_ctl in a temporary directory, on a free port),
// for tests that stop and start the database: the shared server on 5432 serves every other test
// and must never go down. Runs as the `postgres` system user when the test runs as root (initdb
// refuses root).
import { execFile } from "node:child_process";
import { chown, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./freePort.ts";

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";
/** pg_ctl's own wait for a start or a stop. */
const PG_CTL_TIMEOUT_S = 60;

export interface ThrowawayPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

async function asPostgres(command: string, args: string[]): Promise<void> {
  const root = process.getuid?.() === 0;
  const [file, argv] = root ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args];
  await run(file, argv, { timeout: PG_CTL_TIMEOUT_S * 1000 + 5000 });
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ml-pg-"));
  if (process.getuid?.() === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = path.join(dir, "data");
  const port = await freePort();
  await asPostgres(path.join(BIN, "initdb"), [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  const pgCtl = (action: "start" | "stop") =>
    asPostgres(path.join(BIN, "pg_ctl"), [
      "-D",
      data,
      "-w",
      "-t",
      String(PG_CTL_TIMEOUT_S),
      ...(action === "start"
        ? [
            "-l",
            path.join(dir, "log"),
            "-o",
            `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
          ]
        : ["-m", "fast"]),
      action,
    ]);
  await pgCtl("start");
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => pgCtl("stop"),
    start: () => pgCtl("start"),
    async destroy() {
      await pgCtl("stop").catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
