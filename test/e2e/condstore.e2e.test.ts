// CONDSTORE (RFC 7162) as a client meets it without ENABLE: the commands that turn it on and
// the HIGHESTMODSEQ the first of them reports.
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
