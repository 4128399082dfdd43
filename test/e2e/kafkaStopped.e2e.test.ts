// With Kafka down, nothing a client sees changes (DESIGN.md contract 2): the OK waits for nothing
// after the commit, the gateways read the mailbox index, and derive what the bodies view has not
// reached. When the broker is back, relay, projector and notifier carry on by themselves: the
// view catches up, equals a rebuild from the log, and the doorbell rings again. The broker is
// this file's own (the shared one serves every other test), stopped and restarted for real.
import { type CommonQueryMethods, sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { bodiesViewCaughtUp } from "../support/bodiesView.ts";
import { type DedicatedKafka, startDedicatedKafka } from "../support/dedicatedKafka.ts";
import { ProcessCluster } from "../support/processCluster.ts";
import { testMessage, WireSession } from "./helpers/wireSession.ts";
import {
  appendThenAtOnce,
  bodiesViewHolds,
  expectDerivedReads,
  mailboxIdOf,
  readsAfterOk,
} from "./helpers/writeScenarios.ts";

type Gateway = "gateway-a" | "gateway-b";
const USER = "kit";
const PASSWORD = "secret-password";
/** After the broker's restart the consumers come back from kafkajs's retry backoff, then catch up. */
const CATCH_UP_MS = 120_000;
/**
 * The notifier, too, comes back by itself (a crash after the restart costs a rejoin, up to its
 * rebalance timeout). IDLE's own look is set far above this.
 */
const DOORBELL_BACK_MS = 120_000;
const NO_IDLE_CHECK = { IDLE_CHECK_MS: "3600000" };

let broker: DedicatedKafka;
let cluster: ProcessCluster;
let userId: string;

beforeAll(async () => {
  broker = await startDedicatedKafka();
  cluster = await ProcessCluster.create({ kafkaBrokers: broker.brokers });
  await Promise.all([
    cluster.start("gateway-a", ["gateway"], { env: NO_IDLE_CHECK }),
    cluster.start("gateway-b", ["gateway"], { env: NO_IDLE_CHECK }),
    cluster.startPipeline(),
    cluster.createUser(USER, PASSWORD).then((id) => {
      userId = id;
    }),
  ]);
});

afterAll(async () => {
  await cluster?.close();
  await broker?.close();
});

const login = (node: Gateway, name: string = node) =>
  WireSession.login(cluster.imapPort(node), USER, PASSWORD, name);

const positionsRow = z.object({ head: z.number(), relay: z.number() });

/** The log's last position, and the last the relay has published. */
async function positions(pool: CommonQueryMethods): Promise<{ head: number; relay: number }> {
  return pool.one(sql.type(positionsRow)`
    SELECT (SELECT coalesce(max(global_position), 0) FROM events) AS head,
      coalesce((SELECT global_position FROM checkpoints WHERE consumer = 'relay'), 0) AS relay`);
}

describe("with the Kafka broker stopped", () => {
  it(
    "every command answers exactly; when the broker is back the views catch up and equal the log",
    async () => {
      const writer = await login("gateway-a");
      const reader = await login("gateway-b");
      // Kafka carries events before it stops: the bodies view holds the first message.
      await writer.append("INBOX", testMessage(1).raw);
      await bodiesViewCaughtUp(cluster.db.pool, CATCH_UP_MS);

      await broker.stop();
      const stoppedAt = (await positions(cluster.db.pool)).head;
      await readsAfterOk(writer, reader, "Offline");
      await appendThenAtOnce(login, cluster.db.pool, userId, "Busy", 6);
      await writer.ok("CREATE Fresh");
      const fresh = [
        { n: 21, uid: (await writer.append("Fresh", testMessage(21).raw)).uid },
        { n: 22, uid: (await reader.append("Fresh", testMessage(22).raw)).uid },
      ];
      const freshUids = fresh.map((m) => m.uid);
      const freshId = await mailboxIdOf(cluster.db.pool, userId, "Fresh");
      const whileStopped: string[][] = [];
      for (const session of [writer, reader]) {
        expect(await session.ok("SELECT Fresh")).toContain("* 2 EXISTS");
        for (const { n, uid } of fresh) whileStopped.push(await expectDerivedReads(session, uid, n));
      }
      // All of it answered with nothing through Kafka: the relay could publish none of it.
      const whileDown = await positions(cluster.db.pool);
      expect(whileDown.head).toBeGreaterThan(stoppedAt);
      expect(whileDown.relay).toBeLessThanOrEqual(stoppedAt);
      expect(await bodiesViewHolds(cluster.db.pool, freshId, freshUids)).toBe(0);

      await broker.start();
      await bodiesViewCaughtUp(cluster.db.pool, CATCH_UP_MS);
      const back = await positions(cluster.db.pool);
      expect(back.relay).toBe(back.head);
      expect(await bodiesViewHolds(cluster.db.pool, freshId, freshUids)).toBe(2);
      const fromView: string[][] = [];
      for (const session of [writer, reader]) {
        for (const { n, uid } of fresh) fromView.push(await expectDerivedReads(session, uid, n));
      }
      expect(fromView).toEqual(whileStopped);
      const { code, reports } = await cluster.verify();
      expect(
        reports.map((r) => ({ name: r.name, equal: r.equal })),
        JSON.stringify(reports),
      ).toEqual([
        { name: "index", equal: true },
        { name: "bodies", equal: true },
      ]);
      expect(code).toBe(0);

      // The doorbell rings again: IDLE on node B hears node A's APPEND.
      const idling = await reader.idle();
      const { uid } = await writer.append("Fresh", testMessage(23).raw);
      await idling.next("* 3 EXISTS", DOORBELL_BACK_MS).catch((error: unknown) => {
        // What the notifier said of its consumer (a crash, a restart) is the first thing to read.
        throw new Error(`${String(error)}\nnotifier's log:\n${cluster.process("notifier").tail(40)}`);
      });
      await idling.done();
      expect(await reader.ok(`UID FETCH ${uid} (FLAGS)`)).toEqual([
        expect.stringMatching(new RegExp(`^\\* 3 FETCH \\(UID ${uid} FLAGS \\((\\\\Recent)?\\)\\)$`)),
      ]);
      writer.close();
      reader.close();
    },
    2 * CATCH_UP_MS + DOORBELL_BACK_MS + 60_000,
  );

  it("logged no error in any process", () => {
    expect(cluster.errors()).toEqual([]);
  });
});
