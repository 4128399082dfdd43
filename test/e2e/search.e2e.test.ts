// SEARCH keys whose meaning lies in the message's header, as a client sees them answered:
// SENT* on the day the Date header names, HEADER "" as presence, FROM/TO/CC/BCC on the
// envelope's addresses (RFC 3501 6.4.4).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { rawLoggedIn } from "./helpers/clients.ts";

let server: TestMailServer;
const alice = { user: "alice", pass: "alice-password" };

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser(alice.user, alice.pass);
});
afterAll(async () => server?.close());

/** A mailbox holding one message per header block given (each gets a body), selected. */
async function selectedWith(name: string, headers: string[]): Promise<RawImapClient> {
  const client = await rawLoggedIn(server, alice);
  await client.command("c", `CREATE ${name}`);
  for (const [i, header] of headers.entries()) {
    const body = `${header}\r\n\r\nmessage ${i + 1}\r\n`;
    const answer = await client.command("a", `APPEND ${name} {${Buffer.byteLength(body)}+}\r\n${body}`);
    expect(answer.at(-1)).toMatch(/^a OK/);
  }
  expect((await client.command("s", `SELECT ${name}`)).at(-1)).toMatch(/^s OK/);
  return client;
}

async function search(client: RawImapClient, criteria: string): Promise<string> {
  const lines = await client.command("q", `SEARCH ${criteria}`);
  expect(lines.at(-1)).toMatch(/^q OK/);
  return lines.find((line) => line.startsWith("* SEARCH"))!.replace(/^\* SEARCH ?/, "");
}

describe("SENTBEFORE, SENTON, SENTSINCE", () => {
  it("compare the day the Date header names, disregarding time and zone (RFC 3501 6.4.4)", async () => {
    const client = await selectedWith("Sent", [
      "Date: Sat, 24 Mar 2007 23:00:00 +0200",
      // The 24th in UTC, the 25th as written.
      "Date: Sun, 25 Mar 2007 00:00:00 +0200",
      // The 26th in UTC, the 25th as written.
      "Date: Sun, 25 Mar 2007 23:00:00 -0300",
      // A two-digit year (RFC 5322 4.5.1) and no weekday.
      "Date: 26 Mar 07 10:00 +0000",
      "Subject: no date at all",
    ]);
    expect(await search(client, "SENTON 24-Mar-2007")).toBe("1");
    expect(await search(client, "SENTON 25-Mar-2007")).toBe("2 3");
    expect(await search(client, "SENTON 26-Mar-2007")).toBe("4");
    expect(await search(client, "SENTBEFORE 25-Mar-2007")).toBe("1");
    expect(await search(client, "SENTSINCE 25-Mar-2007")).toBe("2 3 4");
    expect(await search(client, "NOT SENTSINCE 26-Mar-2007")).toBe("1 2 3 5");
    // Far from the date asked, the answer is the same.
    expect(await search(client, "SENTSINCE 1-Jan-2000")).toBe("1 2 3 4");
    expect(await search(client, "SENTBEFORE 1-Jan-2030")).toBe("1 2 3 4");
    client.close();
  });
});

describe("a Date header in the year 202424 (found by the live fuzzer)", () => {
  it("is no date: SORT, THREAD and SENTSINCE answer, and order it as undated", async () => {
    const client = await selectedWith("FarDate", [
      "Date: Sat, 1 Jan 2000 10:00:00 +0000\r\nSubject: a",
      "Date: Sat, 1 Jan 202424 10:00:00 +0000\r\nSubject: b",
    ]);
    const sorted = await client.command("o", "SORT (DATE) UTF-8 ALL");
    expect(sorted.at(-1)).toMatch(/^o OK/);
    const threaded = await client.command("t", "THREAD REFERENCES UTF-8 ALL");
    expect(threaded.at(-1)).toMatch(/^t OK/);
    expect(await search(client, "SENTSINCE 1-Jan-1990")).toBe("1");
    client.close();
  });
});

describe('HEADER field ""', () => {
  it("matches the messages that have the field, whichever it is (RFC 3501 6.4.4)", async () => {
    const client = await selectedWith("Presence", [
      "Subject: hello\r\nTo: a@example.org",
      "X-Extra: one\r\nCc: b@example.org",
    ]);
    expect(await search(client, 'HEADER Subject ""')).toBe("1");
    expect(await search(client, 'NOT HEADER Subject ""')).toBe("2");
    expect(await search(client, 'HEADER To ""')).toBe("1");
    expect(await search(client, 'HEADER Cc ""')).toBe("2");
    expect(await search(client, 'HEADER Bcc ""')).toBe("");
    expect(await search(client, 'HEADER X-Extra ""')).toBe("2");
    client.close();
  });
});

describe("FROM, TO, CC, BCC", () => {
  it("match the envelope's addresses, however the header spells them", async () => {
    const client = await selectedWith("Addresses", [
      "From: user-from@example.org",
      "From: Real Name <user-from@example.org>",
      "From: <user-from (comment)@ (comment) example.org>",
      "From: user-from@example.org (Commented Name)",
      "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>",
      "From: other@example.org",
    ]);
    expect(await search(client, "FROM user-from@example.org")).toBe("1 2 3 4");
    expect(await search(client, "FROM <user-from@example.org>")).toBe("1 2 3 4");
    expect(await search(client, 'FROM "real name"')).toBe("2");
    expect(await search(client, "FROM commented")).toBe("4");
    expect(await search(client, "CHARSET UTF-8 FROM {5+}\r\nJörg")).toBe("5");
    client.close();
  });
});
