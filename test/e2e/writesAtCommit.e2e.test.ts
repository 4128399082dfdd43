// Writes answer at commit (DESIGN.md contract 2), with every role in a process of its own as an
// operator runs them: gateways A and B, relay, projector, notifier. A command that starts after
// another's tagged OK sees its effect on the other node, whatever the projector is doing; reads
// derived from bodies answer for messages the bodies view has not reached; and when the projector
// is back the view catches up and equals a rebuild from the log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bodiesViewCaughtUp } from "../support/bodiesView.ts";
import { ProcessCluster } from "../support/processCluster.ts";
import { searched, testMessage, WireSession } from "./helpers/wireSession.ts";
import {
  appendThenAtOnce,
  bodiesViewHolds,
  bodiesViewLag,
  expectDerivedReads,
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
    cluster.start("relay", ["relay"]),
    cluster.start("projector", ["projector"]),
    cluster.start("notifier", ["notifier"]),
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

/** The views have caught up with the log, and both equal a rebuild from it (contract 6). */
async function expectViewsEqualTheLog(): Promise<void> {
  await bodiesViewCaughtUp(cluster.db.pool, CATCH_UP_MS);
  const { code, reports } = await cluster.verify();
  expect(
    reports.map((r) => ({ name: r.name, equal: r.equal })),
    JSON.stringify(reports),
  ).toEqual([
    { name: "index", equal: true },
    { name: "bodies", equal: true },
  ]);
  expect(code).toBe(0);
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

  it("leave the index and the bodies view equal to a rebuild from the log, and log no error", async () => {
    await expectViewsEqualTheLog();
    expect(cluster.errors()).toEqual([]);
  });
});
