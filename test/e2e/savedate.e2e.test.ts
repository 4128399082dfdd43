// SAVEDATE (RFC 8514) over TCP: FETCH SAVEDATE is when the message came into this mailbox (APPEND,
// COPY, MOVE), not its INTERNALDATE; SEARCH SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED; the
// date survives a replay of the log (`projections verify index`).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dateTimeFromString } from "../../src/imap-gateway/codec/index.ts";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { dataLines, imaplib, rawLoggedIn } from "./helpers/clients.ts";
import { verifyIndex } from "./helpers/verifyIndex.ts";

let server: TestMailServer;
const sam = { user: "sam", pass: "sam-password" };

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser(sam.user, sam.pass);
});
afterAll(async () => server?.close());

const MESSAGE = "Subject: old news\r\nDate: Sat, 1 Jan 2000 10:00:00 +0000\r\n\r\nhello\r\n";
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const imapDay = (date: Date) => `${date.getUTCDate()}-${MONTHS[date.getUTCMonth()]}-${date.getUTCFullYear()}`;

function saveDateOf(line: string | undefined): Date {
  const match = /SAVEDATE "([^"]+)"/.exec(line ?? "");
  if (!match) throw new Error(`no SAVEDATE in ${line}`);
  const parsed = dateTimeFromString(match[1]!);
  if (parsed === undefined) throw new Error(`bad SAVEDATE ${match[1]}`);
  return parsed;
}

describe("SAVEDATE", () => {
  it("advertises SAVEDATE and refuses FETCH before login", async () => {
    const client = await RawImapClient.connect(server.port);
    await client.greeting();
    const capabilities = (await client.command("C", "CAPABILITY"))[0]!;
    expect(capabilities).toMatch(/ SAVEDATE( |$)/);
    expect((await client.command("F", "FETCH 1 (SAVEDATE)")).at(-1)).toMatch(/^F BAD /);
    client.close();
  });

  it("gives the time a message came into the mailbox, whatever its INTERNALDATE", async () => {
    const raw = await rawLoggedIn(server, sam);
    const before = Date.now() - 2_000;
    const appended = await raw.command(
      "A",
      `APPEND INBOX "01-Jan-2000 10:00:00 +0000" {${MESSAGE.length}+}\r\n${MESSAGE}`,
    );
    expect(appended.at(-1)).toMatch(/^A OK/);
    await raw.command("S", "SELECT INBOX");
    const fetched = await raw.command("F", "FETCH 1 (INTERNALDATE SAVEDATE)");
    expect(fetched[0]).toMatch(
      /^\* 1 FETCH \(INTERNALDATE " 1-Jan-2000 10:00:00 \+0000" SAVEDATE "[^"]+"\)$/,
    );
    const saved = saveDateOf(fetched[0]);
    expect(saved.getTime()).toBeGreaterThanOrEqual(before);
    expect(saved.getTime()).toBeLessThanOrEqual(Date.now() + 2_000);

    // A copy is saved when it is copied; MOVE saves it anew in the target.
    await raw.command("C1", "CREATE Copies");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await raw.command("C2", "COPY 1 Copies")).at(-1)).toMatch(/^C2 OK/);
    const copy = await raw.command("E", 'EXAMINE "Copies"');
    expect(copy.at(-1)).toMatch(/^E OK/);
    const copied = saveDateOf((await raw.command("F2", "UID FETCH 1 (SAVEDATE)"))[0]);
    expect(copied.getTime()).toBeGreaterThan(saved.getTime());

    // UID FETCH and the mixed path (SAVEDATE beside body items) answer alike.
    await raw.command("S2", "SELECT INBOX");
    const mixed = await raw.command("F3", "UID FETCH 1 (SAVEDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    expect(saveDateOf(mixed[0]).getTime()).toBe(saved.getTime());
    raw.close();
  });

  it("searches by save date, and SAVEDATESUPPORTED matches every message", async () => {
    const raw = await rawLoggedIn(server, sam);
    await raw.command("S", "SELECT INBOX");
    const today = new Date();
    const tomorrow = new Date(today.getTime() + 86_400_000);
    // The message's INTERNALDATE and Date header are in 2000: only the save date is today.
    expect((await raw.command("Q1", `SEARCH SAVEDON ${imapDay(today)}`))[0]).toBe("* SEARCH 1");
    expect((await raw.command("Q2", `SEARCH SAVEDSINCE ${imapDay(today)}`))[0]).toBe("* SEARCH 1");
    expect((await raw.command("Q3", `SEARCH SAVEDBEFORE ${imapDay(today)}`))[0]).toBe("* SEARCH");
    expect((await raw.command("Q4", `SEARCH SAVEDBEFORE ${imapDay(tomorrow)}`))[0]).toBe("* SEARCH 1");
    expect((await raw.command("Q5", "SEARCH ON 1-Jan-2000"))[0]).toBe("* SEARCH 1");
    expect((await raw.command("Q6", "SEARCH SAVEDON 1-Jan-2000"))[0]).toBe("* SEARCH");
    expect((await raw.command("Q7", "SEARCH SAVEDATESUPPORTED"))[0]).toBe("* SEARCH 1");
    expect((await raw.command("Q8", "SEARCH NOT SAVEDATESUPPORTED"))[0]).toBe("* SEARCH");
    expect((await raw.command("Q9", "UID SEARCH RETURN (COUNT) SAVEDSINCE 1-Jan-2000"))[0]).toMatch(
      /^\* ESEARCH \(TAG "Q9"\) UID COUNT 1$/,
    );
    expect((await raw.command("B1", "SEARCH SAVEDON 32-Jan-2020")).at(-1)).toMatch(/^B1 BAD /);
    expect((await raw.command("B2", "SEARCH SAVEDSINCE")).at(-1)).toMatch(/^B2 BAD /);
    raw.close();
  });

  it("works from Python's imaplib", async () => {
    const today = imapDay(new Date());
    const results = await imaplib(server, sam, [
      ["select", "INBOX"],
      ["fetch", "1", "(SAVEDATE)"],
      ["search", null, "SAVEDON", today],
    ]);
    expect(dataLines(results[1])[0]).toMatch(
      /^1 \(SAVEDATE "[ \d]\d-[A-Z][a-z]{2}-\d{4} [\d:]{8} [+-]\d{4}"\)$/,
    );
    expect(dataLines(results[2])).toEqual(["1"]);
  });

  it("keeps save dates a replay of the log gives again", async () => {
    const { code, out } = await verifyIndex(server.db.pool);
    expect(code, out).toBe(0);
  });
});
