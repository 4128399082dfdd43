// A logged-in raw IMAP session with its own tags, for tests that assert the exact wire lines a
// user's client receives, and the test messages those tests append.
import { expect } from "vitest";
import { RawImapClient } from "../../../src/imap-gateway/testing/rawClient.ts";

/** A command's answer on a loaded machine: generous, and named when it runs out. */
export const COMMAND_TIMEOUT_MS = 15_000;

export class WireSession {
  readonly client: RawImapClient;
  readonly name: string;
  #tags = 0;

  private constructor(client: RawImapClient, name: string) {
    this.client = client;
    this.name = name;
  }

  /** Connects to `port`, reads the greeting and logs in. `name` appears in failure messages. */
  static async login(port: number, user: string, password: string, name = `${user}@${port}`) {
    const client = await RawImapClient.connect(port);
    await client.greeting(COMMAND_TIMEOUT_MS);
    const session = new WireSession(client, name);
    await session.ok(`LOGIN ${user} ${password}`);
    return session;
  }

  nextTag(): string {
    this.#tags += 1;
    return `T${this.#tags}`;
  }

  /** Sends one command; resolves with every line up to and including its tagged response. */
  async run(command: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string[]> {
    const tag = this.nextTag();
    try {
      return await this.client.command(tag, command, timeoutMs);
    } catch (error) {
      throw new Error(`${this.name}: ${tag} ${command.split("\r\n")[0]}: ${(error as Error).message}`);
    }
  }

  /** As run(), and the tagged response must be OK; resolves with the untagged lines. */
  async ok(command: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string[]> {
    const lines = await this.run(command, timeoutMs);
    const tagged = lines.at(-1)!;
    expect(tagged, `${this.name}: ${command.split("\r\n")[0]} → ${JSON.stringify(lines)}`).toMatch(
      /^T\d+ OK/,
    );
    return lines.slice(0, -1);
  }

  /** APPEND with a non-synchronizing literal (LITERAL+); resolves with the APPENDUID. */
  async append(
    mailbox: string,
    message: string,
    flags = "",
  ): Promise<{ uidValidity: number; uid: number; lines: string[] }> {
    const lines = await this.run(
      `APPEND ${mailbox}${flags ? ` (${flags})` : ""} {${Buffer.byteLength(message)}+}\r\n${message}`,
    );
    const appendUid = /^T\d+ OK \[APPENDUID (\d+) (\d+)\]/.exec(lines.at(-1)!);
    expect(appendUid, `${this.name}: APPEND ${mailbox} → ${JSON.stringify(lines)}`).not.toBeNull();
    return { uidValidity: Number(appendUid![1]), uid: Number(appendUid![2]), lines };
  }

  /** Sends IDLE and resolves once the server's continuation came: the session is idling. */
  async idle(): Promise<Idling> {
    const { client, name } = this;
    const tag = this.nextTag();
    const start = client.lines.length;
    await client.write(`${tag} IDLE\r\n`);
    await client.waitFor((line) => line.startsWith("+ "), COMMAND_TIMEOUT_MS, start);
    let cursor = client.lines.findIndex((line, i) => i >= start && line.startsWith("+ ")) + 1;
    return {
      get lines() {
        return client.lines.slice(start);
      },
      async next(match, timeoutMs) {
        const matches = (line: string) => (typeof match === "string" ? line === match : match.test(line));
        try {
          await client.waitFor(matches, timeoutMs, cursor);
        } catch (error) {
          throw new Error(
            `${name}: IDLE: no line ${match} within ${timeoutMs} ms: ${(error as Error).message}`,
          );
        }
        cursor = client.lines.findIndex((line, i) => i >= cursor && matches(line)) + 1;
        return client.lines[cursor - 1]!;
      },
      async done() {
        const before = client.lines.length;
        await client.write("DONE\r\n");
        const tagged = await client.waitFor((line) => line.startsWith(`${tag} `), COMMAND_TIMEOUT_MS, before);
        expect(tagged, `${name}: IDLE → ${tagged}`).toMatch(/^T\d+ OK/);
        return client.lines.slice(start, client.lines.lastIndexOf(tagged));
      },
    };
  }

  close(): void {
    this.client.close();
  }
}

export interface Idling {
  /** Every line since IDLE was sent. */
  readonly lines: string[];
  /** Waits for a line after the last one awaited that is `match` (or matches it); resolves with it. */
  next(match: string | RegExp, timeoutMs: number): Promise<string>;
  /** DONE, and the tagged OK; resolves with the lines before it. */
  done(): Promise<string[]>;
}

/** The lines a command answered, as the wire carried them (literals included). */
export const wire = (lines: readonly string[]) => lines.join("\r\n");

/** The UIDs of `* n FETCH (... UID u ...)` lines. */
export function fetchedUids(lines: readonly string[]): number[] {
  return lines.flatMap((line) => {
    const match = /^\* \d+ FETCH \(.*\bUID (\d+)/.exec(line);
    return match ? [Number(match[1])] : [];
  });
}

/** The numbers of a `* SEARCH ...` line (ESEARCH not asked for). */
export function searched(lines: readonly string[]): number[] {
  const line = lines.find((l) => l.startsWith("* SEARCH"));
  if (line === undefined) throw new Error(`no * SEARCH line in ${JSON.stringify(lines)}`);
  return line
    .slice("* SEARCH".length)
    .trim()
    .split(" ")
    .filter((n) => n !== "")
    .map(Number);
}

/**
 * A two-part message (text and HTML) numbered `n`: every message has the same shape and length,
 * so one BODYSTRUCTURE fits all of them, and each has a word of its own to search for.
 */
export function testMessage(n: number): { raw: string; subject: string; word: string; text: string } {
  const id = String(n).padStart(4, "0");
  const subject = `Report ${id}`;
  const word = `zebra${id}`;
  const text = `Greetings from message ${id}, word ${word}.`;
  const raw = [
    "From: Alice Example <alice@example.org>",
    "To: bob@example.net",
    `Subject: ${subject}`,
    "Date: Tue, 03 Mar 2026 10:00:00 +0000",
    `Message-ID: <m${id}@example.org>`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/alternative; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    text,
    "--b1",
    "Content-Type: text/html; charset=us-ascii",
    "",
    `<p>message ${id}</p>`,
    "--b1--",
    "",
  ].join("\r\n");
  return { raw, subject, word, text };
}

/** ENVELOPE (RFC 3501 7.4.2) of testMessage(n), as written by hand. */
export function testEnvelope(n: number): string {
  const id = String(n).padStart(4, "0");
  const alice = '(("Alice Example" NIL "alice" "example.org"))';
  return `ENVELOPE ("Tue, 03 Mar 2026 10:00:00 +0000" "Report ${id}" ${alice} ${alice} ${alice} ((NIL NIL "bob" "example.net")) NIL NIL NIL "<m${id}@example.org>")`;
}
