// CONDSTORE (RFC 7162) as a client meets it without ENABLE: the commands that turn it on, the
// HIGHESTMODSEQ the first of them reports, and MODSEQ in ESEARCH (RFC 4731 with RFC 7162 3.1.5).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";

let server: TestMailServer;
beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser("alice", "alice-password");
});
afterAll(async () => server?.close());

async function raw(): Promise<RawImapClient> {
  const client = await RawImapClient.connect(server.port);
  await client.greeting();
  expect((await client.command("L", "LOGIN alice alice-password")).at(-1)).toMatch(/^L OK/);
  return client;
}

const message = (n: number) => `From: a@example.org\r\nSubject: ${n}\r\n\r\nbody ${n}\r\n`;

/** A fresh mailbox with `count` messages, selected. */
async function selectedWith(client: RawImapClient, name: string, count: number): Promise<void> {
  expect((await client.command("C", `CREATE ${name}`)).at(-1)).toMatch(/^C OK/);
  for (let n = 1; n <= count; n += 1) {
    const body = message(n);
    expect((await client.command("A", `APPEND ${name} {${body.length}+}\r\n${body}`)).at(-1)).toMatch(
      /^A OK/,
    );
  }
  expect((await client.command("S", `SELECT ${name}`)).at(-1)).toMatch(/^S OK/);
}

const modseqOf = (line: string | undefined) => Number(/MODSEQ \((\d+)\)/.exec(line ?? "")?.[1]);

describe("CONDSTORE enabled by use", () => {
  it("FETCH MODSEQ turns it on and reports HIGHESTMODSEQ once; later FETCH FLAGS carry MODSEQ", async () => {
    const client = await raw();
    await selectedWith(client, "Implicit", 2);
    const first = await client.command("f", "FETCH 1 MODSEQ");
    expect(first[0]).toMatch(/^\* OK \[HIGHESTMODSEQ \d+\] /);
    expect(first[1]).toMatch(/^\* 1 FETCH \(MODSEQ \(\d+\)\)$/);
    const second = await client.command("g", "FETCH 2 MODSEQ");
    expect(second.filter((line) => line.includes("HIGHESTMODSEQ"))).toEqual([]);
    const stored = await client.command("s", "STORE 2 +FLAGS (\\Seen)");
    expect(stored[0]).toMatch(/^\* 2 FETCH \(FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)\)$/);
    client.close();
  });

  it("SEARCH MODSEQ and STORE UNCHANGEDSINCE turn it on too", async () => {
    const client = await raw();
    await selectedWith(client, "BySearch", 1);
    const search = await client.command("s", "SEARCH MODSEQ 1");
    expect(search[0]).toMatch(/^\* OK \[HIGHESTMODSEQ \d+\] /);
    expect(search[1]).toMatch(/^\* SEARCH 1 \(MODSEQ \d+\)$/);
    await selectedWith(client, "ByStore", 1);
    const other = await raw();
    expect((await other.command("S", "SELECT ByStore")).at(-1)).toMatch(/^S OK/);
    const store = await other.command("u", "STORE 1 (UNCHANGEDSINCE 1000) +FLAGS (\\Flagged)");
    expect(store[0]).toMatch(/^\* OK \[HIGHESTMODSEQ \d+\] /);
    expect(store.at(-1)).toMatch(/^u OK/);
    other.close();
    client.close();
  });
});

describe("ESEARCH with MODSEQ (RFC 4731 3.2, RFC 7162 3.1.5)", () => {
  it("reports the MODSEQ of the messages returned: of MIN or MAX alone, of all with ALL or COUNT", async () => {
    const client = await raw();
    await selectedWith(client, "Esearch", 4);
    await client.command("m", "FETCH 1 MODSEQ");
    const modseqs: number[] = [];
    for (const n of [1, 3, 2, 4]) {
      const stored = await client.command("s", `STORE ${n} +FLAGS (\\Seen)`);
      modseqs[n] = modseqOf(stored.find((line) => line.startsWith(`* ${n} FETCH`)));
    }
    const esearch = async (returnOptions: string, set: string, since: number) =>
      (
        await client.command(
          "e",
          `SEARCH RETURN (${returnOptions}) ${set} MODSEQ "/flags/\\\\seen" all ${since}`,
        )
      ).find((line) => line.startsWith("* ESEARCH"));
    expect(await esearch("MIN", "1:3", 1)).toBe(`* ESEARCH (TAG "e") MIN 1 MODSEQ ${modseqs[1]}`);
    expect(await esearch("MAX", "1:3", 1)).toBe(`* ESEARCH (TAG "e") MAX 3 MODSEQ ${modseqs[3]}`);
    expect(await esearch("", "1:3", 1)).toBe(`* ESEARCH (TAG "e") ALL 1:3 MODSEQ ${modseqs[2]}`);
    expect(await esearch("MIN MAX", "2:3", 1)).toBe(`* ESEARCH (TAG "e") MIN 2 MAX 3 MODSEQ ${modseqs[2]}`);
    expect(await esearch("COUNT", "1:3", modseqs[3]!)).toBe(
      `* ESEARCH (TAG "e") COUNT 2 MODSEQ ${modseqs[2]}`,
    );
    expect(await esearch("ALL", "2:3", modseqs[4]!)).toBe(`* ESEARCH (TAG "e")`);
    client.close();
  });

  it("matches nothing for sequence numbers above the mailbox's, instead of BAD", async () => {
    const client = await raw();
    await selectedWith(client, "Beyond", 2);
    expect(await client.command("a", "SEARCH RETURN () 1000")).toEqual([
      '* ESEARCH (TAG "a")',
      "a OK SEARCH completed",
    ]);
    expect(await client.command("b", "SEARCH RETURN (COUNT) 2:1000")).toEqual([
      '* ESEARCH (TAG "b") COUNT 1',
      "b OK SEARCH completed",
    ]);
    expect(await client.command("c", "SEARCH 1000")).toEqual(["* SEARCH", "c OK SEARCH completed"]);
    // FETCH still refuses numbers that do not exist (RFC 3501 9: they are invalid there).
    expect((await client.command("d", "FETCH 1000 FLAGS")).at(-1)).toMatch(/^d BAD /);
    client.close();
  });
});
