// Writes answer at commit (DESIGN.md contract 2), with every role in a process of its own as an
// operator runs them: gateways A and B, relay, projector, notifier. A command that starts after
// another's tagged OK sees its effect on the other node, whatever the projector is doing and
// whether or not the doorbell came first; reads derived from bodies answer for messages the bodies
// view has not reached; acknowledged means done (an APPENDUID can be stored to and expunged at
// once, and a STORE or EXPUNGE writes nothing only for UIDs not in the mailbox); and when the
// projector is back the view catches up and equals a rebuild from the log.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMailboxNotice, type MailboxNotice } from "../../src/projections/notices/notice.ts";
import { bodiesViewCaughtUp } from "../support/bodiesView.ts";
import { ProcessCluster } from "../support/processCluster.ts";
import { TEST_REDIS_URL } from "../support/services.ts";
import { searched, testMessage, WireSession } from "./helpers/wireSession.ts";
import {
  appendThenAtOnce,
  bodiesViewHolds,
  bodiesViewLag,
  expectDerivedReads,
  expectViewsVerifyEqual,
  mailboxIdOf,
  messageEventsOf,
  readsAfterOk,
} from "./helpers/writeScenarios.ts";

type Gateway = "gateway-a" | "gateway-b";
const USER = "ann";
const PASSWORD = "secret-password";
/** The bodies view, fed through Kafka, reaches the log's head within this once its projector runs. */
const CATCH_UP_MS = 60_000;

let cluster: ProcessCluster;
let userId: string;

beforeAll(async () => {
  cluster = await ProcessCluster.create();
  await Promise.all([
    cluster.start("gateway-a", ["gateway"]),
    cluster.start("gateway-b", ["gateway"]),
    cluster.startPipeline(),
    cluster.createUser(USER, PASSWORD).then((id) => {
      userId = id;
    }),
  ]);
});

afterAll(async () => {
  await cluster?.close();
});

const login = (node: Gateway, name: string = node) =>
  WireSession.login(cluster.imapPort(node), USER, PASSWORD, name);

/**
 * What a gateway does on a doorbell (read the index, queue what changed) takes a few milliseconds
 * after the notice is on the channel. Waiting this long lets it happen before the next command:
 * the case under test. Were the machine too slow for it, the test would pass without the case.
 */
const DOORBELL_SETTLE_MS = 200;
const NOTIFIER_READY_MS = 60_000;

/** The notices the notifier publishes for this cluster, as they come. */
async function listenToDoorbells(): Promise<{
  rung(mailboxId: string, highestModSeq: number, timeoutMs: number): Promise<void>;
  close(): void;
}> {
  const listener = new Redis(TEST_REDIS_URL);
  const notices: MailboxNotice[] = [];
  const waiters = new Set<() => void>();
  listener.on("message", (_channel: string, text: string) => {
    const notice: unknown = JSON.parse(text);
    if (isMailboxNotice(notice)) notices.push(notice);
    for (const wake of [...waiters]) wake();
  });
  await listener.subscribe(cluster.noticeChannel);
  return {
    async rung(mailboxId, highestModSeq, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!notices.some((n) => n.mailboxId === mailboxId && (n.highestModSeq ?? 0) >= highestModSeq)) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`no doorbell for ${mailboxId} at MODSEQ ${highestModSeq} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          };
          const timer = setTimeout(done, left);
          waiters.add(done);
        });
      }
    },
    close: () => listener.disconnect(),
  };
}

/** The views have caught up with the log, and both equal a rebuild from it (contract 6). */
async function expectViewsEqualTheLog(): Promise<void> {
  await bodiesViewCaughtUp(cluster.db.pool, CATCH_UP_MS);
  await expectViewsVerifyEqual(cluster);
}

describe("gateways, relay, projector and notifier in processes of their own", () => {
  it("show each write on the other node to the next command after its OK", async () => {
    const writer = await login("gateway-a", "writer@gateway-a");
    const reader = await login("gateway-b", "reader@gateway-b");
    await readsAfterOk(writer, reader, "Work");
    writer.close();
    reader.close();
  });

  it("answer every read exactly with the projector stopped; the view catches up when it is back", async () => {
    expect(await cluster.stop("projector")).toEqual({ code: 0, signal: null });
    const writer = await login("gateway-b", "writer@gateway-b");
    const reader = await login("gateway-a", "reader@gateway-a");
    await readsAfterOk(writer, reader, "Drafts");

    // The newest messages, appended on both nodes: the bodies view has not seen them.
    await writer.ok("CREATE Fresh");
    const fresh = [
      { n: 11, uid: (await writer.append("Fresh", testMessage(11).raw)).uid },
      { n: 12, uid: (await reader.append("Fresh", testMessage(12).raw)).uid },
      { n: 13, uid: (await writer.append("Fresh", testMessage(13).raw)).uid },
    ];
    const freshUids = fresh.map((m) => m.uid);
    const freshId = await mailboxIdOf(cluster.db.pool, userId, "Fresh");
    expect(await bodiesViewHolds(cluster.db.pool, freshId, freshUids)).toBe(0);
    const whileStopped: string[][] = [];
    for (const session of [writer, reader]) {
      expect(await session.ok("SELECT Fresh")).toContain("* 3 EXISTS");
      for (const { n, uid } of fresh) whileStopped.push(await expectDerivedReads(session, uid, n));
    }
    expect(await bodiesViewHolds(cluster.db.pool, freshId, freshUids)).toBe(0);

    await cluster.start("projector", ["projector"]);
    await bodiesViewCaughtUp(cluster.db.pool, CATCH_UP_MS);
    expect(await bodiesViewHolds(cluster.db.pool, freshId, freshUids)).toBe(3);
    // The same answers now that they come from the view.
    const fromView: string[][] = [];
    for (const session of [writer, reader]) {
      for (const { n, uid } of fresh) fromView.push(await expectDerivedReads(session, uid, n));
    }
    expect(fromView).toEqual(whileStopped);
    writer.close();
    reader.close();
    await expectViewsEqualTheLog();
  });

  it("take effect at once for each command after an APPEND OK, projector running", async () => {
    await appendThenAtOnce(login, cluster.db.pool, userId, "Busy", 8);
  });

  it("take effect at once for each command after an APPEND OK, projector paused", async () => {
    await cluster.pause("projector");
    try {
      await appendThenAtOnce(login, cluster.db.pool, userId, "Lagging", 8);
      // All of it answered while the bodies view stood still behind the log.
      expect(await bodiesViewLag(cluster.db.pool, userId)).toBeGreaterThan(8 * 4);
    } finally {
      await cluster.resume("projector");
    }
  });

  it("answer STORE and EXPUNGE with nothing written only for UIDs not in the mailbox", async () => {
    const a = await login("gateway-a");
    const b = await login("gateway-b");
    await a.ok("CREATE Sparse");
    await b.ok("SELECT Sparse");
    await a.ok("SELECT Sparse");
    const present = await a.append("Sparse", testMessage(1).raw);
    const gone = await a.append("Sparse", testMessage(2).raw, "\\Deleted");
    await a.ok(`UID EXPUNGE ${gone.uid}`);
    await b.ok("NOOP");
    expect(searched(await b.ok("UID SEARCH ALL"))).toEqual([present.uid]);
    const absent = gone.uid + 1000;
    const mailboxId = await mailboxIdOf(cluster.db.pool, userId, "Sparse");
    const before = await messageEventsOf(cluster.db.pool, mailboxId);

    // Not in the mailbox: OK, no answer about them, and nothing in the log.
    for (const command of [
      `UID STORE ${absent} +FLAGS (\\Flagged)`,
      `UID STORE ${gone.uid} +FLAGS (\\Flagged)`,
      `UID STORE ${absent}:${absent + 10} -FLAGS (\\Seen)`,
      `UID EXPUNGE ${absent}`,
      `UID EXPUNGE ${gone.uid}`,
    ]) {
      const answer = await b.ok(command);
      expect(
        answer.filter((line) => / FETCH | EXPUNGE$/.test(line)),
        command,
      ).toEqual([]);
    }
    expect((await messageEventsOf(cluster.db.pool, mailboxId)).count).toBe(before.count);

    // In the mailbox, whether or not this session has been told of it yet: written, and answered.
    const latest = await a.append("Sparse", testMessage(3).raw);
    const stored = await b.ok(`UID STORE ${latest.uid},${absent} +FLAGS (\\Answered)`);
    expect(stored.filter((line) => / FETCH /.test(line))).toEqual([
      `* 2 FETCH (UID ${latest.uid} FLAGS (\\Answered))`,
    ]);
    await b.ok(`UID STORE ${latest.uid} +FLAGS.SILENT (\\Deleted)`);
    expect(await b.ok(`UID EXPUNGE ${latest.uid},${gone.uid},${absent}`)).toEqual(["* 2 EXPUNGE"]);
    const after = await messageEventsOf(cluster.db.pool, mailboxId);
    expect(after.flagged.slice(before.flagged.length)).toEqual([
      { uid: latest.uid, flags: ["\\Answered"] },
      { uid: latest.uid, flags: ["\\Answered", "\\Deleted"] },
    ]);
    expect(after.expunged.slice(before.expunged.length)).toEqual([latest.uid]);
    expect(searched(await a.ok("UID SEARCH ALL"))).toEqual([present.uid]);
    a.close();
    b.close();
  });

  it("include another node's APPEND in a command that starts after its doorbell came", async () => {
    const doorbells = await listenToDoorbells();
    const writer = await login("gateway-b");
    const reader = await login("gateway-a");
    await writer.ok("CREATE Rung");
    const selected = await reader.ok("SELECT Rung");
    const mailboxId = await mailboxIdOf(cluster.db.pool, userId, "Rung");
    const modseqOf = async () =>
      Number(/HIGHESTMODSEQ (\d+)/.exec((await writer.ok("STATUS Rung (HIGHESTMODSEQ)"))[0]!)![1]);
    expect(selected).toContain("* 0 EXISTS");
    /** APPEND on node B; resolves once node A has had the doorbell and time to act on it. */
    const appendAndRing = async (n: number) => {
      const { uid } = await writer.append("Rung", testMessage(n).raw);
      await doorbells.rung(mailboxId, await modseqOf(), NOTIFIER_READY_MS);
      await new Promise((resolve) => setTimeout(resolve, DOORBELL_SETTLE_MS));
      return uid;
    };
    try {
      const first = await appendAndRing(1);
      const search = await reader.ok("UID SEARCH ALL");
      expect(search).toEqual(["* 1 EXISTS", "* 1 RECENT", `* SEARCH ${first}`]);

      const second = await appendAndRing(2);
      const fetched = await reader.ok(`UID FETCH ${second} (FLAGS)`);
      expect(fetched).toEqual(["* 2 EXISTS", "* 2 RECENT", `* 2 FETCH (UID ${second} FLAGS (\\Recent))`]);

      const third = await appendAndRing(3);
      const stored = await reader.ok(`UID STORE ${third} +FLAGS (\\Flagged)`);
      expect(stored).toEqual([
        "* 3 EXISTS",
        "* 3 RECENT",
        `* 3 FETCH (UID ${third} FLAGS (\\Flagged \\Recent))`,
      ]);
      expect((await messageEventsOf(cluster.db.pool, mailboxId)).flagged).toEqual([
        { uid: third, flags: ["\\Flagged"] },
      ]);
    } finally {
      doorbells.close();
      writer.close();
      reader.close();
    }
  });

  it("leave the index and the bodies view equal to a rebuild from the log, and log no error", async () => {
    await expectViewsEqualTheLog();
    expect(cluster.errors()).toEqual([]);
  });
});
