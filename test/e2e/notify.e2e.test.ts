// NOTIFY (RFC 5465) as a client sees it on the wire: the changes another node makes reach a
// NOTIFY client on this node between its commands, through the doorbell, read from the index:
// STATUS of the other mailboxes, LIST for names and subscriptions, EXISTS/FETCH/EXPUNGE of the
// selected one. A node that hears no doorbell at all still tells at the next NOOP (contract 9).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryNoticeBus } from "../../src/projections/notices/memoryNoticeBus.ts";
import type { RunningNode } from "../../src/serve/serve.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { COMMAND_TIMEOUT_MS, testMessage, WireSession } from "./helpers/wireSession.ts";

/** Node A's change → Redis → node B's look at the index: far less on an idle machine. */
const NOTICE_MS = 10_000;
/** How long a test waits to be sure that nothing comes. */
const QUIET_MS = 700;

let server: TestMailServer;
/** A second gateway on the same database: notices reach it through Redis. */
let nodeB: RunningNode;
/** A gateway whose notice bus hears nothing: no doorbell ever rings there. */
let deafNode: RunningNode;
const PASSWORD = "notify-password";
let user = 0;

beforeAll(async () => {
  server = await startTestMailServer();
  nodeB = await server.startNode(["gateway"]);
  deafNode = await server.startNode(["gateway"], { notices: createMemoryNoticeBus() });
});
afterAll(async () => server?.close());

/** A user of their own per test, logged in on node A (the writer) and node B (the listener). */
async function sessions(): Promise<{ writer: WireSession; listener: WireSession; name: string }> {
  user += 1;
  const name = `notify${user}`;
  await server.createUser(name, PASSWORD);
  const writer = await WireSession.login(server.port, name, PASSWORD, `${name}@A`);
  const listener = await WireSession.login(nodeB.gateway!.port, name, PASSWORD, `${name}@B`);
  return { writer, listener, name };
}

/** Waits for an unsolicited line (sent between commands) after the `from`th line. */
async function unsolicited(session: WireSession, match: RegExp, from: number): Promise<string> {
  try {
    return await session.client.waitFor((line) => match.test(line), NOTICE_MS, from);
  } catch (error) {
    const seen = session.client.lines.slice(from);
    throw new Error(
      `${session.name}: no ${match} within ${NOTICE_MS} ms; got ${JSON.stringify(seen)}: ${error}`,
    );
  }
}

async function quiet(session: WireSession, from: number): Promise<string[]> {
  await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
  return session.client.lines.slice(from);
}

describe("NOTIFY", () => {
  it("is advertised, and SET STATUS reports the watched mailboxes at once, the selected one aside", async () => {
    const { writer, listener } = await sessions();
    const capabilities = await listener.ok("CAPABILITY");
    expect(capabilities[0]).toMatch(/ NOTIFY( |$)/);
    await writer.ok("CREATE Lists");
    await writer.append("Lists", testMessage(1).raw);
    await writer.append("Lists", testMessage(2).raw, "\\Seen");
    await listener.ok("SELECT INBOX");
    const lines = await listener.ok("NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange))");
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^\* STATUS Lists \(MESSAGES 2 UIDNEXT 3 UIDVALIDITY \d+ UNSEEN 1 HIGHESTMODSEQ \d+\)$/,
      ),
    );
    expect(lines.filter((line) => line.startsWith("* STATUS INBOX"))).toEqual([]);
    // Without STATUS, nothing is said until something changes.
    expect(await listener.ok("NOTIFY SET (personal (MessageNew MessageExpunge))")).toEqual([]);
    writer.close();
    listener.close();
  });

  it("answers NO [BADEVENT] for events it does not send, and BAD for what RFC 5465 forbids", async () => {
    const { writer, listener } = await sessions();
    const badEvent = await listener.run("NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))");
    expect(badEvent.at(-1)).toMatch(
      /^T\d+ NO \[BADEVENT \(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange\)\]/,
    );
    expect((await listener.run("NOTIFY SET (selected (MailboxName))")).at(-1)).toMatch(/^T\d+ BAD /);
    expect((await listener.run("NOTIFY SET (selected (MessageNew))")).at(-1)).toMatch(/^T\d+ BAD /);
    expect(
      (await listener.run("NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed NONE)")).at(
        -1,
      ),
    ).toMatch(/^T\d+ BAD /);
    expect((await listener.run("NOTIFY SET (nowhere (MessageNew))")).at(-1)).toMatch(/^T\d+ BAD /);
    const names = Array.from({ length: 1_001 }, (_, i) => `M${i}`).join(" ");
    expect(
      (await listener.run(`NOTIFY SET (mailboxes (${names}) (MessageNew MessageExpunge))`)).at(-1),
    ).toMatch(/^T\d+ NO \[NOTIFICATIONOVERFLOW\]/);
    writer.close();
    listener.close();
  });

  it("sends STATUS for new, expunged and flagged messages of another mailbox changed on another node", async () => {
    const { writer, listener } = await sessions();
    await writer.ok("CREATE Watched");
    await writer.ok("CREATE Unwatched");
    await listener.ok("SELECT INBOX");
    await listener.ok("NOTIFY SET (mailboxes Watched (MessageNew MessageExpunge FlagChange))");

    let from = listener.client.lines.length;
    const { uid } = await writer.append("Watched", testMessage(1).raw);
    expect(await unsolicited(listener, /^\* STATUS Watched /, from)).toMatch(
      /^\* STATUS Watched \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1 HIGHESTMODSEQ \d+\)$/,
    );

    from = listener.client.lines.length;
    await writer.ok("SELECT Watched");
    await writer.ok(`UID STORE ${uid} +FLAGS (\\Seen)`);
    expect(await unsolicited(listener, /^\* STATUS Watched /, from)).toMatch(
      /^\* STATUS Watched \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 0 HIGHESTMODSEQ \d+\)$/,
    );

    from = listener.client.lines.length;
    await writer.ok(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
    await writer.ok("EXPUNGE");
    expect(await unsolicited(listener, /^\* STATUS Watched \(MESSAGES 0 /, from)).toMatch(
      /^\* STATUS Watched \(MESSAGES 0 UIDNEXT 2 /,
    );

    // A mailbox no group names says nothing.
    from = listener.client.lines.length;
    await writer.append("Unwatched", testMessage(2).raw);
    expect((await quiet(listener, from)).filter((line) => line.includes("Unwatched"))).toEqual([]);
    writer.close();
    listener.close();
  });

  it("sends LIST for mailboxes made, renamed and deleted, and for subscriptions", async () => {
    const { writer, listener } = await sessions();
    await listener.ok("NOTIFY SET (personal (MailboxName SubscriptionChange))");
    let from = listener.client.lines.length;
    await writer.ok("CREATE Projects");
    expect(await unsolicited(listener, /^\* LIST /, from)).toBe('* LIST () "/" Projects');

    from = listener.client.lines.length;
    await writer.ok("RENAME Projects Archive");
    expect(await unsolicited(listener, /^\* LIST /, from)).toBe(
      '* LIST () "/" Archive ("OLDNAME" (Projects))',
    );

    from = listener.client.lines.length;
    await writer.ok("SUBSCRIBE Archive");
    expect(await unsolicited(listener, /^\* LIST /, from)).toBe('* LIST (\\Subscribed) "/" Archive');

    from = listener.client.lines.length;
    await writer.ok("UNSUBSCRIBE Archive");
    expect(await unsolicited(listener, /^\* LIST /, from)).toBe('* LIST () "/" Archive');

    from = listener.client.lines.length;
    await writer.ok("DELETE Archive");
    expect(await unsolicited(listener, /^\* LIST /, from)).toBe('* LIST (\\NonExistent) "/" Archive');
    writer.close();
    listener.close();
  });

  it("SELECTED: new messages come at once with the FETCH asked for, and expunges too", async () => {
    const { writer, listener } = await sessions();
    await writer.append("INBOX", testMessage(1).raw);
    // The writer has INBOX selected too.
    await writer.ok("SELECT INBOX");
    await listener.ok("SELECT INBOX");
    await listener.ok(
      "NOTIFY SET (selected (MessageNew (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge FlagChange))",
    );
    let from = listener.client.lines.length;
    const second = testMessage(2);
    const { uid } = await writer.append("INBOX", second.raw);
    expect(await unsolicited(listener, /^\* 2 EXISTS$/, from)).toBe("* 2 EXISTS");
    const fetch = await unsolicited(listener, /^\* 2 FETCH /, from);
    // \Recent goes to exactly one of the two sessions that have INBOX selected: the writer's
    // claim after its commit and the listener's on the doorbell race (RFC 3501 2.3.2 names none).
    expect(fetch).toMatch(
      new RegExp(
        `^\\* 2 FETCH \\(UID ${uid} FLAGS \\((\\\\Recent)?\\) BODY\\[HEADER\\.FIELDS \\(SUBJECT\\)\\] \\{\\d+\\}$`,
      ),
    );
    expect(listener.client.lines.join("\n")).toContain(`Subject: ${second.subject}`);

    from = listener.client.lines.length;
    await writer.ok(`UID STORE ${uid} +FLAGS (\\Flagged)`);
    expect(await unsolicited(listener, /^\* 2 FETCH \(UID/, from)).toMatch(
      /^\* 2 FETCH \(UID \d+ FLAGS \(\\Flagged\)\)$/,
    );

    from = listener.client.lines.length;
    await writer.ok(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
    await writer.ok("EXPUNGE");
    expect(await unsolicited(listener, /^\* 2 EXPUNGE$/, from)).toBe("* 2 EXPUNGE");
    // The new message was never fetched with \Seen: it is still unseen.
    expect(await listener.ok("STATUS INBOX (UNSEEN)")).toEqual(["* STATUS INBOX (UNSEEN 1)"]);
    writer.close();
    listener.close();
  });

  it("SELECTED-DELAYED keeps expunges for a command that may carry them; NOTIFY NONE sends nothing unasked", async () => {
    const { writer, listener } = await sessions();
    const { uid } = await writer.append("INBOX", testMessage(1).raw);
    await writer.ok("SELECT INBOX");
    await listener.ok("SELECT INBOX");
    await listener.ok("NOTIFY SET (selected-delayed (MessageNew MessageExpunge))");
    let from = listener.client.lines.length;
    await writer.ok(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
    await writer.ok("EXPUNGE");
    expect(await quiet(listener, from)).toEqual([]);
    expect(await listener.ok("NOOP")).toEqual(["* 1 EXPUNGE"]);

    await listener.ok("NOTIFY NONE");
    from = listener.client.lines.length;
    await writer.append("INBOX", testMessage(2).raw);
    await writer.ok("CREATE Silent");
    expect(await quiet(listener, from)).toEqual([]);
    // The selected mailbox's changes still come where IMAP itself sends them.
    expect(await listener.ok("NOOP")).toContain("* 1 EXISTS");
    writer.close();
    listener.close();
  });

  it("tells an IDLE client with no mailbox selected, and IDLE's DONE ends it as usual", async () => {
    const { writer, listener } = await sessions();
    await listener.ok("NOTIFY SET (personal (MailboxName))");
    const idling = await listener.idle();
    await writer.ok("CREATE WhileIdle");
    expect(await idling.next(/^\* LIST /, NOTICE_MS)).toBe('* LIST () "/" WhileIdle');
    await idling.done();
    writer.close();
    listener.close();
  });

  it("a node that hears no doorbell tells at the next NOOP, from the index", async () => {
    user += 1;
    const name = `notify${user}`;
    await server.createUser(name, PASSWORD);
    const writer = await WireSession.login(server.port, name, PASSWORD, `${name}@A`);
    const deaf = await WireSession.login(deafNode.gateway!.port, name, PASSWORD, `${name}@deaf`);
    await writer.ok("CREATE Quiet");
    await deaf.ok("NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))");
    const from = deaf.client.lines.length;
    await writer.append("Quiet", testMessage(1).raw);
    await writer.ok("CREATE Later");
    expect(await quiet(deaf, from)).toEqual([]);
    const lines = await deaf.ok("NOOP", COMMAND_TIMEOUT_MS);
    expect(lines).toContainEqual(expect.stringMatching(/^\* STATUS Quiet \(MESSAGES 1 UIDNEXT 2 /));
    expect(lines).toContain('* LIST () "/" Later');
    writer.close();
    deaf.close();
  });
});
