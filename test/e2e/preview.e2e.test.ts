// PREVIEW (RFC 8970) over TCP: FETCH PREVIEW is the bodies view's preview column, derived on
// demand from the blob where the view has none yet; PREVIEW (LAZY) answers NIL then instead. As
// raw wire lines, with imapflow's fetch of a raw item, and with Python's imaplib.
import { sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { bodiesViewCaughtUp } from "../support/bodiesView.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { dataLines, imaplib, rawLoggedIn } from "./helpers/clients.ts";

let server: TestMailServer;
const pia = { user: "pia", pass: "pia-password" };

const PLAIN = "Subject: lunch\r\n\r\nHi Pia,\r\n\r\n   lunch   at noon?\r\n";
const HTML =
  "Subject: news\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><h1>Weekly&nbsp;news</h1><p>All is <b>well</b>.</p></body></html>\r\n";
const LONG = `Subject: long\r\n\r\n${"word ".repeat(100)}\r\n`;

beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser(pia.user, pia.pass);
  const raw = await rawLoggedIn(server, pia);
  for (const text of [PLAIN, HTML, LONG]) {
    expect((await raw.command("A", `APPEND INBOX {${Buffer.byteLength(text)}+}\r\n${text}`)).at(-1)).toMatch(
      /^A OK/,
    );
  }
  raw.close();
});
afterAll(async () => server?.close());

describe("PREVIEW", () => {
  it("advertises PREVIEW and refuses FETCH before login and bad modifiers", async () => {
    const client = await RawImapClient.connect(server.port);
    await client.greeting();
    expect((await client.command("C", "CAPABILITY"))[0]).toMatch(/ PREVIEW( |$)/);
    expect((await client.command("F", "FETCH 1 (PREVIEW)")).at(-1)).toMatch(/^F BAD /);
    client.close();
    const raw = await rawLoggedIn(server, pia);
    await raw.command("S", "SELECT INBOX");
    expect((await raw.command("B1", "FETCH 1 (PREVIEW (FAST))")).at(-1)).toMatch(/^B1 BAD /);
    expect((await raw.command("B2", "FETCH 1 (PREVIEW (LAZY)")).at(-1)).toMatch(/^B2 BAD /);
    raw.close();
  });

  it("gives plain text from text/plain or HTML, whitespace collapsed, at most 256 characters", async () => {
    await bodiesViewCaughtUp(server.db.pool);
    const raw = await rawLoggedIn(server, pia);
    await raw.command("S", "SELECT INBOX");
    expect(await raw.command("F", "FETCH 1:2 (PREVIEW)")).toEqual([
      '* 1 FETCH (PREVIEW "Hi Pia, lunch at noon?")',
      '* 2 FETCH (PREVIEW "Weekly news All is well.")',
      "F OK FETCH completed",
    ]);
    const long = (await raw.command("L", "UID FETCH 3 (PREVIEW (LAZY))"))[0]!;
    const text = /PREVIEW "([^"]*)"/.exec(long)?.[1] ?? "";
    expect(text.length).toBeLessThanOrEqual(256);
    expect(text.startsWith("word word")).toBe(true);
    // LAZY with the view caught up: the same text, from the view.
    expect((await raw.command("Z", "FETCH 1 (PREVIEW (LAZY) UID)"))[0]).toBe(
      '* 1 FETCH (PREVIEW "Hi Pia, lunch at noon?" UID 1)',
    );
    raw.close();
  });

  it("derives it on demand where the view has none yet, and LAZY answers NIL there", async () => {
    await bodiesViewCaughtUp(server.db.pool);
    // As if the projector had not reached these bodies yet: one row without its preview (a row
    // from before the column), one row missing.
    const digests = await server.db.pool.anyFirst(sql.unsafe`
      SELECT blob_digest FROM messages ORDER BY uid LIMIT 2`);
    await server.db.pool.query(sql.unsafe`
      UPDATE proj_bodies.message_bodies SET preview = NULL WHERE blob_digest = ${digests[0] as string}`);
    await server.db.pool.query(sql.unsafe`
      DELETE FROM proj_bodies.message_bodies WHERE blob_digest = ${digests[1] as string}`);
    const raw = await rawLoggedIn(server, pia);
    await raw.command("S", "SELECT INBOX");
    expect(await raw.command("L", "FETCH 1:2 (PREVIEW (LAZY))")).toEqual([
      "* 1 FETCH (PREVIEW NIL)",
      "* 2 FETCH (PREVIEW NIL)",
      "L OK FETCH completed",
    ]);
    expect(await raw.command("F", "FETCH 1:2 (PREVIEW)")).toEqual([
      '* 1 FETCH (PREVIEW "Hi Pia, lunch at noon?")',
      '* 2 FETCH (PREVIEW "Weekly news All is well.")',
      "F OK FETCH completed",
    ]);
    raw.close();
  });

  it("works from Python's imaplib", async () => {
    const results = await imaplib(server, pia, [
      ["select", "INBOX"],
      ["fetch", "1", "(PREVIEW)"],
    ]);
    expect(dataLines(results[1])).toEqual(['1 (PREVIEW "Hi Pia, lunch at noon?")']);
  });
});
