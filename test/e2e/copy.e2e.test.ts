// COPY, MOVE, UID COPY and UID MOVE over TCP with imapflow, Python's imaplib and the raw wire:
// COPYUID, MOVE's EXPUNGEs before the tagged OK, TRYCREATE, bad sequence sets, copying into the
// selected mailbox itself, read-only EXAMINE.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { dataLines, imapflowConnected, imaplib, rawLoggedIn } from "./helpers/clients.ts";

let server: TestMailServer;
const alice = { user: "alice", pass: "alice-password" };

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser(alice.user, alice.pass);
});
afterAll(async () => server?.close());

function message(subject: string): string {
  return `From: a@example.org\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;
}

/** A mailbox with `count` messages, through the raw client. */
async function fill(name: string, count: number): Promise<void> {
  const raw = await rawLoggedIn(server, alice);
  await raw.command("c", `CREATE ${name}`);
  for (let i = 1; i <= count; i++) {
    const body = message(`${name} ${i}`);
    const answer = await raw.command(`a${i}`, `APPEND ${name} {${body.length}+}\r\n${body}`);
    expect(answer.at(-1)).toMatch(/ OK /);
  }
  raw.close();
}

async function statusOf(name: string): Promise<string> {
  const raw = await rawLoggedIn(server, alice);
  const answer = await raw.command("s", `STATUS ${name} (MESSAGES UIDNEXT)`);
  raw.close();
  return answer[0]!;
}

describe("COPY and UID COPY", () => {
  it("copies with COPYUID and leaves the source alone (raw wire)", async () => {
    await fill("Source", 3);
    await fill("Archive", 0);
    const raw = await rawLoggedIn(server, alice);
    await raw.command("s", "SELECT Source");
    const answer = await raw.command("c", "COPY 1,3 Archive");
    expect(answer.at(-1)).toMatch(/^c OK \[COPYUID [1-9]\d* 1,3 1:2\] COPY completed$/);
    expect(answer.some((line) => line.includes("EXPUNGE"))).toBe(false);
    const uidCopy = await raw.command("u", "UID COPY 2:* Archive");
    expect(uidCopy.at(-1)).toMatch(/^u OK \[COPYUID [1-9]\d* 2:3 3:4\] UID COPY completed$/);
    raw.close();
    expect(await statusOf("Archive")).toBe("* STATUS Archive (MESSAGES 4 UIDNEXT 5)");
    expect(await statusOf("Source")).toBe("* STATUS Source (MESSAGES 3 UIDNEXT 4)");
  });

  it("copies with imapflow (uidMap) and imaplib (copy, uid COPY)", async () => {
    await fill("Flow", 2);
    await fill("FlowTarget", 0);
    const flow = await imapflowConnected(server, alice);
    await flow.mailboxOpen("Flow");
    const copied = await flow.messageCopy("1:2", "FlowTarget");
    expect(copied).toMatchObject({ destination: "FlowTarget" });
    expect(copied && [...(copied.uidMap ?? new Map()).entries()]).toEqual([
      [1, 1],
      [2, 2],
    ]);
    await flow.logout();

    const [select, copy, uidCopy] = await imaplib(server, alice, [
      ["select", "Flow"],
      ["copy", "2", "FlowTarget"],
      ["uid", "COPY", "1", "FlowTarget"],
    ]);
    expect(select!.typ).toBe("OK");
    expect(dataLines(copy)[0]).toMatch(/^\[COPYUID [1-9]\d* 2 3\] /);
    // imaplib's uid() returns the untagged FETCH data, not the tagged text: count instead.
    expect(uidCopy!.typ).toBe("OK");
    expect(await statusOf("FlowTarget")).toBe("* STATUS FlowTarget (MESSAGES 4 UIDNEXT 5)");
  });

  it("copies into the selected mailbox itself and reports the new messages (EXISTS)", async () => {
    await fill("Self", 2);
    const raw = await rawLoggedIn(server, alice);
    await raw.command("s", "SELECT Self");
    const answer = await raw.command("c", "COPY 1:2 Self");
    expect(answer).toContain("* 4 EXISTS");
    expect(answer.at(-1)).toMatch(/^c OK \[COPYUID [1-9]\d* 1:2 3:4\] COPY completed$/);
    raw.close();
  });

  it("moves within the selected mailbox: the message leaves (EXPUNGE) before it comes back (EXISTS)", async () => {
    await fill("Within", 1);
    const raw = await rawLoggedIn(server, alice);
    await raw.command("s", "SELECT Within");
    expect(await raw.command("m", "MOVE 1 Within")).toEqual([
      expect.stringMatching(/^\* OK \[COPYUID [1-9]\d* 1 2\] /),
      "* 1 EXPUNGE",
      "* 1 EXISTS",
      "* 1 RECENT",
      "m OK MOVE completed",
    ]);
    expect(await raw.command("f", "FETCH 1 UID")).toEqual(["* 1 FETCH (UID 2)", "f OK FETCH completed"]);
    raw.close();
  });

  it("answers TRYCREATE for a missing target and BAD for a bad sequence set", async () => {
    await fill("Errors", 2);
    const raw = await rawLoggedIn(server, alice);
    await raw.command("s", "SELECT Errors");
    expect((await raw.command("a", "COPY 1 Nowhere")).at(-1)).toMatch(/^a NO \[TRYCREATE\] /);
    expect((await raw.command("b", "COPY 7 Errors")).at(-1)).toMatch(/^b BAD /);
    expect((await raw.command("c", "COPY x:y Errors")).at(-1)).toMatch(/^c BAD /);
    expect((await raw.command("d", "MOVE 1 Nowhere")).at(-1)).toMatch(/^d NO \[TRYCREATE\] /);
    // UID COPY of UIDs that do not exist copies nothing and is not an error (RFC 4315).
    expect((await raw.command("e", "UID COPY 100:200 Errors")).at(-1)).toMatch(/^e OK /);
    raw.close();
    // COPY before SELECT is a protocol error.
    const fresh = await rawLoggedIn(server, alice);
    expect((await fresh.command("f", "COPY 1 Errors")).at(-1)).toMatch(/^f BAD /);
    fresh.close();

    const flow = await imapflowConnected(server, alice);
    await flow.mailboxOpen("Errors");
    await expect(flow.messageCopy("1", "Nowhere")).resolves.toBe(false);
    await flow.logout();
  });
});

describe("MOVE and UID MOVE (RFC 6851)", () => {
  it("sends COPYUID, then the EXPUNGEs, then the tagged OK", async () => {
    await fill("MoveFrom", 4);
    await fill("MoveTo", 0);
    const raw = await rawLoggedIn(server, alice);
    await raw.command("s", "SELECT MoveFrom");
    const answer = await raw.command("m", "MOVE 2:3 MoveTo");
    expect(answer).toEqual([
      expect.stringMatching(/^\* OK \[COPYUID [1-9]\d* 2:3 1:2\] moved$/),
      // UID 2 is sequence number 2, and then UID 3 is sequence number 2 too.
      "* 2 EXPUNGE",
      "* 2 EXPUNGE",
      "m OK MOVE completed",
    ]);
    const uidMove = await raw.command("u", "UID MOVE 4 MoveTo");
    expect(uidMove).toEqual([
      expect.stringMatching(/^\* OK \[COPYUID [1-9]\d* 4 3\] moved$/),
      "* 2 EXPUNGE",
      "u OK UID MOVE completed",
    ]);
    raw.close();
    expect(await statusOf("MoveFrom")).toBe("* STATUS MoveFrom (MESSAGES 1 UIDNEXT 5)");
    expect(await statusOf("MoveTo")).toBe("* STATUS MoveTo (MESSAGES 3 UIDNEXT 4)");
  });

  it("moves with imapflow and imaplib (UID MOVE, MOVE)", async () => {
    await fill("PyFrom", 3);
    await fill("PyTo", 0);
    const flow = await imapflowConnected(server, alice);
    await flow.mailboxOpen("PyFrom");
    const moved = await flow.messageMove("1", "PyTo");
    expect(moved && [...(moved.uidMap ?? new Map()).entries()]).toEqual([[1, 1]]);
    expect(flow.mailbox ? flow.mailbox.exists : undefined).toBe(2);
    await flow.logout();

    const [select, uidMove, move] = await imaplib(server, alice, [
      ["select", "PyFrom"],
      ["uid", "MOVE", "2", "PyTo"],
      ["xatom", "MOVE", "1", "PyTo"],
    ]);
    expect(select!.typ).toBe("OK");
    expect(uidMove!.typ).toBe("OK");
    expect(uidMove!.typ === "OK" && uidMove!.untagged.EXPUNGE).toEqual(["1"]);
    expect(move!.typ).toBe("OK");
    expect(await statusOf("PyFrom")).toBe("* STATUS PyFrom (MESSAGES 0 UIDNEXT 4)");
    expect(await statusOf("PyTo")).toBe("* STATUS PyTo (MESSAGES 3 UIDNEXT 4)");
  });

  it("refuses MOVE in a mailbox opened read-only (EXAMINE)", async () => {
    await fill("ReadOnly", 1);
    const raw = await rawLoggedIn(server, alice);
    await raw.command("e", "EXAMINE ReadOnly");
    expect((await raw.command("m", "MOVE 1 Archive")).at(-1)).toMatch(/^m NO \[READ-ONLY\] /);
    // COPY only reads the source: allowed.
    expect((await raw.command("c", "COPY 1 Archive")).at(-1)).toMatch(/^c OK \[COPYUID /);
    raw.close();
  });
});
