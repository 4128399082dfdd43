// Shared mailboxes with ACL (RFC 4314) across two gateway processes: alice shares a folder with
// bob read-only, bob lists, selects and fetches it as Shared/alice/<name> and may not change it;
// alice grants "w" and "s", and bob's flag change reaches alice's IDLE on the other node by the
// doorbell; alice revokes, and bob's next command has lost the mailbox. Who granted what shows
// in `mailledger history`, and `projections verify` rebuilds the ACL from the log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessCluster } from "../support/processCluster.ts";
import { testMessage, WireSession } from "./helpers/wireSession.ts";

const ALICE = { user: "alice", pass: "alice-password" };
const BOB = { user: "bob", pass: "bob-password" };
/** relay → Kafka → notifier → Redis → the other node: well under a second when all is well. */
const DOORBELL_MS = 10_000;

let cluster: ProcessCluster;

beforeAll(async () => {
  cluster = await ProcessCluster.create();
  await Promise.all([
    cluster.start("gateway-a", ["gateway"]),
    cluster.start("gateway-b", ["gateway"]),
    cluster.startPipeline(),
  ]);
  await cluster.createUser(ALICE.user, ALICE.pass);
  await cluster.createUser(BOB.user, BOB.pass);
});

afterAll(async () => {
  await cluster?.close();
});

const tagged = (lines: string[]) => lines.at(-1) ?? "";

describe("a folder alice shares with bob, across two nodes", () => {
  it("read-only, then writable, then revoked", async () => {
    const alice = await WireSession.login(cluster.imapPort("gateway-a"), ALICE.user, ALICE.pass, "alice@a");
    const bob = await WireSession.login(cluster.imapPort("gateway-b"), BOB.user, BOB.pass, "bob@b");

    await alice.ok("CREATE Team");
    await alice.append("Team", testMessage(1).raw);
    await alice.append("Team", testMessage(2).raw);
    // Before any grant bob sees nothing of it, by the name it would have.
    expect(tagged(await bob.run("SELECT Shared/alice/Team"))).toMatch(/^T\d+ NO \[NONEXISTENT\]/);
    expect(tagged(await bob.run("MYRIGHTS Shared/alice/Team"))).toMatch(/^T\d+ NO \[NONEXISTENT\]/);

    expect(await alice.ok("SETACL Team bob lr")).toEqual([]);
    expect(await alice.ok("GETACL Team")).toEqual(["* ACL Team alice lrswipkxtea bob lr"]);

    // Bob: NAMESPACE, LIST (with MYRIGHTS), SELECT, FETCH.
    expect(await bob.ok("NAMESPACE")).toEqual(['* NAMESPACE (("" "/")) (("Shared/" "/")) NIL']);
    expect(await bob.ok('LIST "" "*" RETURN (MYRIGHTS)')).toEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
      "* MYRIGHTS INBOX lrswipkxtea",
      '* LIST (\\Noselect \\HasChildren) "/" Shared',
      '* LIST (\\Noselect \\HasChildren) "/" Shared/alice',
      '* LIST (\\HasNoChildren) "/" Shared/alice/Team',
      "* MYRIGHTS Shared/alice/Team lr",
    ]);
    expect(await bob.ok("MYRIGHTS Shared/alice/Team")).toEqual(["* MYRIGHTS Shared/alice/Team lr"]);
    expect(await bob.ok("STATUS Shared/alice/Team (MESSAGES UNSEEN)")).toEqual([
      "* STATUS Shared/alice/Team (MESSAGES 2 UNSEEN 2)",
    ]);
    const selected = await bob.ok("SELECT Shared/alice/Team");
    expect(selected).toContain("* 2 EXISTS");
    // RFC 4314 4: no flag bob may change with "lr".
    expect(selected).toContain("* OK [PERMANENTFLAGS ()] no permanent flags");
    const fetched = await bob.ok("FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])");
    expect(fetched.join("\n")).toContain(`Subject: ${testMessage(1).subject}`);
    // Without "s", reading does not mark the message \Seen for anyone.
    expect((await alice.ok("STATUS Team (UNSEEN)")).at(0)).toBe("* STATUS Team (UNSEEN 2)");

    // Read-only: STORE and EXPUNGE are refused, and nothing changed.
    expect(tagged(await bob.run("STORE 1 +FLAGS (\\Flagged)"))).toMatch(/^T\d+ NO \[NOPERM\] .*"w"/);
    expect(tagged(await bob.run("STORE 1 +FLAGS (\\Deleted)"))).toMatch(/^T\d+ NO \[NOPERM\] .*"t"/);
    expect(tagged(await bob.run("EXPUNGE"))).toMatch(/^T\d+ NO \[NOPERM\] .*"e"/);
    expect(tagged(await bob.run("SETACL Shared/alice/Team bob lrswi"))).toMatch(/^T\d+ NO \[NOPERM\] .*"a"/);
    expect(tagged(await bob.run("GETACL Shared/alice/Team"))).toMatch(/^T\d+ NO \[NOPERM\]/);
    // Reading is enough to copy into his own INBOX; a MOVE out needs "t" and "e".
    expect(tagged(await bob.run("UID COPY 1 INBOX"))).toMatch(/^T\d+ OK \[COPYUID \d+ 1 1\]/);
    expect(tagged(await bob.run("UID MOVE 1 INBOX"))).toMatch(/^T\d+ NO \[NOPERM\] .*"te"/);

    // Alice grants "w" and "s"; bob's flag change shows in alice's IDLE on the other node.
    await alice.ok("SELECT Team");
    await alice.ok("SETACL Team bob +ws");
    expect(await alice.ok("GETACL Team")).toEqual(["* ACL Team alice lrswipkxtea bob lrsw"]);
    const idling = await alice.idle();
    expect(await bob.ok("STORE 1 +FLAGS (\\Flagged)")).toEqual([
      expect.stringMatching(/^\* 1 FETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)$/),
    ]);
    await idling.next(/^\* 1 FETCH \((UID 1 )?FLAGS \(\\Flagged( \\Recent)?\)\)$/, DOORBELL_MS);
    await idling.done();
    // A STORE of \Deleted still needs "t".
    expect(tagged(await bob.run("STORE 2 +FLAGS (\\Deleted)"))).toMatch(/^T\d+ NO \[NOPERM\]/);

    // Alice revokes: bob's next command has lost the mailbox, and so has every later one.
    await alice.ok("DELETEACL Team bob");
    expect(await alice.ok("GETACL Team")).toEqual(["* ACL Team alice lrswipkxtea"]);
    expect(tagged(await bob.run("FETCH 1 FLAGS"))).toMatch(/^T\d+ NO \[NONEXISTENT\]/);
    expect(tagged(await bob.run("STORE 1 -FLAGS (\\Flagged)"))).toMatch(/^T\d+ NO \[NONEXISTENT\]/);
    expect(tagged(await bob.run("SELECT Shared/alice/Team"))).toMatch(/^T\d+ NO \[NONEXISTENT\]/);
    const listed = await bob.ok('LIST "" "*"');
    expect(listed).toEqual(['* LIST (\\HasNoChildren) "/" INBOX']);
    // Alice's mailbox kept bob's change and nothing else.
    expect(await alice.ok("FETCH 1:2 FLAGS")).toEqual([
      expect.stringMatching(/^\* 1 FETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)$/),
      expect.stringMatching(/^\* 2 FETCH \(FLAGS \(( ?\\Recent)?\)\)$/),
    ]);
    alice.close();
    bob.close();

    // The log tells who granted what to whom, and the index rebuilds from it.
    const history = await cluster.cli(["history", "alice", "Team"]);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/alice\t.*granted bob the rights "lr" on Team/);
    expect(history.stdout).toMatch(/granted bob the rights "lrsw" on Team/);
    expect(history.stdout).toMatch(/removed every right of bob on Team/);
    expect(history.stdout).toMatch(/bob\t.*STORE/);
    const verified = await cluster.verify("index");
    expect(verified.code).toBe(0);
  });
});
