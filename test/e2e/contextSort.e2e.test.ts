// CONTEXT=SORT (RFC 5267 4) as a client sees it: a SORT RETURN (UPDATE) stays live. Messages that
// come (from another session, here another node) or start to match are told with ADDTO at the
// position they take in the sorted result; those that stop matching or are expunged with
// REMOVEFROM at the position they had, before their EXPUNGE.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/serve/serve.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { WireSession } from "./helpers/wireSession.ts";

let server: TestMailServer;
let nodeB: RunningNode;
const USER = "sorter";
const PASSWORD = "sorter-password";

beforeAll(async () => {
  server = await startTestMailServer();
  nodeB = await server.startNode(["gateway"]);
  await server.createUser(USER, PASSWORD);
});
afterAll(async () => server?.close());

/**
 * The lines with the live search's tag (the session's own numbering of its commands) as "X",
 * without RECENT: which session claims a new message's \Recent is a race between them.
 */
const untagged = (lines: readonly string[]) =>
  lines
    .filter((line) => !/^\* \d+ RECENT$/.test(line))
    .map((line) => line.replace(/\(TAG "T\d+"\)/, '(TAG "X")'));

/** The UIDs of a sequence-set in the order written ("5,3:4" is 5, 3, 4). */
function orderedSet(text: string): number[] {
  return text.split(",").flatMap((part) => {
    const [from, to] = part.split(":").map(Number);
    if (to === undefined) return [from!];
    const step = from! <= to ? 1 : -1;
    return Array.from({ length: Math.abs(to - from!) + 1 }, (_, i) => from! + i * step);
  });
}

/**
 * A client's copy of a live UID SORT result after the ESEARCH updates among `lines` (RFC 5267
 * 4.3): each REMOVEFROM run, in turn, takes its messages from the position given; each ADDTO
 * run, in turn, puts its messages in at the position given.
 */
function applyUpdates(result: readonly number[], lines: readonly string[]): number[] {
  const kept = [...result];
  for (const line of lines) {
    const update = /^\* ESEARCH \(TAG "T\d+"\) UID(?: REMOVEFROM \(([^)]*)\))?(?: ADDTO \(([^)]*)\))?$/.exec(
      line,
    );
    if (update === null) continue;
    const runs = (text: string | undefined) => {
      const words = text?.split(" ") ?? [];
      return Array.from({ length: words.length / 2 }, (_, i) => ({
        position: Number(words[2 * i]),
        uids: orderedSet(words[2 * i + 1]!),
      }));
    };
    for (const run of runs(update[1])) {
      expect(kept.slice(run.position - 1, run.position - 1 + run.uids.length)).toEqual(run.uids);
      kept.splice(run.position - 1, run.uids.length);
    }
    for (const run of runs(update[2])) kept.splice(run.position - 1, 0, ...run.uids);
  }
  return kept;
}

/** A message whose RFC822.SIZE grows with `padding`: the sort key here. */
function sized(subject: string, padding: number): string {
  return `Subject: ${subject}\r\nFrom: a@example.org\r\n\r\n${"x".repeat(padding)}\r\n`;
}

describe("CONTEXT=SORT", () => {
  it("keeps a SORT live: ADDTO at the sorted position, REMOVEFROM before EXPUNGE", async () => {
    const writer = await WireSession.login(server.port, USER, PASSWORD, "writer@A");
    const reader = await WireSession.login(nodeB.gateway!.port, USER, PASSWORD, "reader@B");
    expect((await reader.ok("CAPABILITY"))[0]).toMatch(/ CONTEXT=SORT( |$)/);
    await writer.ok("CREATE Sized");
    const small = await writer.append("Sized", sized("small", 10));
    const large = await writer.append("Sized", sized("large", 300));
    const huge = await writer.append("Sized", sized("huge", 600));
    await writer.ok("SELECT Sized");
    await reader.ok("SELECT Sized");
    expect(untagged(await reader.ok("UID SORT RETURN (UPDATE ALL) (REVERSE SIZE) UTF-8 UNDELETED"))).toEqual([
      `* ESEARCH (TAG "X") UID ALL ${huge.uid},${large.uid},${small.uid}`,
    ]);
    // A middle-sized message from another node lands third in the reversed order.
    const middle = await writer.append("Sized", sized("middle", 100));
    const noop = untagged(await reader.ok("NOOP"));
    expect(noop).toEqual(["* 4 EXISTS", `* ESEARCH (TAG "X") UID ADDTO (3 ${middle.uid})`]);
    // \Deleted makes two stop matching: each leaves at its own position.
    await writer.ok(`UID STORE ${huge.uid},${middle.uid} +FLAGS.SILENT (\\Deleted)`);
    const flagged = untagged(await reader.ok("NOOP"));
    expect(flagged).toContain(`* ESEARCH (TAG "X") UID REMOVEFROM (1 ${huge.uid} 2 ${middle.uid})`);
    // Undeleted again, the middle one expunged: however the reader's looks group them, its
    // result kept by REMOVEFROM and ADDTO is what a fresh SORT answers.
    let kept = [large.uid, small.uid];
    await writer.ok(`UID STORE ${middle.uid} -FLAGS.SILENT (\\Deleted)`);
    kept = applyUpdates(kept, await reader.ok("NOOP"));
    expect(kept).toEqual([large.uid, middle.uid, small.uid]);
    await writer.ok(`UID STORE ${huge.uid} -FLAGS.SILENT (\\Deleted)`);
    await writer.ok(`UID STORE ${middle.uid} +FLAGS.SILENT (\\Deleted)`);
    await writer.ok(`UID EXPUNGE ${middle.uid}`);
    const expunged = await reader.ok("NOOP");
    kept = applyUpdates(kept, expunged);
    expect(kept).toEqual([huge.uid, large.uid, small.uid]);
    // REMOVEFROM of an expunged message comes before its EXPUNGE.
    const removal = expunged.findIndex((line) => line.includes(`REMOVEFROM`));
    expect(removal).toBeGreaterThanOrEqual(0);
    expect(removal).toBeLessThan(expunged.indexOf("* 4 EXPUNGE"));
    const fresh = await reader.ok("UID SORT RETURN (ALL) (REVERSE SIZE) UTF-8 UNDELETED");
    expect(fresh[0]).toMatch(new RegExp(` ALL ${kept.join(",")}$`));
    // CANCELUPDATE ends it: nothing more is told.
    await reader.ok('CANCELUPDATE "T4"');
    await writer.append("Sized", sized("tiny", 1));
    expect(untagged(await reader.ok("NOOP"))).toEqual(["* 4 EXISTS"]);
    writer.close();
    reader.close();
  });

  it("numbers by sequence for SORT without UID, in sort order", async () => {
    const writer = await WireSession.login(server.port, USER, PASSWORD, "writer2@A");
    await writer.ok("CREATE Seq");
    await writer.append("Seq", sized("b", 50));
    await writer.append("Seq", sized("a", 5));
    await writer.ok("SELECT Seq");
    expect(untagged(await writer.ok("SORT RETURN (UPDATE ALL) (SIZE) UTF-8 ALL"))).toEqual([
      '* ESEARCH (TAG "X") ALL 2,1',
    ]);
    // The session's own APPEND: told with the APPEND's answer.
    const { lines } = await writer.append("Seq", sized("c", 20));
    expect(untagged(lines.slice(0, -1))).toEqual(["* 3 EXISTS", '* ESEARCH (TAG "X") ADDTO (2 3)']);
    writer.close();
  });
});
