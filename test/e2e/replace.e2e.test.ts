// REPLACE and UID REPLACE (RFC 8508) over TCP: the new message appended and the old one expunged
// in one transaction (their events share one transaction id), APPENDUID in an untagged OK before
// the selected mailbox's EXPUNGE and EXISTS, another session's IDLE (imapflow) seeing both, and
// the refusals: a UID that is gone, a number beyond EXISTS, a target that does not exist
// (TRYCREATE), EXAMINE (READ-ONLY), a quota the new message would break (OVERQUOTA): none of
// them changes anything.
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { runHistoryCommand } from "../../src/cli/history.ts";
import { runUserCommand } from "../../src/cli/user.ts";
import { captureCli } from "../support/cli.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { imapflowConnected, rawLoggedIn } from "./helpers/clients.ts";

let server: TestMailServer;
const alice = { user: "alice", pass: "alice-password" };
const quinn = { user: "quinn", pass: "quinn-password" };

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser(alice.user, alice.pass);
  await server.createUser(quinn.user, quinn.pass);
});
afterAll(async () => server?.close());

function draft(subject: string, size = 0): string {
  const text = `From: a@example.org\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;
  return size > text.length ? text + "x".repeat(size - text.length) : text;
}

const literal = (text: string) => `{${Buffer.byteLength(text)}+}\r\n${text}`;

async function fill(account: typeof alice, name: string, count: number): Promise<void> {
  const raw = await rawLoggedIn(server, account);
  if (name !== "INBOX") await raw.command("c", `CREATE ${name}`);
  for (let i = 1; i <= count; i++) {
    const answer = await raw.command(`a${i}`, `APPEND ${name} ${literal(draft(`${name} ${i}`))}`);
    expect(answer.at(-1)).toMatch(/ OK /);
  }
  raw.close();
}

async function status(account: typeof alice, name: string): Promise<string> {
  const raw = await rawLoggedIn(server, account);
  const answer = await raw.command("s", `STATUS ${name} (MESSAGES UIDNEXT)`);
  raw.close();
  return answer[0]!;
}

describe("REPLACE", () => {
  it("is advertised", async () => {
    const raw = await rawLoggedIn(server, alice);
    expect((await raw.command("C", "CAPABILITY"))[0]).toMatch(/ REPLACE( |$)/);
    raw.close();
  });

  it("replaces a draft in the selected mailbox: APPENDUID, EXISTS, EXPUNGE, one transaction", async () => {
    await fill(alice, "Drafts", 2);
    const raw = await rawLoggedIn(server, alice);
    const select = await raw.command("s", "SELECT Drafts");
    const uidValidity = /UIDVALIDITY (\d+)/.exec(select.join("\n"))![1];
    const answer = await raw.command(
      "r",
      `REPLACE 1 Drafts (\\Seen \\Draft) ${literal(draft("second version"))}`,
    );
    expect(answer).toEqual([
      `* OK [APPENDUID ${uidValidity} 3] Replacement message ready`,
      // The old message leaves first, then the new one is counted: 2 messages, as before.
      "* 1 EXPUNGE",
      "* 2 EXISTS",
      "* 2 RECENT",
      "r OK REPLACE completed",
    ]);
    const fetch = await raw.command("f", "FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    expect(fetch.filter((line) => line.startsWith("* "))).toEqual([
      "* 1 FETCH (UID 2 FLAGS (\\Recent) BODY[HEADER.FIELDS (SUBJECT)] {21}",
      "* 2 FETCH (UID 3 FLAGS (\\Draft \\Seen \\Recent) BODY[HEADER.FIELDS (SUBJECT)] {27}",
    ]);
    expect(fetch).toContain("Subject: second version");
    raw.close();

    // The append and the expunge are one commit: their events carry one transaction id.
    const events = await server.db.pool.any(sql.type(
      z.object({ type: z.string(), data: z.unknown(), transaction_id: z.string() }),
    )`
      SELECT type, data, transaction_id::text FROM events
      WHERE metadata -> 'command' ->> 'name' = 'REPLACE'
      ORDER BY global_position`);
    expect(events.map((event) => event.type)).toEqual(["MessageAppended", "MessagesExpunged"]);
    expect(events[1]!.data).toMatchObject({ uids: [1], cause: "replace" });
    expect(new Set(events.map((event) => event.transaction_id)).size).toBe(1);

    // What an auditor sees: the append and the expunge, both by the REPLACE command.
    const audit = await captureCli((io) =>
      runHistoryCommand(["alice", "Drafts"], { pool: server.db.pool, ...io }),
    );
    const replaceLines = audit.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t").slice(3))
      .filter(([command]) => command === "REPLACE");
    expect(replaceLines).toEqual([
      ["REPLACE", "Drafts", expect.stringMatching(/^appended UID 3 "second version"/)],
      ["REPLACE", "Drafts", "expunged UID 1 (replace)"],
    ]);
  });

  it("UID REPLACE into another mailbox; a session in IDLE (imapflow) sees the expunge", async () => {
    await fill(alice, "Work", 3);
    await fill(alice, "Sent", 1);
    const watcher = await imapflowConnected(server, alice);
    await watcher.mailboxOpen("Work");
    const expunged: number[] = [];
    watcher.on("expunge", (event: { seq: number }) => expunged.push(event.seq));
    void watcher.idle();

    const raw = await rawLoggedIn(server, alice);
    await raw.command("s", "SELECT Work");
    const answer = await raw.command("r", `UID REPLACE 2 Sent ${literal(draft("moved on"))}`);
    expect(answer[0]).toMatch(/^\* OK \[APPENDUID [1-9]\d* 2\] Replacement message ready$/);
    expect(answer.slice(1)).toEqual(["* 2 EXPUNGE", "r OK UID REPLACE completed"]);
    raw.close();

    const deadline = Date.now() + 10_000;
    while (expunged.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(expunged).toEqual([2]);
    await watcher.logout();
    expect(await status(alice, "Sent")).toBe("* STATUS Sent (MESSAGES 2 UIDNEXT 3)");
    expect(await status(alice, "Work")).toBe("* STATUS Work (MESSAGES 2 UIDNEXT 4)");
  });

  it("takes every APPEND form: literal8, CATENATE, and UTF8 data once UTF8=ACCEPT is enabled", async () => {
    await fill(alice, "Forms", 3);
    const raw = await rawLoggedIn(server, alice);
    const text = draft("from a literal8");
    expect((await raw.command("b", `REPLACE 1 Forms ~{${text.length}+}\r\n${text}`)).at(-1)).toMatch(
      /^b BAD /,
    );
    await raw.command("s", "SELECT Forms");
    expect((await raw.command("b", `REPLACE 1 Forms ~{${text.length}+}\r\n${text}`)).at(-1)).toBe(
      "b OK REPLACE completed",
    );
    const part = draft("joined");
    const catenate = await raw.command("c", `UID REPLACE 2 Forms CATENATE (TEXT ${literal(part)})`);
    expect(catenate.at(-1)).toBe("c OK UID REPLACE completed");
    const utf8 = "Subject: Grüße\r\n\r\nHallo\r\n";
    const refused = await raw.command(
      "d",
      `UID REPLACE 3 Forms UTF8 (~{${Buffer.byteLength(utf8)}+}\r\n${utf8})`,
    );
    expect(refused.at(-1)).toMatch(/^d BAD .*ENABLE UTF8=ACCEPT/);
    raw.close();

    const accepting = await rawLoggedIn(server, alice);
    await accepting.command("e", "ENABLE UTF8=ACCEPT");
    await accepting.command("s", "SELECT Forms");
    const replaced = await accepting.command(
      "d",
      `UID REPLACE 3 Forms UTF8 (~{${Buffer.byteLength(utf8)}+}\r\n${utf8})`,
    );
    expect(replaced.at(-1)).toBe("d OK UID REPLACE completed");
    const subjects = await accepting.command("f", "UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    expect(
      subjects
        .filter((line) => line.startsWith("Subject:"))
        .map((line) => Buffer.from(line, "latin1").toString()),
    ).toEqual(["Subject: from a literal8", "Subject: joined", "Subject: Grüße"]);
    accepting.close();
  });

  it("two sessions replacing the same message at once: one wins, the other gets NONEXISTENT", async () => {
    await fill(alice, "Race", 1);
    const sessions = await Promise.all([1, 2, 3, 4].map(() => rawLoggedIn(server, alice)));
    for (const raw of sessions) await raw.command("s", "SELECT Race");
    const answers = await Promise.all(
      sessions.map((raw, i) => raw.command("r", `UID REPLACE 1 Race ${literal(draft(`version ${i}`))}`)),
    );
    const outcomes = answers.map((answer) => answer.at(-1)!.replace(/ UID REPLACE: .*| the message .*/, ""));
    expect(outcomes.filter((line) => line === "r OK UID REPLACE completed")).toHaveLength(1);
    expect(outcomes.filter((line) => line === "r NO [NONEXISTENT]")).toHaveLength(3);
    for (const raw of sessions) raw.close();
    expect(await status(alice, "Race")).toBe("* STATUS Race (MESSAGES 1 UIDNEXT 3)");
  });

  it("refuses without changing anything: gone UID, bad number, no target, read-only", async () => {
    await fill(alice, "Keep", 2);
    const raw = await rawLoggedIn(server, alice);
    await raw.command("s", "SELECT Keep");
    const body = literal(draft("never stored"));
    expect((await raw.command("a", `UID REPLACE 99 Keep ${body}`)).at(-1)).toBe(
      "a NO [NONEXISTENT] UID REPLACE: no message with that UID",
    );
    expect((await raw.command("b", `REPLACE 7 Keep ${body}`)).at(-1)).toMatch(/^b BAD /);
    expect((await raw.command("c", `REPLACE 1 Nowhere ${body}`)).at(-1)).toBe(
      'c NO [TRYCREATE] no mailbox named "Nowhere"',
    );
    await raw.command("e", "EXAMINE Keep");
    expect((await raw.command("f", `REPLACE 1 Keep ${body}`)).at(-1)).toMatch(/^f NO \[READ-ONLY\] /);
    // Not selected: REPLACE needs the selected state.
    await raw.command("g", "UNSELECT");
    expect((await raw.command("h", `REPLACE 1 Keep ${body}`)).at(-1)).toMatch(/^h BAD /);
    raw.close();
    expect(await status(alice, "Keep")).toBe("* STATUS Keep (MESSAGES 2 UIDNEXT 3)");
    expect(await status(alice, "INBOX")).toMatch(/MESSAGES 0 /);
  });

  it("counts only the growth against the quota, and refuses what would exceed it", async () => {
    await captureCli((io) => runUserCommand(["quota", "quinn", "4096"], { pool: server.db.pool, ...io }));
    await fill(quinn, "INBOX", 0);
    const raw = await rawLoggedIn(server, quinn);
    expect((await raw.command("a", `APPEND INBOX ${literal(draft("big", 3000))}`)).at(-1)).toMatch(/^a OK/);
    await raw.command("s", "SELECT INBOX");
    // 3000 in use: a plain APPEND of 3500 would not fit, a REPLACE of the 3000 by 3500 does.
    expect((await raw.command("b", `APPEND INBOX ${literal(draft("bigger", 3500))}`)).at(-1)).toMatch(
      /^b NO \[OVERQUOTA\] /,
    );
    const replaced = await raw.command("c", `REPLACE 1 INBOX ${literal(draft("bigger", 3500))}`);
    expect(replaced.at(-1)).toBe("c OK REPLACE completed");
    const refused = await raw.command("d", `REPLACE 1 INBOX ${literal(draft("too big", 5000))}`);
    expect(refused).toEqual([
      "d NO [OVERQUOTA] the account's storage quota of 4096 octets would be exceeded (3500 in use, 1500 more)",
    ]);
    const fetch = await raw.command("f", "UID FETCH 1:* (RFC822.SIZE)");
    expect(fetch.filter((line) => line.startsWith("* "))).toEqual(["* 1 FETCH (UID 2 RFC822.SIZE 3500)"]);
    raw.close();
  });
});
