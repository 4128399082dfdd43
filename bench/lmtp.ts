// LMTP delivery: deliveries per second and latency (MAIL FROM to the final reply after DATA) of
// 10 KiB messages, one recipient each, from 4 concurrent LMTP clients, against mailledger
// (`serve --role lmtp`, distributed mode on a scratch PostgreSQL database, in a process of its own)
// and, in the same run, Dovecot's LMTP (dovecot-lmtpd, Maildir, a throwaway instance on its own
// port). Each client keeps one connection and pipelines MAIL, RCPT and DATA as Postfix does.
//
//   node bench/lmtp.ts [--seconds 10] [--clients 4] [--size 10240] [--users 20] [--only mailledger|dovecot]
//                      [--json]   (a last line `BENCH_JSON {...}` for bench/run.ts)
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ulid } from "ulid";
import { createUser } from "../src/commands/user/handlers.ts";
import { createPostgresBlobStore } from "../src/events/blobs/postgresBlobStore.ts";
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from "../test/support/services.ts";
import { createScratchDatabase, formatRate, freePort, percentile, waitForPort } from "./support.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    clients: { type: "string", default: "4" },
    size: { type: "string", default: "10240" },
    users: { type: "string", default: "20" },
    only: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const SECONDS = Number(values.seconds);
const CLIENTS = Number(values.clients);
const SIZE = Number(values.size);
const USERS = Number(values.users);
const WARMUP_MS = 1_000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const LINE = `${"x".repeat(74)}\r\n`;
const BODY = Buffer.from(LINE.repeat(Math.ceil(SIZE / LINE.length)));

/**
 * Message `n`: SIZE octets of CRLF lines, with a Message-ID of its own, so no delivery is a retry
 * of another (mailledger would recognise it and store nothing).
 */
function message(n: number): Buffer {
  const head = Buffer.from(
    `From: Bench <bench@example.net>\r\nTo: user@example.org\r\nSubject: LMTP bench ${n}\r\nMessage-ID: <${n}.${ulid()}@bench.example>\r\n\r\n`,
  );
  return Buffer.concat([head, BODY.subarray(BODY.length - (SIZE - head.length))]);
}

/** One LMTP connection that reads replies line by line. */
class LmtpClient {
  private buffer = "";
  private waiters: ((line: string) => void)[] = [];
  private lines: string[] = [];
  private readonly socket: net.Socket;
  /** The server announced SIZE (RFC 1870) in its LHLO reply: MAIL FROM then declares it. */
  sizeAnnounced = false;
  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk) => {
      this.buffer += chunk.toString("latin1");
      for (let at = this.buffer.indexOf("\r\n"); at !== -1; at = this.buffer.indexOf("\r\n")) {
        const line = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + 2);
        const waiter = this.waiters.shift();
        if (waiter) waiter(line);
        else this.lines.push(line);
      }
    });
  }

  static async connect(port: number): Promise<LmtpClient> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const client = new LmtpClient(socket);
    await client.reply(220);
    socket.write("LHLO bench.example\r\n");
    client.sizeAnnounced = (await client.reply(250)).some((line) => /^250[- ]SIZE\b/.test(line));
    return client;
  }

  private line(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Reads one (possibly multi-line) reply and checks its code; its lines. */
  async reply(code: number): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line();
      lines.push(line);
      if (line[3] === "-") continue;
      if (!line.startsWith(String(code))) throw new Error(`expected ${code}, got: ${line}`);
      return lines;
    }
  }

  async deliver(rcpt: string, body: Buffer): Promise<void> {
    const size = this.sizeAnnounced ? ` SIZE=${body.length}` : "";
    this.socket.write(`MAIL FROM:<bench@example.net>${size}\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
    await this.reply(250);
    await this.reply(250);
    await this.reply(354);
    this.socket.write(body);
    this.socket.write(".\r\n");
    const [reply] = await this.reply(250);
    // Every delivery of the bench is a new message: one taken for a retry would flatter the figure.
    if (reply!.includes("already delivered"))
      throw new Error(`a bench message was taken for a retry: ${reply}`);
  }

  close(): void {
    this.socket.end("QUIT\r\n");
  }
}

interface Result {
  deliveries: number;
  ms: number;
  latencies: number[];
}

async function load(port: number, users: string[]): Promise<Result> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => LmtpClient.connect(port)));
  let stopAt = Date.now() + WARMUP_MS;
  let measuring = false;
  const latencies: number[] = [];
  let n = 0;
  const worker = async (client: LmtpClient) => {
    while (Date.now() < stopAt) {
      const i = n++;
      const started = performance.now();
      await client.deliver(`${users[i % users.length]}@example.org`, message(i));
      if (measuring) latencies.push(performance.now() - started);
    }
  };
  await Promise.all(clients.map(worker));
  measuring = true;
  stopAt = Date.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(clients.map(worker));
  const ms = performance.now() - started;
  for (const client of clients) client.close();
  return { deliveries: latencies.length, ms, latencies: latencies.sort((a, b) => a - b) };
}

function report(name: string, result: Result): string {
  const { deliveries, ms, latencies } = result;
  return `${name.padEnd(11)} ${formatRate(deliveries, ms).padStart(8)} deliveries/s   p50 ${percentile(latencies, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(latencies, 99).toFixed(2).padStart(7)} ms   (${deliveries} in ${(ms / 1000).toFixed(1)} s)`;
}

async function benchMailledger(users: string[]): Promise<Result> {
  const db = await createScratchDatabase(4);
  const ctx = {
    pool: db.pool,
    blobStore: createPostgresBlobStore(db.pool),
    metadata: { actor: "bench" },
    now: () => new Date(),
  };
  for (const username of users) await createUser(ctx, { username, password: "bench" });
  const port = await freePort();
  const unique = ulid().toLowerCase();
  let output = "";
  const child = spawn(process.execPath, [path.join(root, "src/main.ts"), "serve", "--role", "lmtp"], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: db.url,
      KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(","),
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: `mailledger-bench-${unique}`,
      KAFKA_TOPIC: `mailledger.bench.${unique}`,
      LMTP_PORT: String(port),
      LOG_LEVEL: "warn",
      // e.g. BENCH_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server.
      ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  try {
    await waitForPort(port, { timeoutMs: 30_000, what: "mailledger", output: () => output });
    return await load(port, users);
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    await db.drop();
  }
}

async function benchDovecot(users: string[]): Promise<Result> {
  const DOVECOT = "/usr/sbin/dovecot";
  if (!existsSync(DOVECOT) || !existsSync("/usr/lib/dovecot/lmtp")) {
    throw new Error(
      "Dovecot's LMTP is not installed: apt-get install dovecot-lmtpd (the bench compares against it)",
    );
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "ml-dovecot-lmtp-"));
  await chmod(dir, 0o755);
  const mail = path.join(dir, "mail");
  await mkdir(mail);
  execFileSync("chown", ["dovecot:dovecot", mail]);
  const port = await freePort();
  const configPath = path.join(dir, "dovecot.conf");
  await writeFile(
    configPath,
    `protocols = lmtp
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
first_valid_uid = 1
mail_location = maildir:${mail}/%n
mail_fsync = optimized
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${mail}/%n allow_all_users=yes
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${port}
  }
  process_min_avail = ${CLIENTS}
}
protocol lmtp {
  postmaster_address = postmaster@example.org
}
`,
  );
  const child = spawn(DOVECOT, ["-F", "-c", configPath], { stdio: "ignore" });
  try {
    await waitForPort(port, { timeoutMs: 15_000, what: "Dovecot", output: () => `see ${dir}/dovecot.log` });
    return await load(port, users);
  } finally {
    try {
      execFileSync(DOVECOT, ["-c", configPath, "stop"], { stdio: "ignore" });
    } catch {
      child.kill("SIGTERM");
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
}

const users = Array.from({ length: USERS }, (_, i) => `user${i}`);
console.log(
  `LMTP delivery: ${CLIENTS} clients, ${SIZE}-octet messages, 1 recipient each (${USERS} users), ${SECONDS} s after ${WARMUP_MS / 1000} s warm-up; ${os.cpus().length} CPUs`,
);
const results: Record<string, { deliveriesPerSecond: number; p50Ms: number; p99Ms: number }> = {};
for (const [name, bench] of [
  ["mailledger", benchMailledger],
  ["dovecot", benchDovecot],
] as const) {
  if (values.only !== undefined && values.only !== name) continue;
  const result = await bench(users);
  console.log(report(name, result));
  results[name] = {
    deliveriesPerSecond: (result.deliveries / result.ms) * 1000,
    p50Ms: percentile(result.latencies, 50),
    p99Ms: percentile(result.latencies, 99),
  };
}
if (values.json)
  console.log(`BENCH_JSON ${JSON.stringify({ clients: CLIENTS, size: SIZE, targets: results })}`);
