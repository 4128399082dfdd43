// `npm run fuzz -- [--minutes N] [--mode both|embedded|distributed] [--clients N] [--seed S]`
// (both: half the minutes in each mode, embedded first)
//
// Drives a live server, with its real storage, by mutated command streams: real commands of every
// kind on a mailbox with messages (FETCH, STORE, SEARCH, SORT, THREAD, APPEND with literals, COPY,
// MOVE, EXPUNGE, LIST, STATUS, CREATE/RENAME/DELETE, IDLE, ENABLE, NOTIFY, ...), each sent as is
// or mutated (bytes inserted, deleted, replaced, duplicated), pipelined in bursts of up to ten,
// with connections dropped at random points. Every byte the server sends is read by a strict
// response parser (src/imap-gateway/testing/responseParser.ts). It reports the commands sent,
// the tagged answers, the protocol errors (responses that break the grammar, with the command
// that caused them), answers of NO [SERVERBUG], whether the server process died, and its peak RSS.
// Exit 1 on a crash, a protocol error or a server bug.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseResponses, ResponseSyntaxError } from "../../src/imap-gateway/testing/responseParser.ts";
import { freePort } from "../support/freePort.ts";
import { ProcessCluster } from "../support/processCluster.ts";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
const PASSWORD = "fuzz-password";
const IMAP_LISTENING = /"message":"IMAP listening on [^"]*:(\d+)/;

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "1" },
    mode: { type: "string", default: "both" },
    clients: { type: "string", default: "8" },
    seed: { type: "string" },
  },
});
const minutes = Number(values.minutes);
const clients = Number.parseInt(values.clients, 10);
let seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);

/** A small, seedable generator (mulberry32), so a run can be repeated. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (max: number) => Math.floor(random() * max);

const MESSAGE = (n: number) =>
  `From: Fuzz <fuzz@example.org>\r\nTo: a@example.org\r\nSubject: fuzz ${n} =?UTF-8?B?w6k=?=\r\n` +
  `Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <${n}@fuzz>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n` +
  `--b\r\nContent-Type: text/plain\r\n\r\nhello ${n}\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n--b--\r\n`;

const set = () => pick(["1", "1:*", "*", "2:4", "1,3,5:7", "$", `${int(40)}`, `${int(9)}:${int(40)}`]);
const COMMANDS: (() => string)[] = [
  () => "NOOP",
  () => "CHECK",
  () => "CAPABILITY",
  () => `FETCH ${set()} (FLAGS UID RFC822.SIZE INTERNALDATE)`,
  () => `UID FETCH ${set()} (ENVELOPE BODYSTRUCTURE)`,
  () => `FETCH ${set()} (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY.PEEK[1]<0.10>)`,
  () => `FETCH ${set()} (BINARY.PEEK[2] BINARY.SIZE[2] EMAILID MODSEQ)`,
  () => `FETCH ${set()} BODY[]`,
  () =>
    `STORE ${set()} ${pick(["+", "-", ""])}FLAGS${pick(["", ".SILENT"])} (${pick(["\\Seen", "\\Flagged", "$Work", "\\Deleted", "k1 k2"])})`,
  () => `UID STORE ${set()} +FLAGS (\\Answered) (UNCHANGEDSINCE ${int(50)})`,
  () =>
    `SEARCH ${pick(["ALL", "UNSEEN", "FROM fuzz", "SUBJECT caf", "TEXT hello", "OR SEEN FLAGGED", "SINCE 1-Jan-2020", "LARGER 10", "NOT DELETED", "MODSEQ 3"])}`,
  () =>
    `UID SEARCH RETURN (${pick(["MIN MAX COUNT", "ALL", "SAVE", "PARTIAL 1:10"])}) ${pick(["ALL", "UNSEEN", "BODY hello"])}`,
  () => `SORT (${pick(["DATE", "REVERSE ARRIVAL", "SUBJECT FROM", "SIZE", "DISPLAYFROM"])}) UTF-8 ALL`,
  () => `THREAD ${pick(["REFERENCES", "ORDEREDSUBJECT"])} UTF-8 ALL`,
  () =>
    ((message) =>
      `APPEND ${pick(["INBOX", "Fuzz", "Nope"])} (${pick(["", "\\Seen", "$x"])}) {${message.length}+}\r\n${message}`)(
      MESSAGE(int(1000)),
    ),
  () => `COPY ${set()} ${pick(["Fuzz", "INBOX", "Nope"])}`,
  () => `UID MOVE ${set()} Fuzz`,
  () => "EXPUNGE",
  () => `UID EXPUNGE ${set()}`,
  () => `LIST "" ${pick(['"*"', '"%"', "Fuzz*", '"INBOX/*"'])}`,
  () => `LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN STATUS (MESSAGES UNSEEN))`,
  () => `STATUS ${pick(["INBOX", "Fuzz", "Nope"])} (MESSAGES UIDNEXT UNSEEN HIGHESTMODSEQ SIZE)`,
  () => `CREATE ${pick(["Fuzz", "Fuzz/Sub", "Tmp", "&AOk-t&AOk-"])}`,
  () => `RENAME ${pick(["Tmp", "Fuzz/Sub"])} ${pick(["Tmp2", "Fuzz/Sub2"])}`,
  () => `DELETE ${pick(["Tmp", "Tmp2", "Fuzz/Sub2"])}`,
  () => `SUBSCRIBE ${pick(["Fuzz", "Tmp"])}`,
  () => `SELECT ${pick(["INBOX", "Fuzz"])}${pick(["", " (CONDSTORE)", " (QRESYNC (1 1))"])}`,
  () => "EXAMINE INBOX",
  () => "UNSELECT",
  () => `ENABLE ${pick(["CONDSTORE", "QRESYNC", "UTF8=ACCEPT"])}`,
  () => "NAMESPACE",
  () => "GETQUOTAROOT INBOX",
  () => `ID ("name" "fuzz")`,
  () => `NOTIFY SET (SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (PERSONAL (MessageNew))`,
  () => "NOTIFY NONE",
  () => "IDLE",
];

type Mutation = (bytes: number[]) => void;
const MUTATIONS: Mutation[] = [
  (b) =>
    b.splice(
      int(b.length + 1),
      0,
      pick([0x0d, 0x0a, 0x7b, 0x7d, 0x28, 0x29, 0x22, 0x5c, 0x2a, 0x20, 0x00, 0xff, int(256)]),
    ),
  (b) => b.splice(int(b.length), 1),
  (b) => {
    b[int(b.length)] = int(256);
  },
  (b) => {
    const at = int(b.length);
    b.splice(at, 0, ...b.slice(at, at + 1 + int(30)));
  },
];

function commandBytes(tag: string): { text: string; bytes: Buffer; mutated: boolean } {
  const text = `${tag} ${pick(COMMANDS)()}`;
  if (random() < 0.9) return { text, bytes: Buffer.from(`${text}\r\n`, "utf8"), mutated: false };
  const bytes = [...Buffer.from(text, "utf8")];
  for (let i = 0, n = 1 + int(4); i < n; i++) MUTATIONS[int(MUTATIONS.length)]!(bytes);
  return {
    text: Buffer.from(bytes).toString("latin1"),
    bytes: Buffer.concat([Buffer.from(bytes), Buffer.from("\r\n")]),
    mutated: true,
  };
}

interface Totals {
  commands: number;
  tagged: number;
  responses: number;
  connections: number;
  drops: number;
  /** Plain bursts (no mutation, no IDLE) left unanswered, the server silent for HANG_MS: hangs. */
  unanswered: string[];
  /** NOOPs sent after a burst with a mutated command or an IDLE, to find the connection's state. */
  syncs: number;
  /** The most messages a selected mailbox had (an EXISTS). */
  largest: number;
  /** Connections given up when even that NOOP stayed unanswered (an open literal). */
  abandoned: number;
  protocolErrors: string[];
  serverBugs: string[];
}

/** Counts of one mode's run, all zero. */
function freshTotals(): Totals {
  return {
    commands: 0,
    tagged: 0,
    responses: 0,
    connections: 0,
    drops: 0,
    syncs: 0,
    unanswered: [],
    largest: 0,
    abandoned: 0,
    protocolErrors: [],
    serverBugs: [],
  };
}

const totals: Totals = freshTotals();

/** Silence after a burst of plain commands that counts as a hang (a loaded machine is slow, not stuck). */
const HANG_MS = 90_000;

/** Gaps (ms) between a command's send or the previous byte and its tagged answer, recent ones. */
const gaps: number[] = [];
let gapAt = 0;
/**
 * How long a silent server means a burst will not be answered (a mutated tag, an open literal, an
 * IDLE): four times the 99th percentile of recent answer gaps, within 25 ms .. 1.5 s. Adaptive, so
 * a loaded machine waits longer and an idle one does not wait on a fixed timer.
 */
function quietWindow(): number {
  if (gaps.length < 50) return 500;
  const sorted = [...gaps].sort((a, b) => a - b);
  return Math.min(1_500, Math.max(25, 4 * sorted[Math.floor(sorted.length * 0.99)]!));
}

/** One connection's life: login, select, bursts of commands, until a drop or a stall. */
async function session(port: number, deadline: number): Promise<void> {
  const socket = net.connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  totals.connections++;
  let buffer: Buffer = Buffer.alloc(0);
  const tagged = new Set<string>();
  let check: (() => void) | undefined;
  let lastActivity = Date.now();
  let failed = false;
  const sent: string[] = [];
  let exists = 0;
  const parse = () => {
    const now = Date.now();
    try {
      const { responses, consumed } = parseResponses(buffer);
      buffer = buffer.subarray(consumed);
      for (const response of responses) {
        totals.responses++;
        if (response.kind === "tagged" && response.tag !== undefined) {
          tagged.add(response.tag);
          totals.tagged++;
          gaps[gapAt++ % 500] = now - lastActivity;
        }
        if (response.word === "EXISTS") {
          exists = Number(response.text.split(" ")[1]);
          totals.largest = Math.max(totals.largest, exists);
        }
        if (response.text.includes("[SERVERBUG]"))
          totals.serverBugs.push(`${response.text.trim()} after ${sent.at(-1)}`);
        if (response.kind === "continuation" && random() < 0.9) socket.write("DONE\r\n");
      }
    } catch (error) {
      if (!(error instanceof ResponseSyntaxError)) throw error;
      failed = true;
      totals.protocolErrors.push(
        `${error.message}\n    after: ${sent
          .slice(-3)
          .map((s) => JSON.stringify(s.slice(0, 200)))
          .join(" | ")}`,
      );
      socket.destroy();
    }
  };
  socket.on("data", (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    // Every response ends with CRLF: a buffer that does not cannot end at a response's end, so a
    // large FETCH arriving in many chunks is parsed once, not once per chunk. (A wait that times
    // out parses what is there, so nothing stays unread.)
    if (buffer.length >= 2 && buffer[buffer.length - 2] === 0x0d && buffer[buffer.length - 1] === 0x0a)
      parse();
    lastActivity = Date.now();
    check?.();
  });
  const closed = new Promise<void>((resolve) => {
    socket.once("close", () => {
      check?.();
      resolve();
    });
    socket.once("error", () => {});
  });
  /**
   * Until `done()`, the socket closes, or the server has been silent for `quiet` ms (each byte
   * received restarts the window; 10 s, or `quiet` if longer, at most in all). Woken by the data itself, not by polling.
   */
  const waitFor = (done: () => boolean, quiet: number) =>
    new Promise<boolean>((resolve) => {
      if (done() || socket.destroyed) return resolve(done());
      let timer: NodeJS.Timeout | undefined;
      const cap = Date.now() + Math.max(10_000, quiet);
      const finish = () => {
        clearTimeout(timer);
        if (buffer.length > 0 && !socket.destroyed) parse();
        check = undefined;
        resolve(done());
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(finish, Math.min(quiet, Math.max(0, cap - Date.now())));
      };
      check = () => (done() || socket.destroyed ? finish() : arm());
      arm();
    });
  const write = (text: string | Buffer) => {
    lastActivity = Date.now();
    socket.write(text);
  };
  // Log in and keep both mailboxes under 150 messages (COPY 1:* doubles one), so that the run
  // measures commands rather than ever larger FETCH 1:* and SORT answers.
  for (const [tag, line] of [
    ["L", `LOGIN fuzz "${PASSWORD}"`],
    ["F", "SELECT Fuzz"],
    ["S", "SELECT INBOX"],
  ] as const) {
    sent.push(line);
    write(`${tag} ${line}\r\n`);
    await waitFor(() => tagged.has(tag), 10_000);
    if (tag !== "L" && exists > 150) {
      sent.push("STORE 101:* +FLAGS.SILENT (\\Deleted)", "EXPUNGE");
      write(`${tag}1 STORE 101:* +FLAGS.SILENT (\\Deleted)\r\n${tag}2 EXPUNGE\r\n`);
      await waitFor(() => tagged.has(`${tag}2`), 10_000);
    }
  }
  let n = 0;
  while (!socket.destroyed && !failed && Date.now() < deadline) {
    tagged.clear();
    if (exists > 200) {
      // Housekeeping, not fuzz: trim the selected mailbox back to 100 messages.
      const tag = `h${++n}`;
      sent.push("STORE 101:* +FLAGS.SILENT (\\Deleted) / EXPUNGE");
      write(`DONE\r\n${tag}a STORE 101:* +FLAGS.SILENT (\\Deleted)\r\n${tag} EXPUNGE\r\n`);
      exists = 0;
      if (!(await waitFor(() => tagged.has(tag), 5_000))) break;
    }
    const burst = 1 + int(10);
    const tags: string[] = [];
    const bytes: Buffer[] = [];
    let uncertain = false;
    for (let i = 0; i < burst; i++) {
      const tag = `t${++n}`;
      const command = commandBytes(tag);
      sent.push(command.text);
      tags.push(tag);
      bytes.push(command.bytes);
      uncertain ||= command.mutated || command.text.endsWith(" IDLE");
    }
    // A burst with a mutated command or an IDLE may not answer every tag (a mutated tag is
    // answered under another, a line after IDLE ends it, an IDLE may stay open, a literal may open):
    // it ends with DONE and a NOOP under a fresh tag, whose answer says the burst is through
    // (answers come in order), so no timer decides. Only an open literal leaves the NOOP
    // unanswered; the connection is then given up after a quiet window.
    const sync = `s${++n}`;
    if (uncertain) {
      bytes.push(Buffer.from(`DONE\r\n${sync} NOOP\r\n`));
      sent.push(`DONE / ${sync} NOOP`);
      totals.syncs++;
    }
    write(Buffer.concat(bytes));
    totals.commands += burst;
    if (random() < 0.02) {
      // A drop mid-stream: part of a command, then gone.
      socket.write(`x${n} APPEND INBOX {500}\r\npartial`);
      totals.drops++;
      socket.destroy();
      break;
    }
    if (uncertain) {
      if (!(await waitFor(() => tagged.has(sync), Math.max(300, 3 * quietWindow())))) {
        totals.abandoned++;
        socket.destroy();
      }
    } else if (!(await waitFor(() => tags.every((tag) => tagged.has(tag)), HANG_MS))) {
      // Plain commands unanswered, the server silent for longer than any statement may run
      // (PG_STATEMENT_TIMEOUT_MS's default 60 s): a hang, reported.
      totals.unanswered.push(
        tags
          .filter((tag) => !tagged.has(tag))
          .map((tag) => sent[sent.length - burst + tags.indexOf(tag)]!)
          .join(" | "),
      );
      socket.destroy();
    }
  }
  socket.destroy();
  await closed;
}

async function peakRss(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmHWM:\s+(\d+) kB/.exec(text)?.[1] ?? 0) * 1024;
}

async function startEmbedded(): Promise<{
  port: number;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "ml-fuzz-"));
  const port = await freePort();
  const env = {
    ...process.env,
    DATA_DIR: dataDir,
    IMAP_PORT: String(port),
    IMAP_HOST: "127.0.0.1",
    ALLOW_INSECURE_AUTH: "true",
    LMTP_PORT: "0",
  };
  const child = spawn(process.execPath, [MAIN, "serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let log = "";
    const onData = (chunk: Buffer) => {
      log += chunk;
      if (IMAP_LISTENING.test(log)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`embedded server exited ${code}: ${log.slice(-2000)}`)));
  });
  const create = spawn(process.execPath, [MAIN, "user", "create", "fuzz", "--password-stdin"], {
    env,
    stdio: ["pipe", "inherit", "inherit"],
  });
  create.stdin!.end(PASSWORD);
  await new Promise((resolve) => create.once("exit", resolve));
  return {
    port,
    pid: child.pid!,
    child,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function startDistributed() {
  const cluster = await ProcessCluster.create();
  await cluster.start("gateway", ["gateway"]);
  await cluster.startPipeline();
  await cluster.createUser("fuzz", PASSWORD);
  const gateway = cluster.process("gateway");
  return {
    port: cluster.imapPort("gateway"),
    pid: gateway.pid,
    child: gateway.child,
    /** The gateway's logged errors (the stack behind a NO [SERVERBUG]), the last ones kept. */
    errors: () => gateway.errors(),
    stop: () => cluster.close(),
  };
}

/** One mode's run: a fresh server, a mailbox with messages, `clients` fuzz clients until time is up. */
async function run(mode: string, runMinutes: number): Promise<boolean> {
  Object.assign(totals, freshTotals());
  console.log(`live fuzz: ${mode} mode, ${clients} clients, ${runMinutes} min, seed ${startedSeed}`);
  const server = mode === "embedded" ? await startEmbedded() : await startDistributed();
  if (process.env.FUZZ_DEBUG) console.log(`server on ${server.port}`);
  let crashed = "";
  let stopping = false;
  server.child.once("exit", (code, signal) => {
    if (!stopping) crashed = `the server exited (${code ?? signal})`;
  });
  // A mailbox with messages to work on.
  {
    const socket = net.connect(server.port, "127.0.0.1");
    socket.resume(); // the answers are not read, but must flow for the close to come
    socket.write(`a LOGIN fuzz "${PASSWORD}"\r\nb CREATE Fuzz\r\n`);
    for (let i = 0; i < 30; i++)
      socket.write(`c${i} APPEND INBOX {${MESSAGE(i).length}+}\r\n${MESSAGE(i)}\r\n`);
    socket.write("z LOGOUT\r\n");
    await new Promise((resolve) => socket.once("close", resolve));
  }
  const started = Date.now();
  const deadline = started + runMinutes * 60_000;
  let lastReport = started;
  const progress = async () => {
    lastReport = Date.now();
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `  ${seconds.toFixed(0)} s: ${totals.commands} commands (${(totals.commands / seconds).toFixed(0)}/s), ` +
        `${totals.protocolErrors.length} protocol errors, ${totals.serverBugs.length} server bugs, ` +
        `peak RSS ${((await peakRss(server.pid)) / 2 ** 20).toFixed(0)} MiB`,
    );
  };
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < deadline && !crashed) {
        await session(server.port, deadline);
        if (Date.now() - lastReport > 30_000) await progress();
      }
    }),
  );
  const rss = await peakRss(server.pid);
  const seconds = (Date.now() - started) / 1000;
  const logged = "errors" in server ? (server.errors as () => string[])() : [];
  stopping = true;
  await server.stop();
  console.log(
    `${mode}: commands sent ${totals.commands} in ${seconds.toFixed(0)} s (${(totals.commands / seconds).toFixed(0)}/s), ` +
      `tagged answers ${totals.tagged}, responses ${totals.responses}, connections ${totals.connections}, ` +
      `dropped mid-command on purpose ${totals.drops}, bursts with a mutation or an IDLE (closed by a NOOP) ${totals.syncs}, ` +
      `given up with a literal open ${totals.abandoned}, largest mailbox ${totals.largest} messages`,
  );
  console.log(`${mode}: crashes: ${crashed ? 1 : 0}${crashed ? ` (${crashed})` : ""}`);
  console.log(`${mode}: protocol errors: ${totals.protocolErrors.length}`);
  for (const error of totals.protocolErrors.slice(0, 10)) console.log(`  ${error}`);
  console.log(`${mode}: plain commands left unanswered for 90 s (hangs): ${totals.unanswered.length}`);
  for (const hang of totals.unanswered.slice(0, 10)) console.log(`  ${hang}`);
  console.log(`${mode}: server bugs (NO [SERVERBUG]): ${totals.serverBugs.length}`);
  for (const bug of totals.serverBugs.slice(0, 10)) console.log(`  ${bug}`);
  if (totals.serverBugs.length > 0)
    for (const line of logged.slice(-5)) console.log(`  server log: ${line.slice(0, 1500)}`);
  console.log(`${mode}: peak RSS of the server: ${(rss / 2 ** 20).toFixed(0)} MiB; seed ${startedSeed}`);
  grand.commands += totals.commands;
  grand.seconds += seconds;
  const failures =
    (crashed ? 1 : 0) + totals.protocolErrors.length + totals.serverBugs.length + totals.unanswered.length;
  grand.failures += failures;
  return failures === 0;
}

const startedSeed = seed;
const grand = { commands: 0, seconds: 0, failures: 0 };
const modes = values.mode === "both" ? ["embedded", "distributed"] : [values.mode];
for (const mode of modes) if (!(await run(mode, minutes / modes.length))) process.exitCode = 1;
if (modes.length > 1)
  console.log(
    `all modes: commands sent ${grand.commands} (${(grand.commands / grand.seconds).toFixed(0)}/s), ` +
      `crashes + protocol errors + hangs + server bugs ${grand.failures}`,
  );
