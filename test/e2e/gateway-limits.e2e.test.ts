// Limits over TCP: oversized literals refused without buffering, connection limits, failed-login
// throttling, autologout, pipelining, graceful shutdown.
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/imap-gateway/logger.ts";
import { imapConnections, imapMaxBufferedBytes, metricValue } from "../../src/imap-gateway/metrics.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../../src/imap-gateway/module.ts";
import type { GatewayLimits } from "../../src/imap-gateway/options.ts";
import { createImapServer, type ImapServer } from "../../src/imap-gateway/server.ts";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { TEST_USER, testAuthenticator } from "../../src/imap-gateway/testing/testUsers.ts";

const MB = 1024 * 1024;
const LOGIN = `LOGIN alice "${TEST_USER.password}"`;

/** Stands in for the storage APPEND: counts the streamed bytes, keeps none of them. */
const countingAppend = defineCommand({
  names: ["APPEND"],
  states: AUTHENTICATED_OR_SELECTED,
  capabilities: (session) => (session.state === "not-authenticated" ? [] : ["APPENDLIMIT=52428800"]),
  maxLiteralSize: (_session, limits) => limits.maxAppendLiteralSize,
  openLiteralSink() {
    const handle = { bytes: 0 };
    return {
      handle,
      write(chunk) {
        handle.bytes += chunk.length;
        return true;
      },
      end() {},
      abort() {},
    };
  },
  async handle(command) {
    const content = command.args.messages[0]!.content;
    if (content.kind !== "literal") throw new Error("a literal was expected");
    const literal = content.literal;
    const size =
      literal.kind === "streamed" ? (literal.handle as { bytes: number }).bytes : literal.data.length;
    return { text: `APPEND stored ${size} octets` };
  },
});

let server: ImapServer | undefined;
async function start(limits: Partial<GatewayLimits> = {}): Promise<number> {
  server = createImapServer({
    port: 0,
    allowInsecureAuth: true,
    authenticator: testAuthenticator(),
    modules: [countingAppend],
    logger: silentLogger,
    limits: { maxAppendLiteralSize: 50 * MB, ...limits },
  });
  return (await server.listen()).port;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function loggedIn(port: number, localAddress?: string): Promise<RawImapClient> {
  const client = await RawImapClient.connect(port, "127.0.0.1", localAddress);
  await client.greeting();
  expect((await client.command("L", LOGIN)).at(-1)).toMatch(/^L OK/);
  return client;
}

/** Writes `total` bytes in 1 MB chunks, honouring backpressure, reusing one buffer. */
async function stream(client: RawImapClient, total: number): Promise<void> {
  const chunk = Buffer.alloc(MB, 0x61);
  for (let sent = 0; sent < total; sent += MB) {
    const piece = total - sent >= MB ? chunk : chunk.subarray(0, total - sent);
    if (!client.socket.write(piece)) await new Promise((resolve) => client.socket.once("drain", resolve));
  }
}

describe("literal limits", () => {
  it("refuses a 100 MB synchronizing literal before the continuation", async () => {
    const port = await start();
    const client = await loggedIn(port);
    const answer = await client.command("a", `APPEND INBOX {${100 * MB}}`);
    expect(answer).toEqual([`a NO [TOOBIG] literal of ${100 * MB} octets exceeds the limit of ${50 * MB}`]);
    expect(client.lines.some((l) => l.startsWith("+"))).toBe(false);
    expect((await client.command("b", "NOOP")).at(-1)).toBe("b OK NOOP completed");
    client.close();
  });

  it("discards a 100 MB LITERAL+ as it streams, answers NO [TOOBIG] and stays usable", async () => {
    const port = await start();
    const client = await loggedIn(port);
    const from = client.lines.length;
    await client.write(`a APPEND INBOX {${100 * MB}+}\r\n`);
    // The refusal comes as soon as the size is known, while the bytes are still on their way.
    await client.waitFor((l) => l.startsWith("a "), 5000, from);
    await stream(client, 100 * MB);
    await client.write("\r\n");
    expect((await client.command("b", "NOOP", 30_000)).at(-1)).toBe("b OK NOOP completed");
    expect(client.lines[from]).toBe(
      `a NO [TOOBIG] literal of ${100 * MB} octets exceeds the limit of ${50 * MB}`,
    );
    // The session never held more than a line and a socket chunk. (Process RSS is not asserted: client
    // and server share this process, and discarded socket chunks are garbage the GC frees lazily.)
    expect(await metricValue(imapMaxBufferedBytes)).toBeLessThan(2 * MB);
    expect(server!.sessions()[0]!.bufferedBytes).toBeLessThan(64 * 1024);
    client.close();
  }, 60_000);

  it("streams a 20 MB APPEND under the limit to the module's sink", async () => {
    const port = await start();
    const client = await loggedIn(port);
    const from = client.lines.length;
    await client.write(`a APPEND INBOX {${20 * MB}}\r\n`);
    await client.waitFor((l) => l.startsWith("+"), 5000, from);
    await stream(client, 20 * MB);
    await client.write("\r\n");
    await client.waitFor((l) => l.startsWith("a "), 30_000, from);
    expect(client.lines.at(-1)).toBe(`a OK APPEND stored ${20 * MB} octets`);
    expect(await metricValue(imapMaxBufferedBytes)).toBeLessThan(2 * MB);
    client.close();
  }, 60_000);
});

describe("connection limits", () => {
  it("refuses connections beyond the node limit with BYE, and logins beyond the user limit with NO [LIMIT]", async () => {
    const refusedBefore = await metricValue(imapConnections, { result: "refused_node_limit" });
    const port = await start({ maxConnections: 3, maxConnectionsPerUser: 2 });
    const a = await loggedIn(port);
    const b = await loggedIn(port);
    const c = await RawImapClient.connect(port);
    await c.greeting();
    expect((await c.command("x", LOGIN)).at(-1)).toMatch(
      /^x NO \[LIMIT\] too many connections for this user/,
    );
    const d = await RawImapClient.connect(port);
    await d.whenClosed();
    expect(d.lines).toEqual(["* BYE [UNAVAILABLE] too many connections on this server; try again later"]);
    expect((await metricValue(imapConnections, { result: "refused_node_limit" })) - refusedBefore).toBe(1);
    // Other sessions are unaffected.
    expect((await a.command("n", "NOOP")).at(-1)).toBe("n OK NOOP completed");
    b.close();
    await b.whenClosed();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await c.command("y", LOGIN)).at(-1)).toMatch(/^y OK/);
    for (const client of [a, c]) client.close();
  });
});

describe("failed-login throttling", () => {
  it("delays growing failures from one address, then refuses it, leaving other addresses alone", async () => {
    const port = await start({
      maxFailedLoginsPerAddress: 4,
      failedLoginBaseDelayMs: 100,
      failedLoginMaxDelayMs: 1000,
    });
    const client = await RawImapClient.connect(port, "127.0.0.1", "127.0.0.2");
    await client.greeting();
    const durations: number[] = [];
    for (const tag of ["a", "b", "c", "d"]) {
      const t0 = Date.now();
      expect((await client.command(tag, "LOGIN alice wrong")).at(-1)).toMatch(/NO \[AUTHENTICATIONFAILED\]/);
      durations.push(Date.now() - t0);
    }
    expect(durations[0]).toBeGreaterThanOrEqual(90);
    expect(durations[2]!).toBeGreaterThanOrEqual(380);
    expect(durations[3]!).toBeGreaterThan(durations[1]!);
    const refused = await client.command("e", LOGIN);
    expect(refused.at(-1)).toMatch(
      /^e NO \[UNAVAILABLE\] too many failed logins from your address; try again in \d+ s/,
    );
    const other = await loggedIn(port, "127.0.0.3");
    other.close();
    client.close();
  }, 30_000);
});

describe("autologout", () => {
  it("logs out idle clients before and after authentication with BYE", async () => {
    const port = await start({ idleTimeoutBeforeAuthMs: 300, idleTimeoutAuthenticatedMs: 800 });
    const anonymous = await RawImapClient.connect(port);
    const user = await loggedIn(port);
    const t0 = Date.now();
    await anonymous.whenClosed(3000);
    expect(anonymous.lines.at(-1)).toBe("* BYE autologout; idle for too long");
    expect(user.closed).toBe(false);
    await user.whenClosed(3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    expect(user.lines.at(-1)).toBe("* BYE autologout; idle for too long");
  });
});

describe("pipelining and shutdown", () => {
  it("answers several commands in one write, in order", async () => {
    const port = await start();
    const client = await RawImapClient.connect(port);
    await client.greeting();
    const from = client.lines.length;
    await client.write(
      `p1 CAPABILITY\r\np2 ${LOGIN}\r\np3 NOOP\r\np4 ID NIL\r\np5 APPEND INBOX {5+}\r\nhello\r\np6 ENABLE X\r\np7 LOGOUT\r\n`,
    );
    await client.whenClosed();
    const answers = client.lines.slice(from);
    expect(answers.filter((l) => /^p\d /.test(l))).toEqual([
      "p1 OK CAPABILITY completed",
      expect.stringMatching(/^p2 OK \[CAPABILITY .*APPENDLIMIT=52428800.*\] LOGIN completed$/),
      "p3 OK NOOP completed",
      "p4 OK ID completed",
      "p5 OK APPEND stored 5 octets",
      "p6 OK ENABLE completed",
      "p7 OK LOGOUT completed",
    ]);
  });

  it("says BYE to idle sessions on graceful close", async () => {
    const port = await start();
    const clients = [await RawImapClient.connect(port), await loggedIn(port)];
    await clients[0]!.greeting();
    await server!.close();
    server = undefined;
    for (const client of clients) {
      await client.whenClosed();
      expect(client.lines.at(-1)).toBe("* BYE server shutting down");
    }
  });
});
