// The mailbox namespace over TCP with real clients (imapflow, Python's imaplib) and the raw wire:
// CREATE, DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, LIST/LSUB (patterns, references, CHILDREN,
// LIST-EXTENDED, SPECIAL-USE, LIST-STATUS), STATUS, NAMESPACE, modified UTF-7, isolation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMailbox, setMailboxSpecialUse } from "../../src/commands/index.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { asOperator, dataLines, imapflowConnected, imaplib, rawLoggedIn } from "./helpers/clients.ts";

let server: TestMailServer;
let aliceId: string;
const alice = { user: "alice", pass: "alice-password" };
const bob = { user: "bob", pass: "bob-password" };
const carol = { user: "carol", pass: "carol-password" };

beforeAll(async () => {
  server = await startTestMailServer();
  aliceId = await server.createUser(alice.user, alice.pass);
  await server.createUser(bob.user, bob.pass);
  await server.createUser(carol.user, carol.pass);
});
afterAll(async () => server?.close());

/** Untagged lines of a raw answer that start with `* WORD`. */
function untagged(lines: string[], word: string): string[] {
  return lines.filter((line) => line.startsWith(`* ${word} `));
}

describe("capabilities and NAMESPACE", () => {
  it("advertises what the namespace and write modules implement", async () => {
    const raw = await rawLoggedIn(server, alice);
    const [line] = untagged(await raw.command("c", "CAPABILITY"), "CAPABILITY");
    const capabilities = line!.split(" ").slice(2);
    for (const name of [
      "CHILDREN",
      "LIST-EXTENDED",
      "LIST-STATUS",
      "SPECIAL-USE",
      "CREATE-SPECIAL-USE",
      "NAMESPACE",
      "UIDPLUS",
      "MOVE",
      "MULTIAPPEND",
      "STATUS=SIZE",
    ]) {
      expect(capabilities).toContain(name);
    }
    expect(capabilities.some((c) => c === "APPENDLIMIT" || c.startsWith("APPENDLIMIT="))).toBe(true);
    raw.close();
  });

  it("answers NAMESPACE with the personal namespace (prefix empty, delimiter /) and the other users' Shared/", async () => {
    const raw = await rawLoggedIn(server, alice);
    const answer = await raw.command("n", "NAMESPACE");
    expect(answer).toEqual(['* NAMESPACE (("" "/")) (("Shared/" "/")) NIL', "n OK NAMESPACE completed"]);
    raw.close();

    const flow = await imapflowConnected(server, alice);
    expect(flow.namespace).toMatchObject({ prefix: "", delimiter: "/" });
    await flow.logout();

    const [result] = await imaplib(server, alice, [["namespace"]]);
    expect(dataLines(result)).toEqual(['(("" "/")) (("Shared/" "/")) NIL']);
  });
});

describe("CREATE, LIST and the hierarchy", () => {
  it("creates superiors, lists them with \\HasChildren/\\HasNoChildren, and matches * and %", async () => {
    const flow = await imapflowConnected(server, alice);
    const created = await flow.mailboxCreate("Projects/2024/Q1");
    expect(created.created).toBe(true);
    const listed = await flow.list();
    const byPath = new Map(listed.map((m) => [m.path, m]));
    expect([...byPath.keys()]).toEqual(
      expect.arrayContaining(["INBOX", "Projects", "Projects/2024", "Projects/2024/Q1"]),
    );
    expect(byPath.get("Projects")!.flags).toContain("\\HasChildren");
    expect(byPath.get("Projects/2024/Q1")!.flags).toContain("\\HasNoChildren");
    expect(byPath.get("Projects")!.delimiter).toBe("/");
    await flow.logout();

    const raw = await rawLoggedIn(server, alice);
    expect(await raw.command("l1", 'LIST "" ""')).toEqual([
      '* LIST (\\Noselect) "/" ""',
      "l1 OK LIST completed",
    ]);
    const top = untagged(await raw.command("l2", 'LIST "" %'), "LIST");
    expect(top).toContain('* LIST (\\HasNoChildren) "/" INBOX');
    expect(top).toContain('* LIST (\\HasChildren) "/" Projects');
    expect(top.some((line) => line.includes("Projects/2024"))).toBe(false);
    // The reference is prefixed to the pattern (RFC 3501 6.3.8).
    expect(untagged(await raw.command("l3", 'LIST "Projects/" %'), "LIST")).toEqual([
      '* LIST (\\HasChildren) "/" Projects/2024',
    ]);
    expect(untagged(await raw.command("l4", 'LIST "" "Projects/*"'), "LIST")).toEqual([
      '* LIST (\\HasChildren) "/" Projects/2024',
      '* LIST (\\HasNoChildren) "/" Projects/2024/Q1',
    ]);
    // INBOX is case-insensitive.
    expect(untagged(await raw.command("l5", 'LIST "" inbox'), "LIST")).toEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
    ]);
    raw.close();
  });

  it("refuses to create an existing mailbox with ALREADYEXISTS (imaplib and raw)", async () => {
    const [first, again, inbox] = await imaplib(server, alice, [
      ["create", "Receipts"],
      ["create", "Receipts"],
      ["create", "inbox"],
    ]);
    expect(first!.typ).toBe("OK");
    expect(again!.typ).toBe("NO");
    expect(dataLines(again)[0]).toMatch(/^\[ALREADYEXISTS\]/);
    expect(inbox!.typ).toBe("NO");

    const raw = await rawLoggedIn(server, alice);
    expect((await raw.command("c", "CREATE Receipts")).at(-1)).toMatch(/^c NO \[ALREADYEXISTS\] /);
    // A trailing separator only announces inferiors (RFC 3501 6.3.3).
    expect((await raw.command("d", "CREATE Travel/")).at(-1)).toMatch(
      /^d OK \[MAILBOXID \([0-9a-z]+\)\] CREATE completed$/,
    );
    expect(untagged(await raw.command("e", 'LIST "" Travel'), "LIST")).toEqual([
      '* LIST (\\HasNoChildren) "/" Travel',
    ]);
    raw.close();
  });

  it("round-trips non-ASCII names through modified UTF-7", async () => {
    const flow = await imapflowConnected(server, alice);
    await flow.mailboxCreate("Entwürfe/Été 日本");
    const listed = await flow.list();
    expect(listed.map((m) => m.path)).toEqual(expect.arrayContaining(["Entwürfe", "Entwürfe/Été 日本"]));
    const status = await flow.status("Entwürfe/Été 日本", { messages: true });
    expect(status).toMatchObject({ messages: 0 });
    await flow.logout();

    const [list, status2] = await imaplib(server, alice, [
      ["list", '""', "Entw*"],
      ["status", '"Entw&APw-rfe/&AMk-t&AOk- &ZeVnLA-"', "(MESSAGES UIDNEXT)"],
    ]);
    expect(dataLines(list)).toEqual([
      '(\\HasChildren) "/" Entw&APw-rfe',
      '(\\HasNoChildren) "/" "Entw&APw-rfe/&AMk-t&AOk- &ZeVnLA-"',
    ]);
    expect(dataLines(status2)).toEqual(['"Entw&APw-rfe/&AMk-t&AOk- &ZeVnLA-" (MESSAGES 0 UIDNEXT 1)']);

    const raw = await rawLoggedIn(server, alice);
    // Invalid modified UTF-7 is a well-formed astring that no mailbox can have as its name.
    expect((await raw.command("b", "CREATE &Jjo"))!.at(-1)).toMatch(/^b NO \[CANNOT\] /);
    expect((await raw.command("c", "SELECT &Jjo"))!.at(-1)).toMatch(/^c NO \[NONEXISTENT\] /);
    expect(untagged(await raw.command("d", 'LIST "" &Jjo*'), "LIST")).toEqual([]);
    raw.close();
  });
});

describe("DELETE", () => {
  it("deletes a mailbox, refuses INBOX and missing names", async () => {
    const flow = await imapflowConnected(server, alice);
    await flow.mailboxCreate("Scratch");
    await flow.mailboxDelete("Scratch");
    expect((await flow.list()).map((m) => m.path)).not.toContain("Scratch");
    await expect(flow.mailboxDelete("Scratch")).rejects.toMatchObject({ serverResponseCode: "NONEXISTENT" });
    await flow.logout();

    const [inbox, missing] = await imaplib(server, alice, [
      ["delete", "INBOX"],
      ["delete", "Nowhere"],
    ]);
    expect(inbox!.typ).toBe("NO");
    expect(missing!.typ).toBe("NO");
    expect(dataLines(missing)[0]).toMatch(/^\[NONEXISTENT\]/);
  });

  it("keeps a deleted name with inferiors as \\Noselect", async () => {
    const raw = await rawLoggedIn(server, alice);
    expect((await raw.command("a", "CREATE Old/Child")).at(-1)).toMatch(
      /^a OK \[MAILBOXID \([0-9a-z]+\)\] CREATE completed$/,
    );
    expect((await raw.command("b", "DELETE Old")).at(-1)).toBe("b OK DELETE completed");
    expect(untagged(await raw.command("c", 'LIST "" Old*'), "LIST")).toEqual([
      '* LIST (\\Noselect \\HasChildren) "/" Old',
      '* LIST (\\HasNoChildren) "/" Old/Child',
    ]);
    expect((await raw.command("d", "STATUS Old (MESSAGES)")).at(-1)).toMatch(/^d NO \[CANNOT\] /);
    raw.close();
  });

  it("unselects the session's own mailbox when it is deleted", async () => {
    const raw = await rawLoggedIn(server, alice);
    await raw.command("a", "CREATE Doomed");
    expect((await raw.command("b", "SELECT Doomed")).at(-1)).toMatch(/^b OK /);
    const answer = await raw.command("c", "DELETE Doomed");
    expect(answer).toContain("* OK [CLOSED] the selected mailbox was deleted");
    expect(answer.at(-1)).toBe("c OK DELETE completed");
    expect((await raw.command("d", "FETCH 1 FLAGS")).at(-1)).toMatch(/^d BAD /);
    raw.close();
  });
});

describe("RENAME", () => {
  it("renames with inferiors and refuses an existing target or a missing source", async () => {
    const flow = await imapflowConnected(server, alice);
    await flow.mailboxCreate("Trip/Photos");
    await flow.mailboxCreate("Holiday");
    await expect(flow.mailboxRename("Trip", "Holiday")).rejects.toMatchObject({
      serverResponseCode: "ALREADYEXISTS",
    });
    await flow.mailboxRename("Trip", "Journey");
    const paths = (await flow.list()).map((m) => m.path);
    expect(paths).toEqual(expect.arrayContaining(["Journey", "Journey/Photos"]));
    expect(paths).not.toContain("Trip");
    expect(paths).not.toContain("Trip/Photos");
    await flow.logout();

    const [missing] = await imaplib(server, alice, [["rename", "Nowhere", "Somewhere"]]);
    expect(missing!.typ).toBe("NO");
    expect(dataLines(missing)[0]).toMatch(/^\[NONEXISTENT\]/);
  });

  it("RENAME INBOX moves its messages to the new name and leaves INBOX empty", async () => {
    const [append, rename, inbox, moved] = await imaplib(server, carol, [
      ["append", "INBOX", null, null, "Subject: keep me\r\n\r\nbody\r\n"],
      ["rename", "INBOX", "Before"],
      ["status", "INBOX", "(MESSAGES)"],
      ["status", "Before", "(MESSAGES)"],
    ]);
    expect(append!.typ).toBe("OK");
    expect(rename!.typ).toBe("OK");
    expect(dataLines(inbox)).toEqual(["INBOX (MESSAGES 0)"]);
    expect(dataLines(moved)).toEqual(["Before (MESSAGES 1)"]);
  });
});

describe("SUBSCRIBE, LSUB and LIST-EXTENDED", () => {
  it("subscribes and unsubscribes (imapflow, imaplib) and LSUB lists the subscriptions", async () => {
    const flow = await imapflowConnected(server, alice);
    await flow.mailboxCreate("Lists/Node");
    await flow.mailboxSubscribe("Lists/Node");
    await flow.mailboxSubscribe("Receipts");
    // imapflow asks LSUB alongside LIST and marks the subscribed ones.
    const subscribed = (await flow.list()).filter((m) => m.subscribed).map((m) => m.path);
    expect(subscribed).toEqual(expect.arrayContaining(["Lists/Node", "Receipts"]));
    await flow.logout();

    const [before, unsub, after] = await imaplib(server, alice, [
      ["lsub", '""', "*"],
      ["unsubscribe", "Receipts"],
      ["lsub", '""', "*"],
    ]);
    expect(dataLines(before)).toEqual(
      expect.arrayContaining(['(\\HasNoChildren) "/" Lists/Node', '(\\HasNoChildren) "/" Receipts']),
    );
    expect(unsub!.typ).toBe("OK");
    expect(dataLines(after).some((line) => line.endsWith("Receipts"))).toBe(false);

    const raw = await rawLoggedIn(server, alice);
    // RFC 3501 6.3.9: "%" shows the unsubscribed level above a subscribed name as \Noselect.
    expect(untagged(await raw.command("a", 'LSUB "" Lists'), "LSUB")).toEqual([]);
    expect(untagged(await raw.command("b", 'LSUB "" %'), "LSUB")).toContain(
      '* LSUB (\\Noselect \\HasChildren) "/" Lists',
    );
    raw.close();
  });

  it("LIST (SUBSCRIBED), RETURN (SUBSCRIBED CHILDREN), RECURSIVEMATCH and \\NonExistent", async () => {
    const raw = await rawLoggedIn(server, alice);
    await raw.command("s1", "CREATE Gone");
    await raw.command("s2", "SUBSCRIBE Gone");
    await raw.command("s3", "DELETE Gone");
    const subscribed = untagged(await raw.command("a", 'LIST (SUBSCRIBED) "" *'), "LIST");
    expect(subscribed).toContain('* LIST (\\HasNoChildren \\Subscribed) "/" Lists/Node');
    expect(subscribed).toContain('* LIST (\\NonExistent \\Subscribed) "/" Gone');
    expect(subscribed.some((line) => line.endsWith(" Lists"))).toBe(false);

    const returned = untagged(
      await raw.command("b", 'LIST "" "Lists*" RETURN (SUBSCRIBED CHILDREN)'),
      "LIST",
    );
    expect(returned).toEqual([
      '* LIST (\\HasChildren) "/" Lists',
      '* LIST (\\HasNoChildren \\Subscribed) "/" Lists/Node',
    ]);

    const recursive = untagged(await raw.command("c", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" %'), "LIST");
    expect(recursive).toContain('* LIST (\\HasChildren) "/" Lists ("CHILDINFO" ("SUBSCRIBED"))');

    // Several patterns in one LIST (RFC 5258).
    const multi = untagged(await raw.command("d", 'LIST "" (INBOX Receipts)'), "LIST");
    expect(multi).toEqual(['* LIST (\\HasNoChildren) "/" INBOX', '* LIST (\\HasNoChildren) "/" Receipts']);
    raw.close();
  });

  it("shows special-use attributes and selects by them (RFC 6154)", async () => {
    await asOperator(server, (ctx) => createMailbox(ctx, { userId: aliceId, name: "Sent Items" }));
    await asOperator(server, (ctx) =>
      setMailboxSpecialUse(ctx, { userId: aliceId, name: "Sent Items", specialUse: "\\Sent" }),
    );
    const flow = await imapflowConnected(server, alice);
    const sent = (await flow.list()).find((m) => m.path === "Sent Items");
    expect(sent?.specialUse).toBe("\\Sent");
    await flow.logout();

    const raw = await rawLoggedIn(server, alice);
    expect(untagged(await raw.command("a", 'LIST (SPECIAL-USE) "" *'), "LIST")).toEqual([
      '* LIST (\\HasNoChildren \\Sent) "/" "Sent Items"',
    ]);
    expect(untagged(await raw.command("b", 'LIST "" "Sent*" RETURN (SPECIAL-USE)'), "LIST")).toEqual([
      '* LIST (\\HasNoChildren \\Sent) "/" "Sent Items"',
    ]);
    raw.close();
  });
});

describe("CREATE-SPECIAL-USE (RFC 6154 3)", () => {
  it("creates a mailbox with its special use, or refuses and creates nothing", async () => {
    const raw = await rawLoggedIn(server, alice);
    expect((await raw.command("a", "CREATE Brouillons (USE (\\drafts))")).at(-1)).toMatch(/^a OK/);
    expect(untagged(await raw.command("b", 'LIST "" Brouillons RETURN (SPECIAL-USE)'), "LIST")).toEqual([
      '* LIST (\\HasNoChildren \\Drafts) "/" Brouillons',
    ]);
    // Missing superiors are created plain; only the named mailbox carries the use.
    expect((await raw.command("c", "CREATE Old/Mail/Bin (USE (\\Trash))")).at(-1)).toMatch(/^c OK/);
    expect(untagged(await raw.command("d", 'LIST (SPECIAL-USE) "" Old*'), "LIST")).toEqual([
      '* LIST (\\HasNoChildren \\Trash) "/" Old/Mail/Bin',
    ]);
    // An empty USE list is a plain CREATE.
    expect((await raw.command("e", "CREATE Plain (USE ())")).at(-1)).toMatch(/^e OK/);

    expect((await raw.command("f", "CREATE Odd (USE (\\Important))")).at(-1)).toMatch(
      /^f NO \[USEATTR\] \\Important is not a special use/,
    );
    expect((await raw.command("g", "CREATE Both (USE (\\Sent \\Trash))")).at(-1)).toMatch(
      /^g NO \[USEATTR\]/,
    );
    expect((await raw.command("h", "CREATE Other (COLOR red)")).at(-1)).toMatch(
      /^h BAD .*unknown CREATE parameter COLOR/,
    );
    expect((await raw.command("i", "CREATE Other (USE (Drafts))")).at(-1)).toMatch(/^i BAD/);
    expect(
      untagged(await raw.command("j", 'LIST "" *'), "LIST").map((line) => line.split(" ").at(-1)),
    ).not.toEqual(expect.arrayContaining(["Odd", "Both", "Other"]));
    for (const name of ["Odd", "Both", "Other"]) {
      expect((await raw.command("k", `STATUS ${name} (MESSAGES)`)).at(-1)).toMatch(/^k NO \[NONEXISTENT\]/);
    }
    // The session still works after the refusals.
    expect((await raw.command("l", "SELECT Brouillons")).at(-1)).toMatch(/^l OK \[READ-WRITE\]/);
    raw.close();
  });
});

describe("STATUS and LIST-STATUS", () => {
  it("answers every STATUS item, with NONEXISTENT for a missing mailbox", async () => {
    const raw = await rawLoggedIn(server, alice);
    await raw.command("a", "CREATE Counted");
    const body = "Subject: one\r\n\r\nhello\r\n";
    await raw.command("b", `APPEND Counted (\\Seen) {${body.length}+}\r\n${body}`);
    await raw.command("c", `APPEND Counted (\\Deleted) {${body.length}+}\r\n${body}`);
    const answer = await raw.command(
      "d",
      "STATUS Counted (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE DELETED APPENDLIMIT)",
    );
    expect(answer.at(-1)).toBe("d OK STATUS completed");
    const [line] = untagged(answer, "STATUS");
    // No session has selected Counted: both messages are still \Recent for whoever does first.
    expect(line).toMatch(
      new RegExp(
        `^\\* STATUS Counted \\(MESSAGES 2 RECENT 2 UIDNEXT 3 UIDVALIDITY [1-9]\\d* UNSEEN 1 HIGHESTMODSEQ \\d+ SIZE ${
          2 * body.length
        } DELETED 1 APPENDLIMIT (\\d+|NIL)\\)$`,
      ),
    );
    expect((await raw.command("e", "STATUS Nowhere (MESSAGES)")).at(-1)).toMatch(/^e NO \[NONEXISTENT\] /);
    expect((await raw.command("f", "STATUS Counted (BOGUS)")).at(-1)).toMatch(/^f BAD /);

    // LIST-STATUS (RFC 5819): a STATUS after each selectable mailbox listed.
    const listed = await raw.command("g", 'LIST "" "Count*" RETURN (STATUS (MESSAGES UNSEEN))');
    expect(listed.slice(0, -1)).toEqual([
      '* LIST (\\HasNoChildren) "/" Counted',
      "* STATUS Counted (MESSAGES 2 UNSEEN 1)",
    ]);
    raw.close();

    const flow = await imapflowConnected(server, alice);
    const status = await flow.status("Counted", { messages: true, unseen: true, uidNext: true, size: true });
    expect(status).toMatchObject({ messages: 2, unseen: 1, uidNext: 3 });
    await flow.logout();

    const [py] = await imaplib(server, alice, [["status", "Counted", "(MESSAGES UIDNEXT)"]]);
    expect(dataLines(py)).toEqual(["Counted (MESSAGES 2 UIDNEXT 3)"]);
  });
});

describe("isolation", () => {
  it("a user never sees or reaches another user's mailboxes", async () => {
    const flow = await imapflowConnected(server, bob);
    const paths = (await flow.list()).map((m) => m.path);
    expect(paths).toEqual(["INBOX"]);
    // imapflow reports NO [NONEXISTENT] on STATUS as its own NotFound.
    await expect(flow.status("Projects", { messages: true })).rejects.toMatchObject({ code: "NotFound" });
    await flow.logout();

    const [del, rename, status] = await imaplib(server, bob, [
      ["delete", "Receipts"],
      ["rename", "Projects", "Mine"],
      ["status", "Counted", "(MESSAGES)"],
    ]);
    for (const result of [del, rename, status]) {
      expect(result!.typ).toBe("NO");
      expect(dataLines(result)[0]).toMatch(/^\[NONEXISTENT\]/);
    }
    // Bob's CREATE of a name Alice has succeeds: the names are per user.
    const [create] = await imaplib(server, bob, [["create", "Projects"]]);
    expect(create!.typ).toBe("OK");
  });
});
