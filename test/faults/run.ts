// `npm run test:faults [-- --quick] [--only NAME,...] [--clients N]`: the fault-injection suite.
//
// The distributed mode with every role in its own process (two gateways, relay, projector,
// notifier) on a PostgreSQL, a Redis and a Kafka broker of the suite's own, so that each can be
// stopped for real. Under a continuous load of IMAP clients (test/faults/load.ts) each scenario
// injects one fault mid-load, lets the load run on after it, waits until `projections verify`
// finds the views equal to the log, and reads every mailbox back over IMAP. It prints, per
// scenario: operations acknowledged, messages found, lost, duplicated, NO-but-done and reused UIDs
// (each must be 0), the answers refused during the fault, the longest a command took, and the time
// to converge. Exit 1 if any scenario loses, duplicates, reuses or does not converge.
//
// --quick runs every scenario with its outage cut to a few seconds (CI); without it the outages
// are the issue's: 10 s for a killed role, 30 s Kafka, 20 s Redis, 10 s PostgreSQL, 60 s pause,
// and the event log locked for 10 s against a statement timeout of 2 s.
import { parseArgs } from "node:util";
import { ImapFlow } from "imapflow";
import pg from "pg";
import { type DedicatedKafka, startDedicatedKafka } from "../support/dedicatedKafka.ts";
import {
  type DedicatedService,
  startDedicatedPostgres,
  startDedicatedRedis,
} from "../support/dedicatedServices.ts";
import { ProcessCluster } from "../support/processCluster.ts";
import { type CommandSample, startLoad } from "./load.ts";
import { type Found, judge } from "./model.ts";

const PASSWORD = "fault-suite-password";
const CONVERGE_TIMEOUT_MS = 240_000;
/** The longest outage (60 s), the load around it, convergence and the read-back, with room to spare. */
const SCENARIO_TIMEOUT_MS = 10 * 60_000;

interface Services {
  pg: DedicatedService;
  redis: DedicatedService;
  kafka: DedicatedKafka;
}

interface Scenario {
  name: string;
  /** What the design chooses while this part is away. */
  design: string;
  inject(cluster: ProcessCluster, services: Services, outageMs: number): Promise<void>;
  outageMs: number;
  /** Environment of every process of this scenario's cluster. */
  env?: Record<string, string>;
  /** The design's answer to a write during the fault: some must get it, none anything else but OK. */
  refusal?: string;
}

/** The statement timeout the statement-timeout scenario sets (PG_STATEMENT_TIMEOUT_MS). */
const STATEMENT_TIMEOUT_MS = 2_000;

const step = (text: string) => {
  if (process.env.FAULTS_DEBUG) console.log(`  [${new Date().toISOString().slice(11, 19)}] ${text}`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function killAndRestart(cluster: ProcessCluster, name: "relay" | "projector" | "notifier", ms: number) {
  await cluster.kill(name, "SIGKILL");
  await sleep(ms);
  await cluster.start(name, [name]);
}

const SCENARIOS: Scenario[] = [
  {
    name: "gateway kill -9",
    design: "its clients reconnect to the other node; a command in flight there has an unknown outcome",
    outageMs: 0,
    inject: async (cluster) => {
      await cluster.kill("gateway-a", "SIGKILL");
    },
  },
  {
    name: "relay kill -9",
    design: "writes go on (they wait for nothing after the commit); Kafka gets the events on restart",
    outageMs: 10_000,
    inject: (cluster, _s, ms) => killAndRestart(cluster, "relay", ms),
  },
  {
    name: "projector kill -9",
    design: "writes go on; bodies are derived on demand; the view catches up on restart",
    outageMs: 10_000,
    inject: (cluster, _s, ms) => killAndRestart(cluster, "projector", ms),
  },
  {
    name: "notifier kill -9",
    design: "writes go on; IDLE learns of changes by its own checks until the doorbell is back",
    outageMs: 10_000,
    inject: (cluster, _s, ms) => killAndRestart(cluster, "notifier", ms),
  },
  {
    name: "Kafka stopped",
    design: "writes go on; relay, projector and notifier resume from their positions",
    outageMs: 30_000,
    inject: async (_c, services, ms) => {
      await services.kafka.stop();
      await sleep(ms);
      await services.kafka.start();
    },
  },
  {
    name: "Redis stopped",
    design: "writes go on; login throttling counts per node; IDLE polls",
    outageMs: 20_000,
    inject: async (_c, services, ms) => {
      await services.redis.stop();
      await sleep(ms);
      await services.redis.start();
    },
  },
  {
    name: "PostgreSQL restarted",
    design: "commands answer NO [UNAVAILABLE] while it is down (a lost commit reply is looked up); no crash",
    outageMs: 10_000,
    inject: async (_c, services, ms) => {
      await services.pg.stop();
      await sleep(ms);
      await services.pg.start();
    },
  },
  {
    name: "PostgreSQL statement timeout",
    design:
      "a statement held past PG_STATEMENT_TIMEOUT_MS (here the event log locked by another session) is cancelled and its command answered NO [UNAVAILABLE], not done; reads go on",
    outageMs: 10_000,
    env: { PG_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) },
    refusal: "NO [UNAVAILABLE]",
    inject: async (cluster, _s, ms) => {
      // Another session (an operator's migration, a VACUUM FULL) holds the log's table: every
      // write queues behind the lock until PostgreSQL cancels it.
      const client = new pg.Client({ connectionString: cluster.db.url });
      await client.connect();
      try {
        await client.query("BEGIN");
        await client.query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
        await sleep(ms);
        await client.query("ROLLBACK");
      } finally {
        await client.end();
      }
    },
  },
  {
    name: "projector paused",
    design: "writes go on; reads derive what the view lacks; the view catches up on SIGCONT",
    outageMs: 60_000,
    inject: async (cluster, _s, ms) => {
      await cluster.pause("projector");
      await sleep(ms);
      await cluster.resume("projector");
    },
  },
];

interface Row {
  scenario: string;
  acknowledged: number;
  found: number;
  lost: number;
  duplicated: number;
  noButDone: number;
  reused: number;
  refused: string;
  longestMs: number;
  convergeS: number | null;
  verify: string;
  crashed: string;
  /** Answers other than the design's refusal (or none of it), for a scenario that states one. */
  wrongAnswers: string[];
  details: string[];
}

async function readBack(port: number, users: readonly string[]): Promise<Map<string, Found>> {
  const found = new Map<string, Found>();
  for (const user of users) {
    const client = new ImapFlow({
      host: "127.0.0.1",
      port,
      secure: false,
      auth: { user, pass: PASSWORD },
      logger: false,
    });
    await client.connect();
    for (const mailbox of ["INBOX", "Archive"] as const) {
      const opened = await client.mailboxOpen(mailbox, { readOnly: true });
      if (opened.exists === 0) continue;
      for await (const message of client.fetch("1:*", { uid: true, flags: true, envelope: true })) {
        const key = message.envelope?.subject ?? "";
        const entry = found.get(key) ?? { inbox: [], archive: [], flagged: false };
        if (mailbox === "INBOX") {
          entry.inbox.push(message.uid);
          if (message.flags?.has("\\Flagged")) entry.flagged = true;
        } else {
          entry.archive.push(message.uid);
        }
        found.set(key, entry);
      }
    }
    await client.logout();
  }
  return found;
}

function tally(samples: readonly CommandSample[], from: number, to: number): string {
  const counts = new Map<string, number>();
  for (const sample of samples) {
    // Answered (or broken) during the fault, wherever it started.
    const ended = sample.at + sample.ms;
    if (sample.answer === "OK" || ended < from || sample.at > to) continue;
    counts.set(sample.answer, (counts.get(sample.answer) ?? 0) + 1);
  }
  return [...counts].map(([answer, n]) => `${n}× ${answer}`).join(", ") || "none";
}

async function runScenario(
  scenario: Scenario,
  services: Services,
  clients: number,
  outageMs: number,
): Promise<Row> {
  const cluster = await ProcessCluster.create({
    postgresUrl: services.pg.url,
    kafkaBrokers: services.kafka.brokers,
    env: { REDIS_URL: services.redis.url, DOORBELL_POLL_MS: "1000", ...scenario.env },
  });
  try {
    await Promise.all([cluster.start("gateway-a", ["gateway"]), cluster.start("gateway-b", ["gateway"])]);
    await cluster.startPipeline();
    step("cluster up");
    const users = Array.from({ length: clients }, (_, i) => `faults${i}`);
    for (const user of users) await cluster.createUser(user, PASSWORD);
    const portB = cluster.imapPort("gateway-b");
    for (const user of users) {
      const client = new ImapFlow({
        host: "127.0.0.1",
        port: portB,
        secure: false,
        auth: { user, pass: PASSWORD },
        logger: false,
      });
      await client.connect();
      await client.mailboxCreate("Archive");
      await client.logout();
    }
    step("users and Archive made");
    const load = startLoad({
      ports: [cluster.imapPort("gateway-a"), portB],
      users,
      password: PASSWORD,
      label: scenario.name.replace(/\W+/g, "_"),
    });
    await sleep(5_000);
    const faultStart = Date.now();
    step("fault");
    await scenario.inject(cluster, services, outageMs);
    const faultEnd = Date.now();
    await sleep(5_000);
    step("stopping the load");
    const { records, samples } = await load.stop();
    step(`load stopped: ${records.length} messages`);

    // Converged: every view equal to what the log says (the index, and the bodies view once the
    // pipeline has caught up).
    let convergeS: number | null = null;
    let verify = "not equal";
    const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const result = await cluster.verify().catch(() => undefined);
      if (result?.code === 0 && result.reports.every((report) => report.equal)) {
        convergeS = (Date.now() - faultEnd) / 1000;
        verify = "equal";
        break;
      }
      await sleep(1_000);
    }
    step(`verify: ${verify}`);
    const found = await readBack(portB, users);
    step("read back");
    const verdict = judge(records, found);
    const ours = new Set(records.map((record) => record.key));
    const foundCount = [...found]
      .filter(([key]) => ours.has(key))
      .reduce((n, [, f]) => n + f.inbox.length + f.archive.length, 0);
    const acknowledged = samples.filter((sample) => sample.answer === "OK").length;
    const expectedDown = scenario.name === "gateway kill -9" ? ["gateway-a"] : [];
    const wrongAnswers: string[] = [];
    if (scenario.refusal !== undefined) {
      const answers = samples.map((sample) => sample.answer);
      if (!answers.includes(scenario.refusal))
        wrongAnswers.push(`no command was answered ${scenario.refusal}`);
      for (const answer of new Set(answers))
        if (answer !== "OK" && answer !== scenario.refusal)
          wrongAnswers.push(`a command was answered ${answer}`);
    }
    const crashed = ["gateway-a", "gateway-b", "relay", "projector", "notifier"].filter(
      (name) => !expectedDown.includes(name) && !cluster.process(name).running,
    );
    return {
      scenario: scenario.name,
      acknowledged,
      found: foundCount,
      lost: verdict.lost.length,
      duplicated: verdict.duplicated.length,
      noButDone: verdict.noButDone.length,
      reused: verdict.reused.length,
      refused: tally(samples, faultStart, faultEnd + 5_000),
      longestMs: Math.max(0, ...samples.map((sample) => sample.ms)),
      convergeS,
      verify,
      crashed: crashed.join(",") || "none",
      wrongAnswers,
      details: [
        ...wrongAnswers,
        ...verdict.lost,
        ...verdict.duplicated,
        ...verdict.noButDone,
        ...verdict.reused,
      ].slice(0, 10),
    };
  } finally {
    await cluster.close().catch(() => {});
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      clients: { type: "string", default: "4" },
    },
  });
  const only = values.only?.split(",").map((name) => name.trim().toLowerCase());
  const chosen = SCENARIOS.filter((s) => !only || only.some((name) => s.name.toLowerCase().includes(name)));
  if (chosen.length === 0) throw new Error(`no scenario matches --only ${values.only}`);
  const clients = Number.parseInt(values.clients, 10);
  console.log(
    `fault suite: ${chosen.length} scenarios, ${clients} clients${values.quick ? ", quick outages" : ""}`,
  );
  const [pg, redis, kafka] = await Promise.all([
    startDedicatedPostgres(),
    startDedicatedRedis(),
    startDedicatedKafka(),
  ]);
  const services = { pg, redis, kafka };
  const rows: Row[] = [];
  try {
    for (const scenario of chosen) {
      const outageMs = values.quick ? Math.min(scenario.outageMs, 4_000) : scenario.outageMs;
      const started = Date.now();
      console.log(`\n## ${scenario.name} (outage ${outageMs / 1000} s): ${scenario.design}`);
      // A scenario that hangs (a client waiting on a socket nobody answers) fails the suite in
      // bounded time instead of holding CI until its own limit.
      let watchdog: NodeJS.Timeout | undefined;
      const row = await Promise.race([
        runScenario(scenario, services, clients, outageMs),
        new Promise<never>((_, reject) => {
          watchdog = setTimeout(
            () =>
              reject(new Error(`${scenario.name} did not finish within ${SCENARIO_TIMEOUT_MS / 60_000} min`)),
            SCENARIO_TIMEOUT_MS,
          );
        }),
      ]).finally(() => clearTimeout(watchdog));
      rows.push(row);
      console.log(
        `acknowledged ${row.acknowledged}, found ${row.found}, lost ${row.lost}, duplicated ${row.duplicated}, ` +
          `NO but done ${row.noButDone}, UIDs reused ${row.reused}; refused during the fault: ${row.refused}; ` +
          `longest command ${row.longestMs} ms; converged ${row.convergeS === null ? "NEVER" : `${row.convergeS.toFixed(1)} s`} after; ` +
          `verify ${row.verify}; crashed ${row.crashed} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );
      for (const line of row.details) console.log(`  ${line}`);
    }
  } finally {
    await Promise.all([pg.close(), redis.close(), kafka.close()]);
  }
  console.log(
    "\n| scenario | acked | found | lost | dup | NO but done | reused | refused during the fault | longest ms | converged s | verify | crashed |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.scenario} | ${r.acknowledged} | ${r.found} | ${r.lost} | ${r.duplicated} | ${r.noButDone} | ${r.reused} | ${r.refused} | ${r.longestMs} | ${r.convergeS?.toFixed(1) ?? "never"} | ${r.verify} | ${r.crashed} |`,
    );
  }
  const failed = rows.filter(
    (r) =>
      r.lost + r.duplicated + r.noButDone + r.reused > 0 ||
      r.convergeS === null ||
      r.crashed !== "none" ||
      r.wrongAnswers.length > 0,
  );
  if (failed.length > 0) {
    console.error(`\nfault suite: FAILED in ${failed.map((r) => r.scenario).join(", ")}`);
    process.exitCode = 1;
  } else {
    console.log(`\nfault suite: ${rows.length} scenarios, nothing lost, duplicated or reused`);
  }
}

await main().catch((error: unknown) => {
  console.error(`fault suite: FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
// A scenario given up by its watchdog may leave its clients waiting: nothing else keeps the exit.
process.exit();
