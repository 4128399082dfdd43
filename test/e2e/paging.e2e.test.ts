// Results a page at a time, as a client pages through a large mailbox: ESORT (RFC 5267 3) and
// PARTIAL (RFC 9394) in SEARCH, SORT and UID FETCH.
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
