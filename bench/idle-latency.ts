// IDLE latency across gateway nodes (issue 11): N IDLE sessions spread over the accounts on
// gateway node B, while a client on node A APPENDs to those accounts' INBOX at a steady rate;
// for each APPEND, the time from its tagged OK (the commit) to `* n EXISTS` on every IDLE
// session of that account: p50/p95/p99/max, and how many never came. The path measured is
// commit → relay → Kafka → notifier → Redis → node B's doorbell → the session's read of the
// index → EXISTS. Beside it, the same load on Dovecot (one node: its IDLE hears its own writes).
// Usage: node bench/idle-latency.ts [--sessions 1000] [--accounts 100] [--rate 20] [--seconds 15]
//                                   [--target both|mailledger|dovecot]
// Target (issue 11): p99 < 25 ms.
import net from "node:net";
import { parseArgs } from "node:util";
import { dovecotAvailable, startDovecot } from "./imap/dovecot.ts";
import { startMailledger } from "./imap/mailledger.ts";
import { RawImapClient } from "./imap/rawClient.ts";
import { freePort, percentile } from "./support.ts";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "1000" },
    accounts: { type: "string", default: "100" },
    rate: { type: "string", default: "20" },
    seconds: { type: "string", default: "15" },
    target: { type: "string", default: "both" },
  },
});
const SESSIONS = Number(values.sessions);
const ACCOUNTS = Number(values.accounts);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const target = values.target!;
if (!["both", "mailledger", "dovecot"].includes(target))
  throw new Error("--target is both, mailledger or dovecot");
/** How long an EXISTS may take before it counts as never received. */
const GIVE_UP_MS = 10_000;
/** Sessions logged in at once while setting up (keeps the accept queues short). */
const LOGIN_CONCURRENCY = 50;

const users = Array.from({ length: ACCOUNTS }, (_, i) => ({
  name: `idle${i + 1}`,
  password: `idle-pw-${i + 1}`,
}));

/** One IDLE session: LOGIN, SELECT INBOX, IDLE; reports each `* n EXISTS` it hears. */
class IdleSession {
  readonly user: string;
  #socket!: net.Socket;
  #buffer = "";
  #waiting: ((line: string) => void) | undefined;
  onExists: (count: number) => void = () => {};

  constructor(user: string) {
    this.user = user;
  }

  async start(port: number, password: string): Promise<void> {
    this.#socket = net.connect({ host: "127.0.0.1", port });
    this.#socket.setNoDelay(true);
    this.#socket.setEncoding("latin1");
    this.#socket.on("data", (chunk: string) => this.#data(chunk));
    await this.#until((line) => line.startsWith("* OK"));
    this.#socket.write(`l LOGIN ${this.user} ${password}\r\n`);
    await this.#until((line) => line.startsWith("l "), "l OK");
    this.#socket.write("s SELECT INBOX\r\n");
    await this.#until((line) => line.startsWith("s "), "s OK");
    this.#socket.write("i IDLE\r\n");
    await this.#until((line) => line.startsWith("+"));
  }

  #until(match: (line: string) => boolean, expect?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting = (line) => {
        if (!match(line)) return;
        this.#waiting = undefined;
        if (expect && !line.startsWith(expect)) reject(new Error(`${this.user}: ${line}`));
        else resolve();
      };
    });
  }

  #data(chunk: string) {
    this.#buffer += chunk;
    for (let end = this.#buffer.indexOf("\r\n"); end >= 0; end = this.#buffer.indexOf("\r\n")) {
      const line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const exists = /^\* (\d+) EXISTS$/.exec(line);
      if (exists) this.onExists(Number(exists[1]));
      this.#waiting?.(line);
    }
  }

  close() {
    this.#socket.end("DONE\r\nz LOGOUT\r\n");
    this.#socket.destroy();
  }
}

interface Result {
  latencies: number[];
  missed: number;
  appends: number;
  setupSeconds: number;
}

async function measure(appendPort: number, idlePort: number): Promise<Result> {
  const setupStarted = performance.now();
  const sessions: IdleSession[] = [];
  for (let i = 0; i < SESSIONS; i += LOGIN_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(LOGIN_CONCURRENCY, SESSIONS - i) }, (_, j) => {
      const user = users[(i + j) % ACCOUNTS]!;
      const session = new IdleSession(user.name);
      sessions.push(session);
      return session.start(idlePort, user.password);
    });
    await Promise.all(batch);
  }
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  const byUser = new Map<string, IdleSession[]>();
  for (const session of sessions) byUser.set(session.user, [...(byUser.get(session.user) ?? []), session]);

  // What each account's sessions are waiting for: the EXISTS count, and when its APPEND was OK.
  const expected = new Map<string, { count: number; okAt: number; waiting: Set<IdleSession> }[]>();
  const latencies: number[] = [];
  for (const session of sessions) {
    session.onExists = (count) => {
      for (const pending of expected.get(session.user) ?? []) {
        if (count >= pending.count && pending.waiting.delete(session) && pending.okAt > 0) {
          latencies.push(performance.now() - pending.okAt);
        }
      }
    };
  }
  // One writer session per account on node A, each logged in once; one command at a time on each.
  const writers = new Map<string, RawImapClient>();
  for (const user of users) {
    const writer = await RawImapClient.connect("127.0.0.1", appendPort);
    await writer.expectOk(`LOGIN ${user.name} ${user.password}`);
    writers.set(user.name, writer);
  }
  const chains = new Map<string, Promise<void>>();
  const counts = new Map<string, number>();
  let appends = 0;
  const body = Buffer.from("From: bench@example.org\r\nSubject: idle latency\r\n\r\nring\r\n");
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; performance.now() - started < SECONDS * 1000; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const user = users[i % ACCOUNTS]!;
    const writer = writers.get(user.name)!;
    const count = (counts.get(user.name) ?? 0) + 1;
    counts.set(user.name, count);
    const pending = { count, okAt: 0, waiting: new Set(byUser.get(user.name) ?? []) };
    expected.set(user.name, [...(expected.get(user.name) ?? []), pending]);
    const append = (chains.get(user.name) ?? Promise.resolve()).then(async () => {
      const response = await writer.command("APPEND INBOX", body);
      if (!response.ok) throw new Error(`APPEND: ${response.status}`);
      pending.okAt = performance.now();
      appends += 1;
    });
    chains.set(user.name, append);
    inFlight.push(append);
  }
  await Promise.all(inFlight);
  const deadline = performance.now() + GIVE_UP_MS;
  const outstanding = () => [...expected.values()].flat().reduce((n, p) => n + p.waiting.size, 0);
  while (outstanding() > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const missed = outstanding();
  for (const session of sessions) session.close();
  for (const writer of writers.values()) await writer.close();
  return { latencies: latencies.sort((a, b) => a - b), missed, appends, setupSeconds };
}

function report(name: string, result: Result) {
  const l = result.latencies;
  console.log(
    `${name.padEnd(10)} ${String(result.appends).padStart(7)} ${String(l.length).padStart(9)} ` +
      `${percentile(l, 0.5).toFixed(1).padStart(7)} ${percentile(l, 0.95).toFixed(1).padStart(7)} ` +
      `${percentile(l, 0.99).toFixed(1).padStart(7)} ${(l.at(-1) ?? 0).toFixed(1).padStart(7)} ${String(result.missed).padStart(7)}`,
  );
}

console.log(
  `${SESSIONS} IDLE sessions over ${ACCOUNTS} accounts; APPEND at ${RATE}/s for ${SECONDS} s; ms from the APPEND's OK to EXISTS on each session`,
);
const header = "target      appends  EXISTSes     p50     p95     p99     max  missed";
if (target !== "dovecot") {
  const ports = [await freePort(), await freePort()];
  const mailledger = await startMailledger(ports, users);
  try {
    console.log(
      `mailledger: APPEND on node A (${mailledger.ports[0]}), IDLE on node B (${mailledger.ports[1]})`,
    );
    const result = await measure(mailledger.ports[0]!, mailledger.ports[1]!);
    console.log(header);
    report("mailledger", result);
  } finally {
    await mailledger.stop();
  }
}
if (target !== "mailledger" && dovecotAvailable()) {
  const dovecot = await startDovecot(await freePort(), users);
  try {
    console.log(`dovecot: one node (${dovecot.port})`);
    const result = await measure(dovecot.port, dovecot.port);
    console.log(header);
    report("dovecot", result);
  } finally {
    await dovecot.stop();
  }
}
console.log("(target: mailledger p99 < 25 ms)");
process.exit(0);
