// QUOTA (RFC 9208) over TCP: the operator sets an account's storage quota with
// `mailledger user quota`; GETQUOTAROOT and GETQUOTA report it in KiB; APPEND, MULTIAPPEND and
// COPY above it get NO [OVERQUOTA] and store nothing; MOVE and EXPUNGE work as always.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runUserCommand } from "../../src/cli/user.ts";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { captureCli } from "../support/cli.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";

let server: TestMailServer;
beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser("quinn", "quinn-password");
  await server.createUser("rosa", "rosa-password");
});
afterAll(async () => server?.close());

async function login(user: string): Promise<RawImapClient> {
  const client = await RawImapClient.connect(server.port);
  await client.greeting();
  expect((await client.command("L", `LOGIN ${user} ${user}-password`)).at(-1)).toMatch(/^L OK/);
  return client;
}

/** A message of exactly `size` octets. */
function message(size: number, subject: string): string {
  const head = `Subject: ${subject}\r\n\r\n`;
  return head + "x".repeat(size - head.length);
}

const append = (text: string, mailbox = "INBOX") => `APPEND ${mailbox} {${text.length}+}\r\n${text}`;

describe("QUOTA", () => {
  it("reports and enforces an account's storage quota", async () => {
    const set = await captureCli((io) =>
      runUserCommand(["quota", "quinn", "4096"], { pool: server.db.pool, ...io }),
    );
    expect(set.stdout).toBe("storage quota of quinn: 4 KiB (4096 octets)\n");
    const client = await login("quinn");
    const capabilities = (await client.command("C", "CAPABILITY"))[0]!;
    expect(capabilities).toContain(" QUOTA ");
    expect(capabilities).toContain(" QUOTA=RES-STORAGE");
    expect(await client.command("R", "GETQUOTAROOT INBOX")).toEqual([
      '* QUOTAROOT INBOX ""',
      '* QUOTA "" (STORAGE 0 4)',
      "R OK GETQUOTAROOT completed",
    ]);

    expect((await client.command("A", append(message(1500, "one")))).at(-1)).toMatch(/^A OK/);
    expect((await client.command("B", append(message(1500, "two")))).at(-1)).toMatch(/^B OK/);
    expect((await client.command("D", append(message(1500, "three")))).at(-1)).toBe(
      "D NO [OVERQUOTA] the account's storage quota of 4096 octets would be exceeded (3000 in use, 1500 more)",
    );
    // MULTIAPPEND: all or nothing, the first would have fitted.
    const first = message(500, "four");
    const second = message(1000, "five");
    const multi = await client.command(
      "M",
      `APPEND INBOX {${first.length}+}\r\n${first} {${second.length}+}\r\n${second}`,
    );
    expect(multi.at(-1)).toMatch(/^M NO \[OVERQUOTA\] .*; none of the 2 messages was appended$/);
    expect(await client.command("Q", 'GETQUOTA ""')).toEqual([
      '* QUOTA "" (STORAGE 3 4)',
      "Q OK GETQUOTA completed",
    ]);

    await client.command("S", "SELECT INBOX");
    expect((await client.command("E", "SEARCH ALL"))[0]).toBe("* SEARCH 1 2");
    await client.command("K", "CREATE Kept");
    expect((await client.command("F", "COPY 1 Kept")).at(-1)).toMatch(/^F NO \[OVERQUOTA\]/);
    // A MOVE stores nothing more.
    expect((await client.command("G", "MOVE 1 Kept")).at(-1)).toMatch(/^G OK/);
    await client.command("H", "STORE 1 +FLAGS.SILENT (\\Deleted)");
    await client.command("I", "EXPUNGE");
    expect(await client.command("J", 'GETQUOTA ""')).toEqual([
      '* QUOTA "" (STORAGE 2 4)',
      "J OK GETQUOTA completed",
    ]);
    expect((await client.command("N", append(message(1500, "six")))).at(-1)).toMatch(/^N OK/);

    const shown = await captureCli((io) =>
      runUserCommand(["quota", "quinn"], { pool: server.db.pool, ...io }),
    );
    expect(shown.stdout).toBe("2.9 KiB of 4 KiB\n");
    const exact = await captureCli((io) =>
      runUserCommand(["quota", "quinn", "--json"], { pool: server.db.pool, ...io }),
    );
    expect(JSON.parse(exact.stdout)).toMatchObject({ used: 3000, quota: 4096 });
    client.close();
  });

  it("has no quota root for an account without a quota", async () => {
    const client = await login("rosa");
    expect(await client.command("R", "GETQUOTAROOT INBOX")).toEqual([
      "* QUOTAROOT INBOX",
      "R OK GETQUOTAROOT completed",
    ]);
    expect((await client.command("Q", 'GETQUOTA ""')).at(-1)).toBe(
      'Q NO [NONEXISTENT] no quota root named ""',
    );
    expect((await client.command("N", "GETQUOTAROOT Nowhere")).at(-1)).toMatch(/^N NO \[NONEXISTENT\]/);
    client.close();
  });
});
