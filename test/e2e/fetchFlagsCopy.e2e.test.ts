// `UID FETCH 1:* (FLAGS)` of a large mailbox is answered from the node's copy of its FLAGS and
// MODSEQ (src/projections/queries/flagsCache.ts). What a client sees must be what the mailbox
// index says at that moment, whatever another session did in between: flags changed, messages
// expunged and appended. The index's own answer is FETCH with INTERNALDATE beside FLAGS, which
// reads every row again.
import { afterAll, beforeAll, expect, it } from "vitest";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";

/** Above the size from which FETCH reads the copy (fetch.ts FLAGS_COPY_MIN_MESSAGES). */
const MESSAGES = 1_200;
const PER_APPEND = 200;

let server: TestMailServer;
beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser("alice", "alice-password");
});
afterAll(async () => server?.close());

async function login(): Promise<RawImapClient> {
  const client = await RawImapClient.connect(server.port);
  await client.greeting();
  expect((await client.command("L", "LOGIN alice alice-password")).at(-1)).toMatch(/^L OK/);
  return client;
}

const message = (n: number) => `From: a@example.org\r\nSubject: ${n}\r\n\r\nbody ${n}\r\n`;

/** UID → FLAGS as a FETCH's lines show them. */
function flagsByUid(lines: readonly string[]): Map<number, string> {
  const flags = new Map<number, string>();
  for (const line of lines) {
    const match = /^\* \d+ FETCH \(.*UID (\d+).*FLAGS \(([^)]*)\)/.exec(line);
    if (match) flags.set(Number(match[1]), match[2]!);
  }
  return flags;
}

/** \Recent is the session's, not the message's: left out where one message's flags are named. */
const stored = (flags: string | undefined) => flags?.replace(/ ?\\Recent/, "");

async function expectCopyEqualsIndex(client: RawImapClient): Promise<Map<number, string>> {
  const fromCopy = await client.command("c", "UID FETCH 1:* (FLAGS)", 30_000);
  expect(fromCopy.at(-1)).toMatch(/^c OK/);
  const fromIndex = await client.command("i", "UID FETCH 1:* (FLAGS INTERNALDATE)", 30_000);
  expect(fromIndex.at(-1)).toMatch(/^i OK/);
  const copied = flagsByUid(fromCopy);
  expect(copied).toEqual(flagsByUid(fromIndex));
  return copied;
}

it("answers a resync exactly as the index does, after another session's flags, expunges and appends", async () => {
  const writer = await login();
  for (let first = 1; first <= MESSAGES; first += PER_APPEND) {
    const literals = Array.from({ length: PER_APPEND }, (_, i) => {
      const body = message(first + i);
      return ` ${(first + i) % 3 === 0 ? "(\\Seen)" : "()"} {${body.length}+}\r\n${body}`;
    }).join("");
    expect((await writer.command("A", `APPEND INBOX${literals}`, 30_000)).at(-1)).toMatch(/^A OK/);
  }
  const reader = await login();
  expect((await reader.command("S", "SELECT INBOX")).at(-1)).toMatch(/^S OK/);
  const first = await expectCopyEqualsIndex(reader);
  expect(first.size).toBe(MESSAGES);
  expect(stored(first.get(3))).toBe("\\Seen");

  expect((await writer.command("S", "SELECT INBOX")).at(-1)).toMatch(/^S OK/);
  expect((await writer.command("F", "UID STORE 1:10 +FLAGS.SILENT (\\Flagged $Later)")).at(-1)).toMatch(
    /^F OK/,
  );
  expect((await writer.command("D", "UID STORE 11:20 +FLAGS.SILENT (\\Deleted)")).at(-1)).toMatch(/^D OK/);
  expect((await writer.command("E", "EXPUNGE")).at(-1)).toMatch(/^E OK/);
  const body = message(9_999);
  expect(
    (await writer.command("A", `APPEND INBOX (\\Answered) {${body.length}+}\r\n${body}`)).at(-1),
  ).toMatch(/^A OK/);
  const second = await expectCopyEqualsIndex(reader);
  expect(second.size).toBe(MESSAGES - 10 + 1);
  expect(stored(second.get(1))?.split(" ").sort()).toEqual(["$Later", "\\Flagged"]);
  expect(second.has(11)).toBe(false);
  expect(stored(second.get(MESSAGES + 1))).toBe("\\Answered");

  // A session that selects it afresh sees the same (without the first session's \\Recent).
  const late = await login();
  expect((await late.command("S", "SELECT INBOX")).at(-1)).toMatch(/^S OK/);
  const withoutRecent = (flags: Map<number, string>) =>
    new Map([...flags].map(([uid, f]) => [uid, stored(f)]));
  expect(withoutRecent(await expectCopyEqualsIndex(late))).toEqual(withoutRecent(second));
  for (const client of [writer, reader, late]) client.close();
}, 120_000);
