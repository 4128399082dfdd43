// LITERAL- beside LITERAL+ (RFC 7888) over TCP. By default both are offered: a non-synchronizing
// literal of any size up to the literal limits is read without "+". With IMAP_LITERAL_PLUS=false
// only LITERAL- is: up to 4096 octets as before, a larger one gets BAD [TOOBIG], its octets are
// read and dropped (none of them runs as a command), and the connection stays usable.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { imaplib, rawLoggedIn } from "./helpers/clients.ts";

let plus: TestMailServer;
let minus: TestMailServer;
const lee = { user: "lee", pass: "lee-password" };

beforeAll(async () => {
  [plus, minus] = await Promise.all([
    startTestMailServer(),
    startTestMailServer({ env: { IMAP_LITERAL_PLUS: "false" } }),
  ]);
  await plus.createUser(lee.user, lee.pass);
  await minus.createUser(lee.user, lee.pass);
});
afterAll(async () => {
  await plus?.close();
  await minus?.close();
});

/** A message of exactly `size` octets whose body is made of lines that would be commands if run. */
function message(size: number): string {
  const head = "Subject: literal\r\n\r\n";
  const line = "X1 DELETE INBOX\r\n";
  const body = line.repeat(Math.ceil((size - head.length) / line.length)).slice(0, size - head.length);
  return head + body;
}

async function capabilities(server: TestMailServer): Promise<string> {
  const client = await RawImapClient.connect(server.port);
  const greeting = await client.greeting();
  client.close();
  return greeting;
}

describe("LITERAL- and LITERAL+", () => {
  it("offers both by default, and reads a large non-synchronizing literal", async () => {
    expect(await capabilities(plus)).toMatch(/ LITERAL\+ LITERAL- /);
    const raw = await rawLoggedIn(plus, lee);
    const text = message(20_000);
    expect((await raw.command("A", `APPEND INBOX {${text.length}+}\r\n${text}`)).at(-1)).toMatch(/^A OK /);
    raw.close();
  });

  it("with LITERAL- alone: 4096 octets are read at once, 4097 get BAD [TOOBIG] and are dropped", async () => {
    const greeting = await capabilities(minus);
    expect(greeting).toMatch(/ LITERAL- /);
    expect(greeting).not.toContain("LITERAL+");
    const raw = await rawLoggedIn(minus, lee);
    const fits = message(4096);
    expect((await raw.command("A", `APPEND INBOX {4096+}\r\n${fits}`)).at(-1)).toMatch(/^A OK /);
    const over = message(4097);
    expect(await raw.command("B", `APPEND INBOX {4097+}\r\n${over}`)).toEqual([
      "B BAD [TOOBIG] non-synchronizing literal larger than 4096 octets (LITERAL-)",
    ]);
    // None of the dropped octets ran as a command, and the connection goes on.
    expect(await raw.command("S", "STATUS INBOX (MESSAGES)")).toEqual([
      "* STATUS INBOX (MESSAGES 1)",
      "S OK STATUS completed",
    ]);
    // A synchronizing literal of any size still works: the client waits for "+".
    await raw.write(`C APPEND INBOX {${over.length}}\r\n`);
    await raw.waitFor((line) => line.startsWith("+"));
    await raw.write(`${over}\r\n`);
    expect(await raw.waitFor((line) => line.startsWith("C "))).toMatch(/^C OK /);
    raw.close();
  });

  it("serves Python's imaplib, which sends synchronizing literals, in either mode", async () => {
    for (const server of [plus, minus]) {
      const [appended] = await imaplib(server, lee, [["append", "INBOX", null, null, message(6000)]]);
      expect(appended).toMatchObject({ typ: "OK" });
    }
  });
});
