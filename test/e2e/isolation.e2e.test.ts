// Users are isolated (issue 15): Bob reaches none of Alice's mailboxes by any name trick, through
// any command that takes a mailbox name or a URL, over the raw wire. Afterwards Alice's account is
// exactly as it was, and nothing Bob saw named or counted her mailboxes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { rawLoggedIn } from "./helpers/clients.ts";

let server: TestMailServer;
const alice = { user: "alice", pass: "alice-password" };
const bob = { user: "bob", pass: "bob-password" };
const MESSAGE = "From: a@example.org\r\nSubject: private to alice\r\n\r\nthe secret\r\n";

/** Names Bob might try for Alice's "Secret": paths, cases, namespaces, modified UTF-7, bytes. */
const TRICKS: string[] = [
  "Secret",
  "secret",
  "SECRET",
  "../alice/Secret",
  "alice/Secret",
  "/alice/Secret",
  "~alice/Secret",
  "#user/alice/Secret",
  "#shared/alice/Secret",
  "Other Users/alice/Secret",
  "INBOX/../Secret",
  "INBOX/../../alice/Secret",
  "./Secret",
  "Secret/Inner",
  "alice/INBOX",
  "../alice/INBOX",
  "&AC8-alice&AC8-Secret",
  "Secre&AHQ-",
  "%",
  "*",
  "Secret\u0007",
  "x".repeat(2_000),
];

/** Sends a name as a literal, so that any byte (NUL and controls too) reaches the parser. */
function literal(name: string): string {
  return `{${Buffer.byteLength(name)}+}\r\n${name}`;
}

async function answer(client: RawImapClient, tag: string, command: string): Promise<string[]> {
  return client.command(tag, command, 15_000);
}

function tagged(lines: string[]): string {
  return lines.at(-1) ?? "";
}

async function aliceSees(): Promise<string[]> {
  const raw = await rawLoggedIn(server, alice);
  const lines = [
    ...(await answer(raw, "l", 'LIST "" "*"')),
    ...(await answer(raw, "s1", "STATUS INBOX (MESSAGES UIDNEXT)")),
    ...(await answer(raw, "s2", "STATUS Secret (MESSAGES UIDNEXT)")),
    ...(await answer(raw, "s3", 'STATUS "Secret/Inner" (MESSAGES UIDNEXT)')),
    ...(await answer(raw, "ls", 'LSUB "" "*"')),
  ];
  raw.close();
  return lines.filter((line) => line.startsWith("* "));
}

let aliceBefore: string[];

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser(alice.user, alice.pass);
  await server.createUser(bob.user, bob.pass);
  const raw = await rawLoggedIn(server, alice);
  for (const command of ["CREATE Secret", 'CREATE "Secret/Inner"', "SUBSCRIBE Secret"]) {
    expect(tagged(await answer(raw, "c", command))).toMatch(/^c OK/);
  }
  for (const box of ["INBOX", "Secret"]) {
    expect(tagged(await answer(raw, "a", `APPEND ${box} ${literal(MESSAGE)}`))).toMatch(/^a OK/);
  }
  raw.close();
  aliceBefore = await aliceSees();
  expect(aliceBefore.some((line) => line.includes("Secret"))).toBe(true);
});
afterAll(async () => server?.close());

describe("isolation between users", () => {
  it("Bob reaches none of Alice's mailboxes by any name, and Alice's account is untouched", async () => {
    const raw = await rawLoggedIn(server, bob);
    expect(
      tagged(await answer(raw, "a0", `APPEND INBOX ${literal(MESSAGE.replace("alice", "bob"))}`)),
    ).toMatch(/^a0 OK/);
    const seen: string[] = [];
    let n = 0;
    for (const name of TRICKS) {
      const quoted = literal(name);
      const refusals: [string, RegExp][] = [
        [`SELECT ${quoted}`, /^t\d+ (NO|BAD)/],
        [`EXAMINE ${quoted}`, /^t\d+ (NO|BAD)/],
        [`STATUS ${quoted} (MESSAGES UIDNEXT UNSEEN)`, /^t\d+ (NO|BAD)/],
        [`APPEND ${quoted} ${literal(MESSAGE)}`, /^t\d+ (NO|BAD)/],
        [`RENAME ${quoted} Taken`, /^t\d+ (NO|BAD)/],
        [`DELETE ${quoted}`, /^t\d+ (NO|BAD)/],
        [`GETQUOTAROOT ${quoted}`, /^t\d+ (NO|BAD)/],
      ];
      for (const [command, expected] of refusals) {
        const lines = await answer(raw, `t${++n}`, command);
        expect(tagged(lines), `${command.slice(0, 80)}`).toMatch(expected);
        seen.push(...lines);
      }
      // SUBSCRIBE may keep any name (RFC 3501 6.3.6); it must not reach Alice's list.
      seen.push(...(await answer(raw, `t${++n}`, `SUBSCRIBE ${quoted}`)));
      seen.push(...(await answer(raw, `t${++n}`, `UNSUBSCRIBE ${quoted}`)));
      // LIST with the trick as reference and as pattern lists nothing of Alice's.
      seen.push(...(await answer(raw, `t${++n}`, `LIST ${quoted} "*"`)));
      seen.push(...(await answer(raw, `t${++n}`, `LIST "" ${quoted}`)));
      seen.push(
        ...(await answer(raw, `t${++n}`, `LIST (SUBSCRIBED) "" ${quoted} RETURN (STATUS (MESSAGES))`)),
      );
    }
    // From his own INBOX: COPY and MOVE into each name go nowhere.
    expect(tagged(await answer(raw, "s", "SELECT INBOX"))).toMatch(/^s OK/);
    for (const name of TRICKS) {
      for (const verb of ["COPY", "MOVE"]) {
        const lines = await answer(raw, `t${++n}`, `UID ${verb} 1 ${literal(name)}`);
        expect(tagged(lines), `${verb} ${name.slice(0, 40)}`).toMatch(/^t\d+ (NO|BAD)/);
        seen.push(...lines);
      }
    }
    // URLs of Alice's messages: URLFETCH gives NIL, CATENATE refuses them.
    for (const url of [
      "imap://alice@127.0.0.1/Secret;UIDVALIDITY=1/;UID=1",
      "/Secret/;UID=1",
      "/../alice/Secret/;UID=1",
    ]) {
      const fetched = await answer(raw, `t${++n}`, `URLFETCH "${url}"`);
      seen.push(...fetched);
      expect(
        fetched.filter((line) => line.startsWith("* URLFETCH")).every((line) => / NIL$/.test(line)),
      ).toBe(true);
      const joined = await answer(raw, `t${++n}`, `APPEND INBOX CATENATE (URL "${url}")`);
      expect(tagged(joined)).toMatch(/^t\d+ (NO|BAD)/);
      seen.push(...joined);
    }
    // NOTIFY on Alice's names: Bob hears nothing when Alice's mailbox changes.
    const notify = await answer(
      raw,
      `t${++n}`,
      "NOTIFY SET (MAILBOXES (Secret alice/Secret) (MessageNew MessageExpunge))",
    );
    seen.push(...notify);
    const mine = await answer(raw, `t${++n}`, 'LIST "" "*"');
    raw.lines.length = 0;
    const aliceRaw = await rawLoggedIn(server, alice);
    expect(tagged(await answer(aliceRaw, "x", `APPEND Secret ${literal(MESSAGE)}`))).toMatch(/^x OK/);
    aliceRaw.close();
    seen.push(...(await answer(raw, `t${++n}`, "NOOP")));
    raw.close();

    // Bob's own list is his INBOX and whatever he may have made of his own; none of it is Alice's.
    expect(mine.filter((line) => line.startsWith("* LIST")).map((line) => line.split(" ").at(-1))).toEqual([
      "INBOX",
    ]);
    // No untagged line Bob received counted or named one of Alice's mailboxes or messages.
    const leaks = seen.filter(
      (line) =>
        line.startsWith("* ") &&
        (/private to alice|the secret/.test(line) ||
          /^\* (STATUS|LIST|LSUB) .*Secret/.test(line) ||
          /^\* STATUS (?!INBOX )/.test(line)),
    );
    expect(leaks).toEqual([]);
    // Alice's account is as it was, apart from her own last APPEND.
    const after = await aliceSees();
    expect(after.filter((line) => !line.includes("Secret ("))).toEqual(
      aliceBefore.filter((line) => !line.includes("Secret (")),
    );
    expect(after.find((line) => line.startsWith("* STATUS Secret "))).toMatch(/MESSAGES 2 /);
  });

  it("after UNAUTHENTICATE (RFC 8437) and a LOGIN as Bob, the connection shows nothing of Alice", async () => {
    const raw = await rawLoggedIn(server, alice);
    expect(tagged(await answer(raw, "s", "SELECT Secret"))).toMatch(/^s OK/);
    expect(await answer(raw, "u", "UNAUTHENTICATE")).toEqual(["u OK UNAUTHENTICATE completed"]);
    expect(tagged(await answer(raw, "f", "FETCH 1 BODY[]"))).toMatch(/^f BAD/);
    expect(tagged(await answer(raw, "l", `LOGIN ${bob.user} "${bob.pass}"`))).toMatch(/^l OK/);
    const list = await answer(raw, "ls", 'LIST "" "*"');
    expect(list.filter((line) => line.startsWith("* LIST")).map((line) => line.split(" ").at(-1))).toEqual([
      "INBOX",
    ]);
    expect(tagged(await answer(raw, "x", "EXAMINE Secret"))).toMatch(/^x NO \[NONEXISTENT\]/);
    const inbox = await answer(raw, "e", "EXAMINE INBOX");
    expect(inbox).toContain("* 1 EXISTS");
    const body = await answer(raw, "b", "FETCH 1 BODY.PEEK[]");
    expect(body.join("\n")).not.toMatch(/private to alice/);
    raw.close();
  });
});

/**
 * Names in the other users' namespace (RFC 4314 shared mailboxes) that must reach nothing: Bob
 * sees Alice's "Team" (shared with him, "lr") as Shared/alice/Team and nothing else of hers.
 */
const SHARED_TRICKS: string[] = [
  "Shared/alice/Secret",
  "Shared/alice/Secret/Inner",
  "Shared/alice/INBOX",
  "Shared/alice/inbox",
  "Shared/alice/../bob/INBOX",
  "Shared/alice/../alice/Secret",
  "Shared/alice/Team/../Secret",
  "Shared/alice/./Secret",
  "Shared/ALICE/Team",
  "Shared/Alice/Team",
  "Shared/alice/team",
  "Shared/alice//Team",
  "Shared/alice/",
  "Shared/alice",
  "Shared/",
  "Shared",
  "Shared//alice/Team",
  "Shared/alice/Team/Inner",
  "Shared/alice/Secr&AOk-t",
  "Shared/alice/Se*",
  "Shared/alice/%",
  "Shared/bob/INBOX",
  "Shared/nobody/INBOX",
  "Shared/alice/ReadOnlyNoLookup",
  "Shared/alice/WasShared",
  "Shared/alice\u0000/Team",
];
const MISSING = "Shared/alice/NoSuchMailbox";

/**
 * A tagged answer with its tag and any quoted text (the name, as given or decoded) taken out:
 * what the answers for two names are compared by.
 */
function shape(lines: string[]): string {
  return tagged(lines)
    .replace(/^\S+ /, "")
    .replace(/"[^"]*"/g, '"<name>"');
}

describe("isolation in the shared namespace", () => {
  beforeAll(async () => {
    const raw = await rawLoggedIn(server, alice);
    for (const command of [
      "CREATE Team",
      "CREATE WasShared",
      "CREATE ReadOnlyNoLookup",
      "SETACL Team bob lr",
      "SETACL WasShared bob lrswi",
      // "r" without "l": the mailbox may not be looked up, so it is not there for Bob.
      "SETACL ReadOnlyNoLookup bob r",
    ]) {
      expect(tagged(await answer(raw, "c", command))).toMatch(/^c OK/);
    }
    expect(tagged(await answer(raw, "a", `APPEND Team ${literal(MESSAGE)}`))).toMatch(/^a OK/);
    raw.close();
  });

  it("a mailbox shared, then unshared, is gone for Bob at once, selected or not", async () => {
    const bobRaw = await rawLoggedIn(server, bob);
    expect(tagged(await answer(bobRaw, "s", "SELECT Shared/alice/WasShared"))).toMatch(/^s OK/);
    const aliceRaw = await rawLoggedIn(server, alice);
    expect(tagged(await answer(aliceRaw, "d", "DELETEACL WasShared bob"))).toMatch(/^d OK/);
    aliceRaw.close();
    expect(tagged(await answer(bobRaw, "f", "FETCH 1:* FLAGS"))).toMatch(/^f NO \[NONEXISTENT\]/);
    expect(tagged(await answer(bobRaw, "n", "NOOP"))).toMatch(/^n NO \[NONEXISTENT\]/);
    expect(shape(await answer(bobRaw, "x", "EXAMINE Shared/alice/WasShared"))).toBe(
      shape(await answer(bobRaw, "y", `EXAMINE ${MISSING}`)),
    );
    bobRaw.close();
  });

  it("no name trick under Shared/ reaches more than Team, and each answers as a missing mailbox", async () => {
    // Unshared (again: this test may run alone).
    const aliceRaw = await rawLoggedIn(server, alice);
    expect(tagged(await answer(aliceRaw, "d", "DELETEACL WasShared bob"))).toMatch(/^d OK/);
    aliceRaw.close();
    const raw = await rawLoggedIn(server, bob);
    const commands = (name: string): string[] => {
      const quoted = literal(name);
      return [
        `SELECT ${quoted}`,
        `EXAMINE ${quoted}`,
        `STATUS ${quoted} (MESSAGES UIDNEXT UNSEEN)`,
        `APPEND ${quoted} ${literal(MESSAGE)}`,
        `DELETE ${quoted}`,
        `RENAME ${quoted} Taken`,
        `MYRIGHTS ${quoted}`,
        `GETACL ${quoted}`,
        `LISTRIGHTS ${quoted} bob`,
        `SETACL ${quoted} bob lrswipkxtea`,
        `DELETEACL ${quoted} bob`,
      ];
    };
    let n = 0;
    const baseline = [];
    for (const command of commands(MISSING)) baseline.push(shape(await answer(raw, `t${++n}`, command)));
    expect(baseline.every((line) => /^NO /.test(line))).toBe(true);
    const seen: string[] = [];
    for (const name of SHARED_TRICKS) {
      const answers = [];
      for (const command of commands(name)) {
        const lines = await answer(raw, `t${++n}`, command);
        seen.push(...lines);
        answers.push(shape(lines));
      }
      // A name the parser refuses (a NUL) is refused before any mailbox is looked at.
      const unparsable = answers.every((line) =>
        /^NO \[NONEXISTENT\] [A-Z]+: (existing )?mailbox name: /.test(line),
      );
      if (!unparsable) expect(answers, name).toEqual(baseline);
      seen.push(
        ...(await answer(raw, `t${++n}`, `LIST "" ${literal(name)} RETURN (MYRIGHTS STATUS (MESSAGES))`)),
      );
      seen.push(...(await answer(raw, `t${++n}`, `LIST ${literal(name)} "*"`)));
    }
    // From Team itself: nothing of Alice's but Team, and no write; a copy into his own INBOX is
    // his (reading is enough, RFC 4314 4).
    expect(tagged(await answer(raw, "s", "SELECT Shared/alice/Team"))).toMatch(/^s OK/);
    for (const name of [...SHARED_TRICKS, "Secret"]) {
      const lines = await answer(raw, `t${++n}`, `UID COPY 1 ${literal(name)}`);
      expect(tagged(lines), `COPY ${name}`).toMatch(/^t\d+ NO/);
      seen.push(...lines);
    }
    const copied = await answer(raw, "c", "UID COPY 1 INBOX");
    expect(tagged(copied)).toMatch(/^c OK \[COPYUID \d+ 1 \d+\]/);
    seen.push(...copied);
    expect(tagged(await answer(raw, "w", "STORE 1 +FLAGS (\\Seen)"))).toMatch(/^w NO \[NOPERM\]/);
    const all = await answer(raw, "l", 'LIST "" "*"');
    raw.close();
    expect(all.filter((line) => line.startsWith("* LIST")).map((line) => line.split(" ").at(-1))).toEqual([
      "INBOX",
      "Shared",
      "Shared/alice",
      "Shared/alice/Team",
    ]);
    const leaks = seen.filter(
      (line) =>
        line.startsWith("* ") &&
        (/private to alice|the secret/.test(line) ||
          /Secret|WasShared|ReadOnlyNoLookup|NoSuchMailbox/.test(line)),
    );
    expect(leaks).toEqual([]);
  });
});
