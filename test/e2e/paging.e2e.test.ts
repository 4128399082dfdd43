// Results a page at a time and kept up to date, as a client pages through a large mailbox:
// ESORT (RFC 5267 3), PARTIAL (RFC 9394) in SEARCH, SORT and UID FETCH, and live searches
// (RFC 5267 4 CONTEXT=SEARCH).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { rawLoggedIn } from "./helpers/clients.ts";

let server: TestMailServer;
let client: RawImapClient;
const alice = { user: "alice", pass: "alice-password" };
/** UIDs of messages 1..6 once message 2 is expunged: 1 3 4 5 6 7. */
let uids: number[];

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser(alice.user, alice.pass);
  client = await rawLoggedIn(server, alice);
  await client.command("c", "CREATE Paged");
  // Sizes go down as UIDs go up, so SORT (SIZE) is the reverse of arrival.
  for (let n = 1; n <= 7; n += 1) {
    const body = `Subject: message ${n}\r\n\r\n${"x".repeat(100 - n * 10)}\r\n`;
    await client.command("a", `APPEND Paged {${body.length}+}\r\n${body}`);
  }
  await client.command("s", "SELECT Paged");
  await client.command("d", "STORE 2 +FLAGS.SILENT (\\Deleted)");
  await client.command("e", "EXPUNGE");
  uids = [1, 3, 4, 5, 6, 7];
});
afterAll(async () => {
  client?.close();
  await server?.close();
});

async function answer(command: string): Promise<string> {
  const lines = await client.command("p", command);
  expect(lines.at(-1)).toMatch(/^p OK /);
  return lines.find((line) => line.startsWith("* ESEARCH") || line.startsWith("* SORT"))!;
}

describe("ESORT (RFC 5267 3)", () => {
  it("answers SORT RETURN with an ESEARCH in sort order: MIN and MAX first and last sorted", async () => {
    expect((await client.command("c", "CAPABILITY"))[0]).toMatch(/ ESORT /);
    expect(await answer("SORT RETURN () (SIZE) UTF-8 ALL")).toBe('* ESEARCH (TAG "p") ALL 6,5,4,3,2,1');
    expect(await answer("SORT RETURN (MIN MAX COUNT) (SIZE) UTF-8 2:5")).toBe(
      '* ESEARCH (TAG "p") MIN 5 MAX 2 COUNT 4',
    );
    expect(await answer("UID SORT RETURN (ALL) (REVERSE SIZE) UTF-8 ALL")).toBe(
      '* ESEARCH (TAG "p") UID ALL 1,3:7',
    );
    expect(await answer("SORT RETURN (COUNT) (ARRIVAL) UTF-8 SUBJECT nothing")).toBe(
      '* ESEARCH (TAG "p") COUNT 0',
    );
    // Without RETURN, SORT answers SORT.
    expect(await answer("SORT (SIZE) UTF-8 1:2")).toBe("* SORT 2 1");
  });

  it("saves what it returns for $ (RFC 5182)", async () => {
    expect(await client.command("v", "SORT RETURN (SAVE MIN) (SIZE) UTF-8 ALL")).toEqual([
      '* ESEARCH (TAG "v") MIN 6',
      "v OK SORT completed",
    ]);
    expect((await client.command("f", "FETCH $ (UID)"))[0]).toBe("* 6 FETCH (UID 7)");
  });
});

describe("PARTIAL (RFC 9394)", () => {
  it("pages SEARCH results from the first or from the last, in UIDs or sequence numbers", async () => {
    expect((await client.command("c", "CAPABILITY"))[0]).toMatch(/ PARTIAL /);
    expect(await answer("SEARCH RETURN (PARTIAL 1:2) ALL")).toBe('* ESEARCH (TAG "p") PARTIAL (1:2 1:2)');
    expect(await answer("SEARCH RETURN (PARTIAL 5:3) ALL")).toBe('* ESEARCH (TAG "p") PARTIAL (3:5 3:5)');
    expect(await answer("UID SEARCH RETURN (PARTIAL 1:2) ALL")).toBe(
      `* ESEARCH (TAG "p") UID PARTIAL (1:2 ${uids[0]},${uids[1]})`,
    );
    expect(await answer("UID SEARCH RETURN (PARTIAL -1:-2 COUNT) ALL")).toBe(
      '* ESEARCH (TAG "p") UID PARTIAL (-1:-2 6:7) COUNT 6',
    );
    expect(await answer("SEARCH RETURN (PARTIAL 7:9) ALL")).toBe('* ESEARCH (TAG "p") PARTIAL (7:9 NIL)');
    expect((await client.command("b", "SEARCH RETURN (PARTIAL 1:*) ALL")).at(-1)).toMatch(/^b BAD /);
    expect((await client.command("b", "SEARCH RETURN (PARTIAL 1:2 ALL) ALL")).at(-1)).toMatch(/^b BAD /);
  });

  it("pages SORT results in sort order", async () => {
    expect(await answer("SORT RETURN (PARTIAL 1:2) (SIZE) UTF-8 ALL")).toBe(
      '* ESEARCH (TAG "p") PARTIAL (1:2 6,5)',
    );
    expect(await answer("SORT RETURN (PARTIAL -1:-2) (SIZE) UTF-8 ALL")).toBe(
      '* ESEARCH (TAG "p") PARTIAL (-1:-2 2,1)',
    );
  });

  it("fetches one page of the messages a UID FETCH names, CHANGEDSINCE counted first", async () => {
    expect(await client.command("f", "UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)")).toEqual([
      "* 5 FETCH (UID 6 FLAGS (\\Recent))",
      "* 6 FETCH (UID 7 FLAGS (\\Recent))",
      "f OK FETCH completed",
    ]);
    expect(await client.command("g", "UID FETCH 4:* (FLAGS) (PARTIAL 1:1)")).toEqual([
      "* 3 FETCH (UID 4 FLAGS (\\Recent))",
      "g OK FETCH completed",
    ]);
    await client.command("s", "STORE 1,4 +FLAGS.SILENT (\\Flagged)");
    const modseq = async () =>
      Number(/HIGHESTMODSEQ (\d+)/.exec((await client.command("t", "STATUS Paged (HIGHESTMODSEQ)"))[0]!)![1]);
    const before = (await modseq()) - 1;
    const changed = await client.command(
      "h",
      `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${before - 1} PARTIAL -1:-1)`,
    );
    expect(changed[0]).toMatch(/^\* 4 FETCH \(UID 5 FLAGS \(\\Flagged \\Recent\) MODSEQ \(\d+\)\)$/);
    expect(changed).toHaveLength(2);
  });
});

describe("CONTEXT=SEARCH (RFC 5267 4)", () => {
  it("keeps a SEARCH RETURN (UPDATE) live: this session's changes and another's, until CANCELUPDATE", async () => {
    const mine = await rawLoggedIn(server, alice);
    const other = await rawLoggedIn(server, alice);
    await mine.command("c", "CREATE Live");
    for (let n = 1; n <= 3; n += 1) {
      const body = `Subject: live ${n}\r\n\r\nbody\r\n`;
      await mine.command("a", `APPEND Live {${body.length}+}\r\n${body}`);
    }
    expect((await mine.command("s", "SELECT Live")).at(-1)).toMatch(/^s OK/);
    await other.command("s", "SELECT Live");
    expect((await mine.command("c", "CAPABILITY"))[0]).toMatch(/ CONTEXT=SEARCH /);

    expect(await mine.command("L1", "SEARCH RETURN (UPDATE ALL) SEEN")).toEqual([
      '* ESEARCH (TAG "L1")',
      "L1 OK SEARCH completed",
    ]);
    // This session's own STORE.
    expect(await mine.command("a", "STORE 1,3 +FLAGS.SILENT (\\Seen)")).toEqual([
      '* ESEARCH (TAG "L1") ADDTO (0 1,3)',
      "a OK STORE completed",
    ]);
    // Another session's STORE and APPEND reach this one while it IDLEs (the notice doorbell).
    await mine.write("i IDLE\r\n");
    await mine.waitFor((line) => line.startsWith("+"));
    const from = mine.lines.length;
    await other.command("b", "STORE 1 -FLAGS.SILENT (\\Seen)");
    await mine.waitFor((line) => line.includes("REMOVEFROM"), 10_000, from);
    const body = "Subject: live 4\r\n\r\nbody\r\n";
    await other.command("d", `APPEND Live (\\Seen) {${body.length}+}\r\n${body}`);
    await mine.waitFor((line) => line.includes("ADDTO (0 4)"), 10_000, from);
    await mine.write("DONE\r\n");
    await mine.waitFor((line) => line.startsWith("i OK"), 5000, from);
    expect(mine.lines.slice(from).filter((line) => line.includes("ESEARCH"))).toEqual([
      '* ESEARCH (TAG "L1") REMOVEFROM (0 1)',
      '* ESEARCH (TAG "L1") ADDTO (0 4)',
    ]);
    // An expunge removes a result before its EXPUNGE, in the number it had.
    await other.command("e", "STORE 3 +FLAGS.SILENT (\\Deleted)");
    await other.command("f", "EXPUNGE");
    expect(await mine.command("n", "NOOP")).toEqual([
      '* ESEARCH (TAG "L1") REMOVEFROM (0 3)',
      "* 3 EXPUNGE",
      "n OK NOOP completed",
    ]);
    expect(await mine.command("u", 'CANCELUPDATE "L1"')).toEqual(["u OK CANCELUPDATE completed"]);
    expect(await mine.command("g", "STORE 1 +FLAGS.SILENT (\\Seen)")).toEqual(["g OK STORE completed"]);
    expect((await mine.command("h", 'CANCELUPDATE "L1"')).at(-1)).toMatch(/^h NO /);
    // A UID live search answers in UIDs; a tag in use is refused.
    expect((await mine.command("U", "UID SEARCH RETURN (UPDATE COUNT) SEEN"))[0]).toBe(
      '* ESEARCH (TAG "U") UID COUNT 2',
    );
    expect(await mine.command("k", "STORE 2 +FLAGS.SILENT (\\Seen)")).toEqual([
      '* ESEARCH (TAG "U") UID ADDTO (0 2)',
      "k OK STORE completed",
    ]);
    expect((await mine.command("U", "SEARCH RETURN (UPDATE) ALL")).at(-1)).toMatch(/^U BAD /);
    mine.close();
    other.close();
  });

  it("keeps at most 16 live searches, answering NO [NOUPDATE] beyond", async () => {
    const live = await rawLoggedIn(server, alice);
    await live.command("s", "SELECT Live");
    for (let n = 1; n <= 16; n += 1) {
      expect((await live.command(`T${n}`, "SEARCH RETURN (UPDATE) ALL"))[0]).toBe(`* ESEARCH (TAG "T${n}")`);
    }
    expect(await live.command("T17", "SEARCH RETURN (UPDATE COUNT) ALL")).toEqual([
      '* NO [NOUPDATE "T17"] at most 16 live searches',
      '* ESEARCH (TAG "T17") COUNT 3',
      "T17 OK SEARCH completed",
    ]);
    // Leaving the mailbox ends them all.
    await live.command("s", "SELECT Live");
    expect((await live.command("T18", "SEARCH RETURN (UPDATE) ALL"))[0]).toBe('* ESEARCH (TAG "T18")');
    live.close();
  });
});
