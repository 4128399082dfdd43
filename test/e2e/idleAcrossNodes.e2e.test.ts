// IDLE across gateway processes (DESIGN.md contract 9): the notifier's Redis message is a doorbell
// that makes a session on another node read the mailbox index. An IDLE client on node B hears of
// what a client on node A did; with B's Redis connection cut it hears within DOORBELL_POLL_MS;
// with no doorbell at all (the notifier stopped) the next command shows the change, and IDLE shows
// it within IDLE_CHECK_MS.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessCluster } from "../support/processCluster.ts";
import { TEST_REDIS_URL } from "../support/services.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcpProxy.ts";
import { searched, testMessage, WireSession } from "./helpers/wireSession.ts";

type Gateway = "gateway-a" | "gateway-b" | "gateway-c";
const USER = "ida";
const PASSWORD = "secret-password";
/** Node B looks for itself this often while its Redis connection is down. */
const DOORBELL_POLL_MS = 300;
/** Node C's IDLE sessions look for themselves this often whatever the doorbell says. */
const IDLE_CHECK_MS = 1_000;
/**
 * Scheduling on a loaded two-core machine on top of an interval. Far below the default
 * IDLE_CHECK_MS (30 s) that nodes A and B keep: an update within a bound made of this slack comes
 * from the doorbell or the poll under test, not from IDLE's own periodic look.
 */
const SLACK_MS = 2_000;
/** A doorbell goes relay → Kafka → notifier → Redis → node B: well under a second when all is well. */
const DOORBELL_MS = 5_000;
/** The notifier's consumer group joins after its process says it serves: the first doorbell waits for it. */
const NOTIFIER_READY_MS = 60_000;

let cluster: ProcessCluster;
let redisToB: TcpProxy;
/** The test's own Redis connection, to look at the server's clients. */
let redisAdmin: Redis;

beforeAll(async () => {
  cluster = await ProcessCluster.create();
  const redis = new URL(TEST_REDIS_URL);
  redisToB = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  const proxied = new URL(TEST_REDIS_URL);
  proxied.port = String(redisToB.port);
  await Promise.all([
    cluster.start("gateway-a", ["gateway"]),
    cluster.start("gateway-b", ["gateway"], {
      env: { REDIS_URL: proxied.toString(), DOORBELL_POLL_MS: String(DOORBELL_POLL_MS) },
    }),
    cluster.start("gateway-c", ["gateway"], { env: { IDLE_CHECK_MS: String(IDLE_CHECK_MS) } }),
    cluster.startPipeline(),
    cluster.createUser(USER, PASSWORD),
  ]);
  redisAdmin = new Redis(TEST_REDIS_URL);
  await doorbellRings();
});

afterAll(async () => {
  await cluster?.close();
  await redisToB?.close();
  redisAdmin?.disconnect();
});

/** Node B's notice subscriber (it reaches Redis through the proxy) is subscribed: B hears doorbells. */
async function nodeBSubscribed(): Promise<boolean> {
  const ports = new Set(redisToB.upstreamPorts());
  const clients = (await redisAdmin.client("LIST")) as string;
  return clients.split("\n").some((client) => {
    const port = / addr=[^ ]*:(\d+) /.exec(` ${client} `)?.[1];
    return (
      port !== undefined &&
      ports.has(Number(port)) &&
      client.includes(` name=${cluster.noticeChannel}:subscriber `) &&
      / sub=1 /.test(` ${client} `)
    );
  });
}

const login = (node: Gateway, name: string = node) =>
  WireSession.login(cluster.imapPort(node), USER, PASSWORD, name);

/** Appends on node A until the notifier rings the doorbell for one: its consumer group has joined. */
async function doorbellRings(): Promise<void> {
  const listener = new Redis(TEST_REDIS_URL);
  const writer = await login("gateway-a", "warm-up@gateway-a");
  try {
    let rang = false;
    listener.on("message", () => {
      rang = true;
    });
    await listener.subscribe(cluster.noticeChannel);
    await writer.ok("CREATE WarmUp");
    const deadline = Date.now() + NOTIFIER_READY_MS;
    while (!rang) {
      if (Date.now() > deadline)
        throw new Error(`no doorbell on ${cluster.noticeChannel} within ${NOTIFIER_READY_MS} ms`);
      await writer.append("WarmUp", testMessage(0).raw);
      const wait = Date.now() + 1_000;
      while (!rang && Date.now() < wait) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    writer.close();
    listener.disconnect();
  }
}

/**
 * On `writer` (node A, `mailbox` selected): APPEND, STORE, EXPUNGE; after each OK, `idling` (another
 * node) shows it within `withinMs`. `known` is how many messages the idler knows of. Resolves with
 * the delays from each OK to the idler's line.
 */
async function changesReachIdler(
  writer: WireSession,
  idling: Awaited<ReturnType<WireSession["idle"]>>,
  mailbox: string,
  known: number,
  withinMs: number,
  options: { qresync?: boolean } = {},
): Promise<number[]> {
  const delays: number[] = [];
  const timed = async (line: string | RegExp) => {
    const from = Date.now();
    await idling.next(line, withinMs);
    delays.push(Date.now() - from);
  };
  const n = known + 1;
  const { uid } = await writer.append(mailbox, testMessage(n).raw);
  await timed(`* ${n} EXISTS`);
  await writer.ok(`UID STORE ${uid} +FLAGS (\\Flagged)`);
  await timed(
    new RegExp(
      `^\\* ${n} FETCH \\(UID ${uid} FLAGS \\(\\\\Flagged( \\\\Recent)?\\)${options.qresync ? " MODSEQ \\(\\d+\\)" : ""}\\)$`,
    ),
  );
  await writer.ok(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
  await writer.ok(`UID EXPUNGE ${uid}`);
  await timed(options.qresync ? `* VANISHED ${uid}` : `* ${n} EXPUNGE`);
  return delays;
}

describe("IDLE on another gateway process", () => {
  it("hears EXISTS, FETCH FLAGS and EXPUNGE of what a client on node A does, by the doorbell", async () => {
    const writer = await login("gateway-a");
    const idler = await login("gateway-b");
    await writer.ok("CREATE Bell");
    await writer.append("Bell", testMessage(1).raw);
    await writer.ok("SELECT Bell");
    await idler.ok("SELECT Bell");
    const idling = await idler.idle();
    const delays = await changesReachIdler(writer, idling, "Bell", 1, DOORBELL_MS);
    const seen = await idling.done();
    expect(seen.filter((line) => / (EXISTS|EXPUNGE)$/.test(line))).toEqual(["* 2 EXISTS", "* 2 EXPUNGE"]);
    expect(delays.every((ms) => ms < DOORBELL_MS)).toBe(true);
    writer.close();
    idler.close();
  });

  it("hears VANISHED and MODSEQ under QRESYNC", async () => {
    const writer = await login("gateway-a");
    const idler = await login("gateway-b");
    await writer.ok("CREATE Quick");
    await writer.ok("SELECT Quick");
    // RFC 7162 3.2.3: QRESYNC enables CONDSTORE too, which the server may name.
    expect(await idler.ok("ENABLE QRESYNC")).toEqual([
      expect.stringMatching(/^\* ENABLED QRESYNC( CONDSTORE)?$/),
    ]);
    await idler.ok("SELECT Quick");
    const idling = await idler.idle();
    await changesReachIdler(writer, idling, "Quick", 0, DOORBELL_MS, { qresync: true });
    const seen = await idling.done();
    expect(seen.filter((line) => / EXPUNGE$/.test(line))).toEqual([]);
    writer.close();
    idler.close();
  });

  it("converges within DOORBELL_POLL_MS while node B's Redis connection is cut", async () => {
    const writer = await login("gateway-a");
    const idler = await login("gateway-b");
    await writer.ok("CREATE Cut");
    await writer.ok("SELECT Cut");
    await idler.ok("SELECT Cut");
    const idling = await idler.idle();
    // Node B hears doorbells through the proxy, which drops that connection now.
    expect(await nodeBSubscribed()).toBe(true);
    redisToB.cut();
    try {
      const delays = await changesReachIdler(writer, idling, "Cut", 0, DOORBELL_POLL_MS + SLACK_MS);
      expect(delays.every((ms) => ms < DOORBELL_POLL_MS + SLACK_MS)).toBe(true);
    } finally {
      redisToB.restore();
    }
    // Back on the doorbell (the poll stops) once node B has subscribed again by itself.
    const deadline = Date.now() + 30_000;
    while (!(await nodeBSubscribed())) {
      if (Date.now() > deadline) throw new Error("node B did not subscribe to Redis again within 30 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await changesReachIdler(writer, idling, "Cut", 0, DOORBELL_MS);
    await idling.done();
    writer.close();
    idler.close();
  });

  it("makes up a doorbell that never comes: at the next command, and in IDLE within IDLE_CHECK_MS", async () => {
    expect(await cluster.stop("notifier")).toEqual({ code: 0, signal: null });
    const writer = await login("gateway-a");
    const polling = await login("gateway-b");
    const checking = await login("gateway-c");
    await writer.ok("CREATE Silent");
    await writer.ok("SELECT Silent");
    await polling.ok("SELECT Silent");
    await checking.ok("SELECT Silent");

    // IDLE on node C looks every IDLE_CHECK_MS; IDLE on node B (30 s) hears nothing meanwhile.
    const idlingB = await polling.idle();
    const idlingC = await checking.idle();
    const delays = await changesReachIdler(writer, idlingC, "Silent", 0, IDLE_CHECK_MS + SLACK_MS);
    expect(delays.every((ms) => ms < IDLE_CHECK_MS + SLACK_MS)).toBe(true);
    expect(await idlingC.done()).toContain("* 1 EXISTS");
    expect(await idlingB.done(), "no doorbell rang: the notifier is stopped").toEqual(["+ idling"]);

    // The next command on node B shows what it was not told, whatever the command.
    const { uid } = await writer.append("Silent", testMessage(2).raw);
    expect(searched(await polling.ok("UID SEARCH ALL"))).toEqual([uid]);
    await writer.ok(`UID STORE ${uid} +FLAGS (\\Seen)`);
    expect(await polling.ok("NOOP")).toContainEqual(
      expect.stringMatching(new RegExp(`^\\* 1 FETCH \\(UID ${uid} FLAGS \\(\\\\Seen( \\\\Recent)?\\)\\)$`)),
    );
    writer.close();
    polling.close();
    checking.close();
  });

  it("logged no error in any process", () => {
    expect(cluster.errors()).toEqual([]);
  });
});
