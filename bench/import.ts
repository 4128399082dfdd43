// Bulk import: times `mailledger import mbox` of a generated mbox of N messages (default 100,000)
// and Dovecot's `doveadm import` of the same file into a throwaway Maildir, sampling each
// process's resident memory (VmRSS, every 100 ms) while it runs.
//
//   node bench/import.ts [--messages N] [--target distributed|embedded|both] [--no-dovecot]
//                        [--cpu-prof DIR] [--json]
//
// --json: a last line `BENCH_JSON {...}` with the figures, for bench/run.ts.
//
// distributed: a scratch PostgreSQL database (BENCH_DATABASE_URL's server), DATABASE_URL set;
// embedded: PGlite in a temporary DATA_DIR. --cpu-prof DIR runs the mailledger import under
// `node --cpu-prof` and leaves the profile in DIR. Target (issue 13): 100,000 messages in ≤ 60 s
// with RSS under 300 MB.
import { execFileSync, spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { finished } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { sql } from "slonik";
import { z } from "zod";
import { createScratchDatabase, formatRate } from "./support.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(ROOT, "bin/mailledger.js");
const DOVEADM = "/usr/bin/doveadm";
const DOVECOT = "/usr/sbin/dovecot";
const RSS_SAMPLE_MS = 100;
/** The issue's acceptance figures. */
const TARGET_SECONDS = 60;
const TARGET_RSS_MB = 300;

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "100000" },
    target: { type: "string", default: "distributed" },
    "no-dovecot": { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const count = Number(values.messages);
if (!Number.isInteger(count) || count < 1) throw new Error("--messages must be a positive whole number");
const targets = values.target === "both" ? ["distributed", "embedded"] : [values.target!];
for (const target of targets) {
  if (target !== "distributed" && target !== "embedded") {
    throw new Error(`--target is distributed, embedded or both, not ${target}`);
  }
}

const WORDS = "the of and to in is that for it as with was on be by this are or at from but not have".split(
  " ",
);

/** A mailing-list archive: plain messages of 1-6 KB, each distinct (Message-ID, subject, text). */
async function writeMbox(file: string, n: number): Promise<number> {
  const out = createWriteStream(file);
  let octets = 0;
  const start = Date.UTC(2015, 0, 1);
  for (let i = 0; i < n; i++) {
    const date = new Date(start + i * 60_000);
    const words: string[] = [];
    const length = 150 + ((i * 7919) % 800);
    for (let w = 0; w < length; w++) words.push(WORDS[(i + w * 31) % WORDS.length]!);
    const lines: string[] = [];
    for (let w = 0; w < words.length; w += 12) lines.push(words.slice(w, w + 12).join(" "));
    const asctime = date.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, "$1 $3 $2 $5 $4");
    const entry = [
      `From list-${i % 97}@example.org ${asctime}`,
      `From: Poster ${i % 97} <list-${i % 97}@example.org>`,
      "To: list@example.org",
      `Subject: Thread ${Math.floor(i / 5)} message ${i}`,
      `Date: ${date.toUTCString().replace("GMT", "+0000")}`,
      `Message-ID: <bench-${i}@example.org>`,
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=us-ascii",
      "",
      ...lines,
      "",
      "",
    ].join("\n");
    octets += entry.length;
    if (!out.write(entry)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  out.end();
  await finished(out);
  return octets;
}

/** CPU seconds (user + system) a process has used so far (Linux /proc; 100 ticks a second). */
async function cpuOf(pid: number): Promise<number> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).replace(/^.*\) /, "").split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The resident memory of a process and its descendants, in bytes (Linux /proc). */
async function rssOf(pid: number): Promise<number> {
  let total = 0;
  const visit = async (p: number) => {
    try {
      const status = await readFile(`/proc/${p}/status`, "utf8");
      total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      const children = await readFile(`/proc/${p}/task/${p}/children`, "utf8").catch(() => "");
      for (const child of children.split(" ").filter((c) => c !== "")) await visit(Number(child));
    } catch {
      // The process ended between two reads.
    }
  };
  await visit(pid);
  return total;
}

interface Run {
  seconds: number;
  /** CPU seconds of the process itself, as last sampled (within RSS_SAMPLE_MS of its end). */
  cpuSeconds: number;
  /** CPU seconds of the PostgreSQL backends that served it (local server; as last sampled). */
  postgresCpuSeconds?: number;
  peakRss: number;
  stdout: string;
}

/** Runs a command to its end, sampling its RSS; fails when it exits non-zero. */
function measured(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let peakRss = 0;
    let cpuSeconds = Number.NaN;
    let sampling = false;
    const sampler = setInterval(() => {
      if (sampling) return;
      sampling = true;
      void Promise.all([rssOf(child.pid!), cpuOf(child.pid!)]).then(([rss, cpu]) => {
        peakRss = Math.max(peakRss, rss);
        if (!Number.isNaN(cpu)) cpuSeconds = cpu;
        sampling = false;
      });
    }, RSS_SAMPLE_MS);
    child.once("exit", (code) => {
      clearInterval(sampler);
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${stderr}${stdout}`));
      else resolve({ seconds, cpuSeconds, peakRss, stdout });
    });
  });
}

function cli(args: string[], env: NodeJS.ProcessEnv, stdin = ""): void {
  execFileSync(process.execPath, [CLI, ...args], { env, input: stdin, stdio: ["pipe", "ignore", "inherit"] });
}

async function benchMailledger(target: string, mbox: string): Promise<Run> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "ml-import-data-"));
  const database = target === "distributed" ? await createScratchDatabase(2) : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "warn" };
  delete env.KAFKA_BROKERS;
  delete env.REDIS_URL;
  if (database) env.DATABASE_URL = database.url;
  else {
    delete env.DATABASE_URL;
    env.DATA_DIR = dataDir;
  }
  // The PostgreSQL backends serving the import (a local server): their CPU is the other half.
  const backendCpu = new Map<number, number>();
  let watching = true;
  const watcher = (async () => {
    if (!database) return;
    while (watching) {
      const pids = await database.pool.anyFirst(sql.type(z.object({ pid: z.number() }))`
        SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
      for (const pid of pids) {
        const cpu = await cpuOf(pid);
        if (!Number.isNaN(cpu)) backendCpu.set(pid, cpu);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  try {
    cli(["user", "create", "bench", "--password-stdin"], env, "bench password\n");
    const profile = values["cpu-prof"];
    const nodeArgs = profile ? ["--cpu-prof", "--cpu-prof-dir", profile] : [];
    const run = await measured(
      process.execPath,
      [...nodeArgs, CLI, "import", "mbox", "bench", mbox, "--mailbox", "Archive"],
      env,
    );
    watching = false;
    await watcher;
    const postgresCpu = [...backendCpu.values()].reduce((sum, cpu) => sum + cpu, 0);
    return database ? { ...run, postgresCpuSeconds: postgresCpu } : run;
  } finally {
    watching = false;
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** doveadm import of the mbox into a fresh Maildir (Dovecot's own mbox reader and Maildir writer). */
async function benchDovecot(mbox: string, dir: string): Promise<Run> {
  const mail = path.join(dir, "mail");
  await mkdir(mail, { recursive: true });
  execFileSync("chown", ["dovecot:dovecot", mail]);
  const config = path.join(dir, "dovecot.conf");
  await writeFile(
    config,
    `protocols =
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
first_valid_uid = 1
mail_location = maildir:${mail}/%u
mail_fsync = optimized
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${mail}/%u
}
`,
  );
  // doveadm asks the master's auth service for the user: a master with no protocol serving.
  const master = spawn(DOVECOT, ["-F", "-c", config], { stdio: "ignore" });
  try {
    for (let waited = 0; !existsSync(path.join(dir, "run", "auth-userdb")); waited += 50) {
      if (waited > 15_000) throw new Error(`Dovecot did not start; see ${dir}/dovecot.log`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The mbox alone in its directory (the storage's root); its index in memory (the root is root's).
    const source = `mbox:${path.dirname(mbox)}:INBOX=${mbox}:INDEX=MEMORY`;
    const query = ["mailbox", "INBOX"];
    const run = await measured(DOVEADM, [
      "-c",
      config,
      "import",
      "-u",
      "bench",
      "-s",
      source,
      "Archive",
      ...query,
    ]);
    const status = execFileSync(
      DOVEADM,
      ["-c", config, "mailbox", "status", "-u", "bench", "messages", "Archive*"],
      { encoding: "utf8" },
    );
    return { ...run, stdout: status.trim() };
  } finally {
    try {
      execFileSync(DOVECOT, ["-c", config, "stop"], { stdio: "ignore" });
    } catch {
      master.kill("SIGTERM");
    }
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ml-import-bench-"));
  await chmod(dir, 0o755);
  const mbox = path.join(dir, "source", "archive.mbox");
  await mkdir(path.dirname(mbox));
  await chmod(path.dirname(mbox), 0o755);
  try {
    const generated = performance.now();
    const octets = await writeMbox(mbox, count);
    await chmod(mbox, 0o644);
    process.stdout.write(
      `mbox: ${count.toLocaleString("en-US")} messages, ${mb(octets)}, generated in ${((performance.now() - generated) / 1000).toFixed(1)} s\n`,
    );
    const figures: Record<string, { seconds: number; peakRssBytes: number; messagesPerSecond: number }> = {};
    const figure = (run: Run) => ({
      seconds: run.seconds,
      peakRssBytes: run.peakRss,
      messagesPerSecond: count / run.seconds,
    });
    for (const target of targets) {
      const run = await benchMailledger(target, mbox);
      figures[`mailledger ${target}`] = figure(run);
      const verdict =
        run.seconds <= TARGET_SECONDS && run.peakRss < TARGET_RSS_MB * 1024 * 1024 ? "meets" : "misses";
      process.stdout.write(
        `mailledger import mbox (${target}): ${run.seconds.toFixed(1)} s (its CPU ${run.cpuSeconds.toFixed(1)} s${
          run.postgresCpuSeconds === undefined ? "" : `, PostgreSQL's ${run.postgresCpuSeconds.toFixed(1)} s`
        }), ${formatRate(count, run.seconds * 1000)} messages/s, peak RSS ${mb(run.peakRss)} (${verdict} ${TARGET_SECONDS} s / ${TARGET_RSS_MB} MB)\n  ${run.stdout.trim()}\n`,
      );
    }
    if (!values["no-dovecot"]) {
      if (!existsSync(DOVEADM)) {
        process.stdout.write("doveadm: not installed (apt-get install dovecot-core); skipped\n");
      } else {
        const run = await benchDovecot(mbox, dir);
        figures.dovecot = figure(run);
        process.stdout.write(
          `doveadm import (Maildir): ${run.seconds.toFixed(1)} s (its CPU ${run.cpuSeconds.toFixed(1)} s), ${formatRate(count, run.seconds * 1000)} messages/s, peak RSS ${mb(run.peakRss)}\n  ${run.stdout}\n`,
        );
      }
    }
    if (values.json)
      process.stdout.write(`BENCH_JSON ${JSON.stringify({ messages: count, targets: figures })}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
