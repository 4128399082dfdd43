// The ACL commands (RFC 4314) over the raw wire: each one's answers, its error paths, and what
// each right lets another user do on a shared mailbox (section 4), "anyone" included.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { last, literal, rawLoggedIn, send } from "./helpers/clients.ts";

let server: TestMailServer;
const alice = { user: "alice", pass: "alice-password" };
const bob = { user: "bob", pass: "bob-password" };
const carol = { user: "carol", pass: "carol-password" };
const MESSAGE = "From: a@example.org\r\nSubject: team news\r\n\r\nhello team\r\n";

let a: RawImapClient;
let b: RawImapClient;

beforeAll(async () => {
  server = await startTestMailServer();
  for (const account of [alice, bob, carol]) await server.createUser(account.user, account.pass);
  a = await rawLoggedIn(server, alice);
  b = await rawLoggedIn(server, bob);
  for (const command of ["CREATE Team", "CREATE Team/Sub", "CREATE Other"]) {
    expect(await last(a, command)).toMatch(/^OK/);
  }
  expect(await last(a, `APPEND Team ${literal(MESSAGE)}`)).toMatch(/^OK/);
});
afterAll(async () => {
  a?.close();
  b?.close();
  await server?.close();
});

describe("ACL commands", () => {
  it("are advertised with their rights and LIST-MYRIGHTS", async () => {
    const capability = (await send(a, "CAPABILITY"))[0]!;
    expect(capability.split(" ")).toEqual(expect.arrayContaining(["ACL", "RIGHTS=texk", "LIST-MYRIGHTS"]));
  });

  it("answer the owner: all rights, the implicit entry, LISTRIGHTS", async () => {
    expect(await send(a, "MYRIGHTS Team")).toEqual(["* MYRIGHTS Team lrswipkxtea", "OK MYRIGHTS completed"]);
    expect(await send(a, "GETACL Team")).toEqual(["* ACL Team alice lrswipkxtea", "OK GETACL completed"]);
    expect(await send(a, "LISTRIGHTS Team bob")).toEqual([
      '* LISTRIGHTS Team bob "" l r s w i p k x t e a',
      "OK LISTRIGHTS completed",
    ]);
    expect(await send(a, "LISTRIGHTS Team alice")).toEqual([
      "* LISTRIGHTS Team alice lrswipkxtea",
      "OK LISTRIGHTS completed",
    ]);
    expect(await send(a, 'LIST "" "T*" RETURN (MYRIGHTS)')).toEqual([
      '* LIST (\\HasChildren) "/" Team',
      "* MYRIGHTS Team lrswipkxtea",
      '* LIST (\\HasNoChildren) "/" Team/Sub',
      "* MYRIGHTS Team/Sub lrswipkxtea",
      "OK LIST completed",
    ]);
  });

  it("refuse what cannot be done, each with its code", async () => {
    expect(await last(a, "SETACL Nope bob lr")).toMatch(/^NO \[NONEXISTENT\] no mailbox named "Nope"/);
    expect(await last(a, "SETACL Team nobody lr")).toMatch(/^NO \[NONEXISTENT\] no user named "nobody"/);
    expect(await last(a, "SETACL Team bob lrz")).toMatch(/^BAD "z" is not a right/);
    expect(await last(a, "SETACL Team bob +Q")).toMatch(/^BAD "Q" is not a right/);
    expect(await last(a, "SETACL Team alice lr")).toMatch(
      /^NO \[CANNOT\] the owner of a mailbox has every right/,
    );
    expect(await last(a, "DELETEACL Team alice")).toMatch(/^NO \[CANNOT\]/);
    expect(await last(a, "SETACL Team bob")).toMatch(/^BAD SETACL: /);
    expect(await last(a, "DELETEACL Team")).toMatch(/^BAD DELETEACL: /);
    expect(await last(a, "LISTRIGHTS Team")).toMatch(/^BAD LISTRIGHTS: /);
    expect(await last(a, "GETACL")).toMatch(/^BAD GETACL: /);
    expect(await last(a, "MYRIGHTS")).toMatch(/^BAD MYRIGHTS: /);
    expect(await last(a, "GETACL Nope")).toMatch(/^NO \[NONEXISTENT\]/);
    expect(await last(a, "LISTRIGHTS Nope bob")).toMatch(/^NO \[NONEXISTENT\]/);
    expect(await last(a, "MYRIGHTS Nope")).toMatch(/^NO \[NONEXISTENT\]/);
    expect(await last(a, "DELETEACL Nope bob")).toMatch(/^NO \[NONEXISTENT\]/);
    // Deleting an entry there is not is no error, and no event.
    expect(await last(a, "DELETEACL Team bob")).toMatch(/^OK/);
    // Before LOGIN the commands do not exist for the client.
    const anonymous = await (
      await import("../../src/imap-gateway/testing/rawClient.ts")
    ).RawImapClient.connect(server.port, server.host);
    await anonymous.greeting();
    expect((await anonymous.command("x", "GETACL INBOX")).at(-1)).toMatch(/^x BAD/);
    anonymous.close();
  });

  it("let another user do what each right allows, and nothing more", async () => {
    expect(await last(a, "SETACL Team bob lri")).toMatch(/^OK/);
    expect(await send(b, "MYRIGHTS Shared/alice/Team")).toEqual([
      "* MYRIGHTS Shared/alice/Team lri",
      "OK MYRIGHTS completed",
    ]);
    // Team/Sub is not shared: not there for bob, though its superior is.
    expect(await last(b, "MYRIGHTS Shared/alice/Team/Sub")).toMatch(/^NO \[NONEXISTENT\]/);
    expect(await last(b, "GETACL Shared/alice/Team")).toMatch(/^NO \[NOPERM\] GETACL needs the right "a"/);
    expect(await last(b, "LISTRIGHTS Shared/alice/Team bob")).toMatch(/^NO \[NOPERM\]/);
    expect(await last(b, "DELETEACL Shared/alice/Team bob")).toMatch(/^NO \[NOPERM\]/);
    // "i": APPEND, without the flags bob may not set ("s" \Seen, "w" keywords).
    expect(await last(b, `APPEND Shared/alice/Team (\\Seen \\Flagged) ${literal(MESSAGE)}`)).toMatch(
      /^OK \[APPENDUID \d+ 2\]/,
    );
    expect(await send(a, "EXAMINE Team")).toContain("* 2 EXISTS");
    expect((await send(a, "FETCH 2 FLAGS"))[0]).toMatch(/^\* 2 FETCH \(FLAGS \((\\Recent)?\)\)$/);
    // No "x": DELETE refused; no "t"/"e": MOVE out refused; COPY within alice's mailboxes needs "i" there.
    expect(await last(b, "DELETE Shared/alice/Team")).toMatch(/^NO \[NOPERM\] DELETE needs the right "x"/);
    expect(await last(b, "RENAME Shared/alice/Team Mine")).toMatch(/^NO \[NOPERM\]/);
    expect(await last(b, "CREATE Shared/alice/Team/New")).toMatch(/^NO \[CANNOT\]/);
    const selected = await send(b, "SELECT Shared/alice/Team");
    expect(selected.at(-1)).toMatch(/^OK \[READ-WRITE\]/);
    expect(selected).toContain("* OK [PERMANENTFLAGS ()] no permanent flags");
    expect(await last(a, "SETACL Team bob +st")).toMatch(/^OK/);
    expect(await send(b, "SELECT Shared/alice/Team")).toContain(
      "* OK [PERMANENTFLAGS (\\Deleted \\Seen)] flags permitted",
    );
    expect(await last(a, "SETACL Team bob -st")).toMatch(/^OK/);
    expect(await last(b, "UID MOVE 1 Shared/alice/Team")).toMatch(/^NO \[NOPERM\] MOVE needs the right "te"/);
    expect(await last(a, "SETACL Other bob lr")).toMatch(/^OK/);
    expect(await last(b, "UID COPY 1 Shared/alice/Other")).toMatch(
      /^NO \[NOPERM\] COPY into "Other" needs the right "i"/,
    );
    expect(await last(a, "SETACL Other bob +i")).toMatch(/^OK/);
    expect(await last(b, "UID COPY 1 Shared/alice/Other")).toMatch(/^OK \[COPYUID /);
    // "a": bob administers the ACL, for carol, and GETACL shows every entry.
    expect(await last(a, "SETACL Team bob +a")).toMatch(/^OK/);
    expect(await last(b, "SETACL Shared/alice/Team carol lr")).toMatch(/^OK/);
    expect(await send(b, "GETACL Shared/alice/Team")).toEqual([
      "* ACL Shared/alice/Team alice lrswipkxtea bob lria carol lr",
      "OK GETACL completed",
    ]);
    // "x": bob may delete it.
    expect(await last(a, "SETACL Other bob +x")).toMatch(/^OK/);
    expect(await last(b, "DELETE Shared/alice/Other")).toMatch(/^OK/);
    expect(await last(a, "STATUS Other (MESSAGES)")).toMatch(/^NO \[NONEXISTENT\]/);
    expect(await last(b, "UNSELECT")).toMatch(/^OK/);
  });

  it('leave a mailbox of one\'s own named "Shared" alone; only the names under "Shared/" are others\'', async () => {
    const c = await rawLoggedIn(server, carol);
    expect(await last(c, "CREATE Shared")).toMatch(/^OK/);
    expect(await last(c, "CREATE Shared/Mine")).toMatch(/^NO \[CANNOT\] CREATE: the names under "Shared\/"/);
    expect(await last(c, "RENAME Shared Shared/Mine")).toMatch(/^NO \[CANNOT\]/);
    expect(await send(c, 'LIST "" "*"')).toEqual([
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasChildren) "/" Shared',
      '* LIST (\\Noselect \\HasChildren) "/" Shared/alice',
      '* LIST (\\HasNoChildren) "/" Shared/alice/Team',
      "OK LIST completed",
    ]);
    expect(await last(c, "SELECT Shared")).toMatch(/^OK \[READ-WRITE\]/);
    expect(await last(c, "DELETE Shared")).toMatch(/^OK/);
    c.close();
  });

  it('grant "anyone" to every user, carol included', async () => {
    const c = await rawLoggedIn(server, carol);
    expect(await last(a, "CREATE Announcements")).toMatch(/^OK/);
    expect(await last(c, "EXAMINE Shared/alice/Announcements")).toMatch(/^NO \[NONEXISTENT\]/);
    expect(await last(a, "SETACL Announcements anyone lr")).toMatch(/^OK/);
    expect(await last(c, "EXAMINE Shared/alice/Announcements")).toMatch(/^OK \[READ-ONLY\]/);
    expect(await send(c, "MYRIGHTS Shared/alice/Announcements")).toEqual([
      "* MYRIGHTS Shared/alice/Announcements lr",
      "OK MYRIGHTS completed",
    ]);
    expect(await last(a, "DELETEACL Announcements anyone")).toMatch(/^OK/);
    expect(await last(c, "NOOP")).toMatch(/^NO \[NONEXISTENT\]/);
    c.close();
  });
});
