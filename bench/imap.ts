// IMAP throughput against Dovecot: the same load (N clients, each on its own account, cycling
// APPEND, SELECT, FETCH 1:* (FLAGS), FETCH n BODY[], SEARCH, STORE, EXPUNGE one command at a
// time) on mailledger in the distributed mode (PostgreSQL + Kafka + Redis, a child process) and
// on Debian's dovecot-imapd, both on their own 127.0.0.1 ports; commands/s per kind, total and
// the ratio. Then, on a --big message mailbox (the oldest 90% \Seen), SELECT, UID FETCH 1:*
// (FLAGS), FETCH 1:* (ENVELOPE), UID SEARCH UNSEEN, UID SORT and THREAD (median of --runs) and the
// time the mailbox took to fill: on mailledger through the APPEND command handler (--fill append)
// or written straight into the log and index (--fill generate, bench/imap/generateMailbox.ts); on
// Dovecot as Maildir files. --no-load skips the load and times the big mailbox alone.
// Usage: node bench/imap.ts [--clients 8] [--seconds 10] [--target both|mailledger|dovecot]
//                           [--big 100000] [--runs 5] [--fill append|generate] [--no-load] [--json]
// --json: a last line `BENCH_JSON {...}` with the figures (bench/run.ts reads it).
// Targets (issue 6): at least Dovecot's throughput; SELECT of 100,000 messages under 100 ms.
// Targets (issue 13), 100,000 messages: SELECT at most Dovecot's, UID FETCH 1:* (FLAGS) at most
// 1.0x Dovecot's time, FETCH 1:* (ENVELOPE) at most 2x.
import { parseArgs } from "node:util";
import { generateCorpus } from "../test/fixtures/mime/corpus.ts";
import { BIG_COMMANDS, type BigTimings, populateMailledger, timeBigMailbox } from "./imap/bigMailbox.ts";
import {
  backendsOf,
  type CpuGroup,
  cpuBetween,
  cpuSnapshot,
  descendantsOf,
  pidsMatching,
} from "./imap/cpu.ts";
import { dovecotAvailable, populateMaildir, startDovecot } from "./imap/dovecot.ts";
import { generatedFlags, generateMailbox, waitForBodiesView } from "./imap/generateMailbox.ts";
import { COMMAND_KINDS, type LoadResult, runLoad, SEED_MESSAGES, seedMailboxes } from "./imap/load.ts";
import { startMailledger } from "./imap/mailledger.ts";
import { BENCH_POSTGRES_URL, freePort, percentile } from "./support.ts";

/** The whole run is bounded: past this, everything started is stopped and the bench fails. */
const RUN_LIMIT_MS = 60 * 60_000;

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "8" },
    seconds: { type: "string", default: "10" },
    target: { type: "string", default: "both" },
    big: { type: "string", default: "100000" },
    runs: { type: "string", default: "5" },
    fill: { type: "string", default: "append" },
    "no-load": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const fill = values.fill!;
if (!["append", "generate"].includes(fill)) throw new Error("--fill is append or generate");
const withLoad = !values["no-load"];
/** The oldest 90% of the big mailbox are \Seen, the newest unseen, on both servers. */
const SEEN_FRACTION = 0.9;
const seenOf = (index: number) => generatedFlags(index, big, SEEN_FRACTION);
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const big = Number(values.big);
const runs = Math.max(1, Number(values.runs));
const target = values.target!;
if (!["both", "mailledger", "dovecot"].includes(target))
  throw new Error("--target is both, mailledger or dovecot");
if (target !== "mailledger" && !dovecotAvailable()) {
  console.error("Dovecot is not installed: apt-get install dovecot-imapd (or run with --target mailledger)");
  process.exit(1);
}

const corpus = generateCorpus(220).map((m) => m.raw);
const users = Array.from({ length: clients }, (_, i) => ({
  name: `bench${i + 1}`,
  password: `bench-pw-${i + 1}`,
}));
const bigUser = { name: "bigbox", password: "bigbox-pw" };

const cleanups: (() => Promise<void>)[] = [];
/** Set once a signal or the time limit stops the run: what fails after that is expected. */
let interrupted = false;
async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse())
    await cleanup().catch((e) => console.error(`cleanup: ${e}`));
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping what the bench started`);
    void cleanUp().finally(() => process.exit(130));
  });
}
const runLimit = setTimeout(() => {
  interrupted = true;
  console.error(`the bench ran past ${RUN_LIMIT_MS / 60_000} minutes: stopping`);
  void cleanUp().finally(() => process.exit(1));
}, RUN_LIMIT_MS);

interface TargetResult {
  name: string;
  load?: LoadResult;
  /** CPU ms each component spent during the load. */
  cpu: Map<string, number>;
  big?: BigTimings & { populate: string };
}

const median = (list: number[]) =>
  percentile(
    [...list].sort((a, b) => a - b),
    50,
  );
const ms = (value: number) => `${value.toFixed(1)} ms`;
const seconds1 = (value: number) => `${(value / 1000).toFixed(1)} s`;

async function benchTarget(name: "mailledger" | "dovecot"): Promise<TargetResult> {
  const port = await freePort();
  const accounts = big > 0 ? [...users, bigUser] : users;
  const started = performance.now();
  let result: TargetResult;
  if (name === "dovecot") {
    const dovecot = await startDovecot(port, accounts);
    cleanups.push(() => dovecot.stop());
    console.log(`dovecot: listening on 127.0.0.1:${port} after ${seconds1(performance.now() - started)}`);
    let populate = "";
    if (big > 0) {
      const took = await populateMaildir(dovecot.maildirOf(bigUser.name), corpus, big, (i) =>
        seenOf(i).length > 0 ? "S" : "",
      );
      populate = `Maildir files written directly (hard links for repeats): ${seconds1(took)}`;
      console.log(`dovecot: ${big.toLocaleString("en-US")} messages: ${populate}`);
    }
    result = { name, cpu: new Map() };
    if (withLoad) {
      await seedMailboxes(dovecot.host, dovecot.port, users, corpus);
      const groups: CpuGroup[] = [{ name: "dovecot", pids: () => descendantsOf(dovecot.pid) }];
      const before = await cpuSnapshot(groups);
      let after = before;
      const load = await runLoad(dovecot.host, dovecot.port, users, seconds, corpus, async () => {
        after = await cpuSnapshot(groups);
      });
      result = { name, load, cpu: cpuBetween(before, after) };
    }
    if (big > 0)
      result.big = { ...(await timeBigMailbox(dovecot.host, dovecot.port, bigUser, runs + 1)), populate };
  } else {
    const node = await startMailledger(port, accounts);
    cleanups.push(() => node.stop());
    console.log(
      `mailledger: migrated, users created and listening on 127.0.0.1:${node.port} after ${seconds1(performance.now() - started)}`,
    );
    let populate = "";
    if (big > 0 && fill === "append") {
      const took = await populateMailledger(
        node.databaseUrl,
        node.host,
        node.port,
        bigUser,
        corpus,
        big,
        6,
        seenOf,
      );
      populate = `APPEND command handler in-process (6 writers): ${seconds1(took.commandMs)} committed, ${seconds1(took.visibleMs)} until visible over IMAP`;
      console.log(`mailledger: ${big.toLocaleString("en-US")} messages: ${populate}`);
    } else if (big > 0) {
      const took = await generateMailbox(node.databaseUrl, bigUser.name, "INBOX", corpus, big, {
        seenFraction: SEEN_FRACTION,
      });
      const derived = await waitForBodiesView(node.databaseUrl, bigUser.name, "INBOX");
      populate = `written straight into the log and index: ${seconds1(took.ms)}, bodies view caught up ${seconds1(derived)} later`;
      console.log(`mailledger: ${big.toLocaleString("en-US")} messages: ${populate}`);
    }
    if (withLoad) {
      await seedMailboxes(node.host, node.port, users, corpus);
      const database = new URL(node.databaseUrl).pathname.slice(1);
      const groups: CpuGroup[] = [
        ...node.pids.map(({ roles, pid }) => ({
          name: roles === "gateway" ? "gateway" : roles === "all" ? "node (all roles)" : "pipeline",
          pids: async () => [pid],
        })),
        { name: "PostgreSQL", pids: () => backendsOf(BENCH_POSTGRES_URL, database) },
        // The broker is shared with whatever else uses it meanwhile.
        { name: "Kafka", pids: () => pidsMatching("kafka.Kafka") },
      ];
      const before = await cpuSnapshot(groups);
      let after = before;
      const load = await runLoad(node.host, node.port, users, seconds, corpus, async () => {
        after = await cpuSnapshot(groups);
      });
      result = { name, load, cpu: cpuBetween(before, after) };
    } else {
      result = { name, cpu: new Map() };
    }
    if (big > 0)
      result.big = { ...(await timeBigMailbox(node.host, node.port, bigUser, runs + 1)), populate };
  }
  await cleanUp();
  for (const failure of result.load?.failures ?? []) console.log(`${name}: failed: ${failure}`);
  return result;
}

function rate(load: LoadResult, count: number): number {
  return (count / load.elapsedMs) * 1000;
}

function reportLoad(results: (TargetResult & { load: LoadResult })[]): void {
  console.log(
    `\nload: ${clients} clients (one account each, ${SEED_MESSAGES} corpus messages seeded), one command at a time, ${seconds} s`,
  );
  const header = ["command".padEnd(20)];
  for (const r of results) header.push(`${r.name} cmd/s`.padStart(18), "p50".padStart(9), "p99".padStart(9));
  if (results.length === 2) header.push("ratio ml/dc".padStart(12));
  console.log(header.join(""));
  const row = (label: string, counts: number[], p50: string[], p99: string[]) => {
    const cells = [label.padEnd(20)];
    results.forEach((r, i) => {
      cells.push(rate(r.load, counts[i]!).toFixed(0).padStart(18), p50[i]!.padStart(9), p99[i]!.padStart(9));
    });
    if (results.length === 2) {
      const [a, b] = results.map((r, i) => rate(r.load, counts[i]!));
      cells.push((b! > 0 ? (a! / b!).toFixed(2) : "-").padStart(12));
    }
    console.log(cells.join(""));
  };
  for (const kind of COMMAND_KINDS) {
    row(
      kind,
      results.map((r) => r.load.counts[kind]),
      results.map((r) => percentile(r.load.latencies[kind], 50).toFixed(1)),
      results.map((r) => percentile(r.load.latencies[kind], 99).toFixed(1)),
    );
  }
  row(
    "total",
    results.map((r) => Object.values(r.load.counts).reduce((a, b) => a + b, 0)),
    results.map(() => ""),
    results.map(() => ""),
  );
  console.log(
    "\nCPU per command (ms of CPU time, user + system: holds on a busy machine where rates do not)",
  );
  const totals: number[] = [];
  for (const r of results) {
    const commands = Object.values(r.load.counts).reduce((a, b) => a + b, 0);
    const parts = [...r.cpu].map(([group, spent]) => `${group} ${(spent / commands).toFixed(2)}`);
    const total = [...r.cpu.values()].reduce((a, b) => a + b, 0) / commands;
    totals.push(total);
    console.log(`  ${r.name.padEnd(12)} ${total.toFixed(2)} ms  (${parts.join(", ")})`);
  }
  if (totals.length === 2) {
    console.log(`  ratio ml/dc  ${(totals[0]! / totals[1]!).toFixed(1)}x the CPU per command`);
  }
}

/** The big mailbox's figures, the servers side by side: median of the warm runs (the first is cold). */
function reportBig(results: TargetResult[]): void {
  const bigs = results.filter((r) => r.big !== undefined);
  if (bigs.length === 0) return;
  console.log(
    `\nmailbox of ${big.toLocaleString("en-US")} messages (oldest ${SEEN_FRACTION * 100}% \\Seen), median of ${runs} warm runs, first (cold) run in brackets`,
  );
  for (const r of bigs) {
    console.log(
      `  ${r.name}: ${r.big!.exists.toLocaleString("en-US")} EXISTS, UNSEEN ${r.big!.firstUnseen}; filled by ${r.big!.populate}`,
    );
  }
  const header = ["command".padEnd(34)];
  for (const r of bigs) header.push(r.name.padStart(26));
  if (bigs.length === 2) header.push("ml/dc".padStart(8));
  console.log(header.join(""));
  const row = (label: string, list: (r: TargetResult) => number[]) => {
    const cells = [label.padEnd(34)];
    const medians: number[] = [];
    for (const r of bigs) {
      const [cold, ...warm] = list(r);
      const value = median(warm.length > 0 ? warm : [cold!]);
      medians.push(value);
      cells.push(`${ms(value)} (${ms(cold!)})`.padStart(26));
    }
    if (medians.length === 2) cells.push(`${(medians[0]! / medians[1]!).toFixed(2)}x`.padStart(8));
    console.log(cells.join(""));
  };
  row("SELECT INBOX", (r) => r.big!.selectMs);
  for (const { label } of BIG_COMMANDS) row(label, (r) => r.big!.commands.get(label)!.ms);
}

function report(results: TargetResult[]): void {
  const loaded = results.filter((r): r is TargetResult & { load: LoadResult } => r.load !== undefined);
  if (loaded.length > 0) reportLoad(loaded);
  reportBig(results);
  if (values.json) console.log(`BENCH_JSON ${JSON.stringify(jsonOf(results))}`);
}

/**
 * The same figures, machine-readable, per server: the load's commands/s (total and per kind) and
 * CPU ms per command; the big mailbox's times of every run (the first cold), in ms.
 */
function jsonOf(results: TargetResult[]) {
  return {
    clients,
    seconds,
    big,
    fill,
    targets: Object.fromEntries(
      results.map((r) => {
        const commands = r.load ? Object.values(r.load.counts).reduce((a, b) => a + b, 0) : 0;
        return [
          r.name,
          {
            load: r.load && {
              commandsPerSecond: rate(r.load, commands),
              perKind: Object.fromEntries(
                COMMAND_KINDS.map((kind) => [
                  kind,
                  {
                    perSecond: rate(r.load!, r.load!.counts[kind]),
                    p50Ms: percentile(r.load!.latencies[kind], 50),
                  },
                ]),
              ),
              cpuMsPerCommand: [...r.cpu.values()].reduce((a, b) => a + b, 0) / Math.max(1, commands),
              failures: r.load.failures.length,
            },
            big: r.big && {
              exists: r.big.exists,
              runsMs: {
                "SELECT INBOX": r.big.selectMs,
                ...Object.fromEntries([...r.big.commands].map(([label, timing]) => [label, timing.ms])),
              },
            },
          },
        ];
      }),
    ),
  };
}

try {
  const results: TargetResult[] = [];
  if (target !== "dovecot") results.push(await benchTarget("mailledger"));
  if (target !== "mailledger") results.push(await benchTarget("dovecot"));
  report(results);
} catch (error) {
  if (!interrupted) console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
  clearTimeout(runLimit);
}
