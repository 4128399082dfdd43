// Graceful drain: SIGTERM reaches a gateway process with 50 sessions in IDLE and 10 APPENDs whose
// literals are still arriving. Every client gets BYE, every APPEND the server acknowledged is
// there after a restart, and the process exits 0; the relay, the projector and the notifier,
// stopped the same way, store their positions and exit 0 too. On the way, each process's /metrics
// shows what it did: the gateway's sessions by state, the relay's and projection's lag, the doorbells.
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import type { Role } from "../../src/serve/serve.ts";
import { freePort } from "../support/freePort.ts";
import { sample, scrape, sumOf } from "../support/metrics.ts";
import { ProcessCluster } from "../support/processCluster.ts";

const IDLE_SESSIONS = 50;
const APPENDS = 10;
/** Big enough that it is still arriving when the signal lands. */
const MESSAGE_BYTES = 256 * 1024;
const PASSWORD = "drain-secret";
/** Sessions per account stay under the per-user connection limit (50). */
const IDLE_USERS = ["idle1", "idle2"];

let cluster: ProcessCluster;
/** Each process's METRICS_PORT: its /metrics is scraped during the run. */
const metricsPorts = new Map<string, number>();

beforeAll(async () => {
  cluster = await ProcessCluster.create();
  for (const name of ["gateway", "relay", "projector", "notifier"]) metricsPorts.set(name, await freePort());
  const start = (name: string, role: Role) =>
    cluster.start(name, [role], { env: { METRICS_PORT: String(metricsPorts.get(name)) } });
  await Promise.all([
    start("gateway", "gateway"),
    start("relay", "relay"),
    start("projector", "projector"),
    start("notifier", "notifier"),
  ]);
  for (const user of [...IDLE_USERS, "writer"]) await cluster.createUser(user, PASSWORD);
}, 180_000);

afterAll(async () => {
  await cluster?.close();
});

async function loggedIn(port: number, user: string): Promise<RawImapClient> {
  const client = await RawImapClient.connect(port);
  await client.greeting(10_000);
  const login = await client.command("l", `LOGIN ${user} ${PASSWORD}`, 20_000);
  expect(login.at(-1)).toMatch(/^l OK /);
  return client;
}

function message(index: number): string {
  const head = `From: drain@example.org\r\nSubject: drain ${index}\r\nMessage-ID: <drain-${index}@example.org>\r\n\r\n`;
  return head + "x".repeat(MESSAGE_BYTES - head.length - 2) + "\r\n";
}

describe("SIGTERM on a busy gateway", () => {
  it("says BYE to every client, keeps every acknowledged APPEND, and exits 0", async () => {
    const port = cluster.imapPort("gateway");
    const idlers = await Promise.all(
      Array.from({ length: IDLE_SESSIONS }, async (_, i) => {
        const client = await loggedIn(port, IDLE_USERS[i % IDLE_USERS.length]!);
        expect((await client.command("s", "SELECT INBOX", 20_000)).at(-1)).toMatch(/^s OK /);
        await client.write("i IDLE\r\n");
        await client.waitFor((line) => line.startsWith("+ "), 20_000);
        return client;
      }),
    );
    const writers = await Promise.all(
      Array.from({ length: APPENDS }, async (_, i) => {
        const client = await loggedIn(port, "writer");
        const body = message(i);
        const from = client.lines.length;
        await client.write(`a${i} APPEND INBOX {${body.length}}\r\n`);
        await client.waitFor((line) => line.startsWith("+ "), 20_000, from);
        // Half the literal now; the rest after the signal.
        await client.write(body.slice(0, body.length / 2));
        return { client, body, tag: `a${i}` };
      }),
    );

    // Mid-run, the node's metrics show its sessions by state and what the pipeline did.
    const gatewayMetrics = await scrape(metricsPorts.get("gateway")!);
    expect(sample(gatewayMetrics, 'mailledger_imap_sessions{state="idle"}')).toBe(IDLE_SESSIONS);
    expect(sample(gatewayMetrics, 'mailledger_imap_sessions{state="authenticated"}')).toBe(APPENDS);
    expect(sumOf(gatewayMetrics, "mailledger_imap_logins_total", 'result="success"')).toBe(
      IDLE_SESSIONS + APPENDS,
    );

    const gateway = cluster.process("gateway");
    const logFrom = gateway.log.length;
    gateway.child.kill("SIGTERM");
    await gateway.waitForLog((line) => line.includes("draining"), 10_000, logFrom);
    // No new connections once draining.
    const late = await RawImapClient.connect(port).catch(() => undefined);
    if (late !== undefined) {
      await late.whenClosed(10_000);
      expect(late.lines.every((line) => line.startsWith("* BYE"))).toBe(true);
    }
    for (const { client, body } of writers) await client.write(`${body.slice(body.length / 2)}\r\n`);

    const status = await gateway.exited(30_000);
    expect(status).toEqual({ code: 0, signal: null });

    for (const client of idlers) {
      await client.whenClosed(10_000);
      expect(client.lines.some((line) => line.startsWith("* BYE"))).toBe(true);
    }
    const acknowledged: number[] = [];
    for (const [i, { client, tag }] of writers.entries()) {
      await client.whenClosed(10_000);
      const answer = client.lines.find((line) => line.startsWith(`${tag} `));
      // An APPEND still arriving when the signal landed finishes: its OK, then BYE.
      expect(answer).toMatch(new RegExp(`^${tag} OK \\[APPENDUID \\d+ \\d+\\]`));
      acknowledged.push(i);
      expect(client.lines.at(-1)).toMatch(/^\* BYE/);
    }
    expect(acknowledged).toHaveLength(APPENDS);

    // The relay, the projector and the notifier saw the ten messages.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [relay, projector, notifier] = await Promise.all(
        ["relay", "projector", "notifier"].map((name) => scrape(metricsPorts.get(name)!)),
      );
      const settled =
        sample(relay!, "mailledger_relay_lag_events") === 0 &&
        sample(projector!, 'mailledger_projection_lag_events{projection="bodies"}') === 0 &&
        sample(notifier!, "mailledger_doorbell_latency_seconds_count") >= APPENDS;
      if (settled) break;
      if (Date.now() > deadline) {
        throw new Error(
          `the pipeline's metrics did not settle: relay lag ${sample(relay!, "mailledger_relay_lag_events")}, projection lag ${sample(projector!, 'mailledger_projection_lag_events{projection="bodies"}')}, doorbells ${sample(notifier!, "mailledger_doorbell_latency_seconds_count")}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    // The pipeline stores its positions and exits 0 on SIGTERM too.
    for (const name of ["relay", "projector", "notifier"]) {
      expect(await cluster.stop(name)).toEqual({ code: 0, signal: null });
    }
    const positions = await cluster.db.pool.one(sql.type(
      z.object({ head: z.number(), relay: z.number().nullable() }),
    )`SELECT (SELECT max(global_position) FROM events) AS head,
             (SELECT global_position FROM checkpoints WHERE consumer = 'relay') AS relay`);
    expect(positions.relay).toBe(positions.head);

    // After a restart, every acknowledged APPEND is there.
    await cluster.start("gateway", ["gateway"]);
    const reader = await loggedIn(cluster.imapPort("gateway"), "writer");
    const select = await reader.command("s", "SELECT INBOX", 20_000);
    expect(select).toContain(`* ${acknowledged.length} EXISTS`);
    for (const i of acknowledged) {
      const found = await reader.command("f", `UID SEARCH HEADER Message-ID <drain-${i}@example.org>`);
      expect(found[0]).toMatch(/^\* SEARCH \d+$/);
    }
    reader.close();
  });
});
