import { afterEach, describe, expect, it } from "vitest";
import { DomainError } from "../../commands/errors.ts";
import { CommitOutcomeUnknown } from "../../events/commitOutcome.ts";
import { ImapError, no } from "../errors.ts";
import { silentLogger } from "../logger.ts";
import { imapLimitsHit, imapLogins, imapServerBugs, metricValue } from "../metrics.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand, SELECTED, type SessionControl } from "../module.ts";
import type { GatewayLimits } from "../options.ts";
import { createImapServer, type ImapServer } from "../server.ts";
import { MemoryImapClient } from "../testing/memoryClient.ts";
import { TEST_USER, testAuthenticator } from "../testing/testUsers.ts";

const PASSWORD = TEST_USER.password;
const plain = (authz: string, user: string, pass: string): string =>
  Buffer.from(`${authz}\0${user}\0${pass}`, "utf8").toString("base64");

let selectedSessions: SessionControl[] = [];

// Test modules standing in for the next issue's storage-backed commands.
const selectModule = defineCommand({
  names: ["SELECT"],
  states: AUTHENTICATED_OR_SELECTED,
  enableable: ["CONDSTORE"],
  capabilities: (s) => (s.state === "not-authenticated" ? [] : ["CONDSTORE"]),
  async handle(command, context) {
    if (command.args.mailbox === "Missing") throw no("no such mailbox", "NONEXISTENT");
    if (command.args.mailbox === "Crash") throw new Error("storage exploded");
    if (command.args.mailbox === "Coded") throw new DomainError("OVERQUOTA", "quota exceeded");
    if (command.args.mailbox === "Unreachable")
      throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), {
        code: "ECONNREFUSED",
        errno: -111,
      });
    if (command.args.mailbox === "CommittedThenLost") {
      context.noteCommitted();
      throw new Error("Connection terminated unexpectedly");
    }
    if (command.args.mailbox === "OutcomeUnknown") throw new CommitOutcomeUnknown("01J", new Error("gone"));
    context.session.select({ name: command.args.mailbox, readOnly: false });
    selectedSessions.push(context.session);
    await context.untagged("0 EXISTS");
    return { code: "READ-WRITE", text: "SELECT completed" };
  },
});
const fetchModule = defineCommand({
  names: ["FETCH"],
  states: SELECTED,
  holdsExpunge: true,
  async handle(_command, context) {
    await context.untagged("1 FETCH (FLAGS ())");
    return undefined;
  },
});

let server: ImapServer;
let wireLines: string[];

function start(options: { allowInsecureAuth?: boolean; limits?: Partial<GatewayLimits> } = {}): ImapServer {
  wireLines = [];
  selectedSessions = [];
  server = createImapServer({
    authenticator: testAuthenticator(),
    allowInsecureAuth: options.allowInsecureAuth ?? true,
    limits: { failedLoginBaseDelayMs: 1, failedLoginMaxDelayMs: 5, ...options.limits },
    modules: [selectModule, fetchModule],
    logger: silentLogger,
    debugSink: (line) => wireLines.push(line),
  });
  return server;
}

async function loggedIn(): Promise<MemoryImapClient> {
  const client = new MemoryImapClient(server);
  await client.waitFor((t) => t.includes("\r\n"));
  const answer = await client.command("L", `LOGIN alice "${PASSWORD}"`);
  expect(answer.at(-1)).toMatch(/^L OK /);
  return client;
}

afterEach(async () => {
  await server?.close();
});

describe("greeting and capabilities", () => {
  it("greets with the capabilities of the registered modules; LOGINDISABLED on clear text", async () => {
    start({ allowInsecureAuth: false });
    const client = new MemoryImapClient(server);
    const text = await client.waitFor((t) => t.includes("\r\n"));
    expect(text).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 [^\]]*\] mailledger ready\r\n$/);
    expect(text).toContain("LOGINDISABLED");
    expect(text).not.toContain("AUTH=PLAIN");
    // No certificate and no TCP socket: STARTTLS is not offered.
    expect(text).not.toContain("STARTTLS");
  });

  it("refuses LOGIN and AUTHENTICATE on clear text with NO [PRIVACYREQUIRED]", async () => {
    start({ allowInsecureAuth: false });
    const client = new MemoryImapClient(server);
    expect((await client.command("a", `LOGIN alice "${PASSWORD}"`)).at(-1)).toMatch(
      /^a NO \[PRIVACYREQUIRED\]/,
    );
    const auth = await client.command("b", `AUTHENTICATE PLAIN ${plain("", "alice", PASSWORD)}`);
    expect(auth.at(-1)).toMatch(/^b NO \[PRIVACYREQUIRED\]/);
    expect(client.session?.state).toBe("not-authenticated");
  });

  it("after login, lists the authenticated capabilities in the tagged OK", async () => {
    start();
    const client = new MemoryImapClient(server);
    const answer = await client.command("a", `LOGIN alice "${PASSWORD}"`);
    expect(answer).toHaveLength(1);
    expect(answer[0]).toMatch(/^a OK \[CAPABILITY IMAP4rev1 .*ENABLE.*\] LOGIN completed$/);
    expect(answer[0]).not.toContain("AUTH=PLAIN");
    expect(client.session?.user).toEqual({ userId: TEST_USER.userId, username: "alice" });
  });
});

describe("LOGIN and AUTHENTICATE", () => {
  it("answers a wrong password with NO [AUTHENTICATIONFAILED] and stays usable", async () => {
    start();
    const client = new MemoryImapClient(server);
    expect((await client.command("a", "LOGIN alice wrong")).at(-1)).toMatch(/^a NO \[AUTHENTICATIONFAILED\]/);
    expect((await client.command("b", "LOGIN bob wrong")).at(-1)).toMatch(/^b NO \[AUTHENTICATIONFAILED\]/);
    expect((await client.command("c", `LOGIN alice "${PASSWORD}"`)).at(-1)).toMatch(/^c OK /);
  });

  it("accepts a password sent as a synchronizing literal", async () => {
    start();
    const client = new MemoryImapClient(server);
    client.send(`a LOGIN alice {${PASSWORD.length}}\r\n`);
    await client.waitFor((t) => t.includes("+ "));
    expect((await client.command("a", Buffer.from(`${PASSWORD}\r\n`))).at(-1)).toMatch(/^a OK /);
  });

  it("AUTHENTICATE PLAIN with SASL-IR", async () => {
    start();
    const client = new MemoryImapClient(server);
    const answer = await client.command("a", `AUTHENTICATE PLAIN ${plain("", "alice", PASSWORD)}`);
    expect(answer.at(-1)).toMatch(/^a OK \[CAPABILITY /);
  });

  it("AUTHENTICATE PLAIN with a continuation, a wrong password, and a cancel", async () => {
    start();
    const client = new MemoryImapClient(server);
    client.send("a AUTHENTICATE PLAIN\r\n");
    await client.waitFor((t) => t.endsWith("+ \r\n"));
    client.send(`${plain("", "alice", "nope")}\r\n`);
    await client.waitFor((t) => /a NO \[AUTHENTICATIONFAILED\]/.test(t));
    client.send("b AUTHENTICATE PLAIN\r\n");
    await client.waitFor((t) => t.endsWith("+ \r\n"));
    client.send("*\r\n");
    await client.waitFor((t) => t.includes("b BAD AUTHENTICATE cancelled"));
    client.send("c AUTHENTICATE PLAIN\r\n");
    await client.waitFor((t) => t.endsWith("+ \r\n"));
    client.send(`${plain("alice", "alice", PASSWORD)}\r\n`);
    await client.waitFor((t) => /c OK \[CAPABILITY /.test(t));
  });

  it("closes a session whose client half-closed while AUTHENTICATE waited for its response", async () => {
    start();
    const client = new MemoryImapClient(server);
    await client.waitFor((t) => t.includes("\r\n"));
    client.send("A AUTHENTICATE PLAIN\r\nB NOOP");
    await client.waitFor((t) => t.includes("+ "));
    // The response can never come now: the session must not wait for it forever.
    client.end();
    await client.whenClosed();
    expect(server.sessions()).toHaveLength(0);
  });

  it("refuses to authorize as another user and unknown mechanisms", async () => {
    start();
    const client = new MemoryImapClient(server);
    const proxy = await client.command("a", `AUTHENTICATE PLAIN ${plain("bob", "alice", PASSWORD)}`);
    expect(proxy.at(-1)).toMatch(/^a NO \[AUTHORIZATIONFAILED\]/);
    expect((await client.command("b", "AUTHENTICATE CRAM-MD5")).at(-1)).toMatch(/^b NO unsupported SASL/);
  });

  it("throttles failed logins per address: refused with NO [UNAVAILABLE] after the limit", async () => {
    const before = await metricValue(imapLogins, { result: "throttled" });
    start({ limits: { maxFailedLoginsPerAddress: 3 } });
    const client = new MemoryImapClient(server, "198.51.100.7");
    for (const tag of ["a", "b", "c"]) {
      expect((await client.command(tag, "LOGIN alice wrong")).at(-1)).toMatch(/NO \[AUTHENTICATIONFAILED\]/);
    }
    const refused = await client.command("d", `LOGIN alice "${PASSWORD}"`);
    expect(refused.at(-1)).toMatch(/^d NO \[UNAVAILABLE\] too many failed logins from your address/);
    // Another address is not affected.
    const other = new MemoryImapClient(server, "198.51.100.8");
    expect((await other.command("e", `LOGIN alice "${PASSWORD}"`)).at(-1)).toMatch(/^e OK /);
    expect((await metricValue(imapLogins, { result: "throttled" })) - before).toBe(1);
  });

  it("limits connections per user with NO [LIMIT]", async () => {
    start({ limits: { maxConnectionsPerUser: 2 } });
    const first = await loggedIn();
    await loggedIn();
    const third = new MemoryImapClient(server);
    expect((await third.command("a", `LOGIN alice "${PASSWORD}"`)).at(-1)).toMatch(/^a NO \[LIMIT\]/);
    first.close();
    await first.session?.whenClosed;
    expect((await third.command("b", `LOGIN alice "${PASSWORD}"`)).at(-1)).toMatch(/^b OK /);
  });
});

describe("gatekeeper and triage", () => {
  it("answers commands the state does not allow with BAD", async () => {
    start();
    const client = new MemoryImapClient(server);
    expect((await client.command("a", "SELECT INBOX")).at(-1)).toBe(
      "a BAD SELECT is not allowed before authentication",
    );
    await client.command("b", `LOGIN alice "${PASSWORD}"`);
    expect((await client.command("c", "LOGIN alice x")).at(-1)).toMatch(/^c BAD LOGIN is not allowed/);
    expect((await client.command("d", "FETCH 1 FLAGS")).at(-1)).toMatch(/^d BAD FETCH is not allowed/);
    expect((await client.command("e", "CREATE x")).at(-1)).toBe(
      "e BAD CREATE is not supported by this server",
    );
  });

  it("sorts handler errors: ImapError → NO [CODE], DomainError → NO [CODE], other → NO [SERVERBUG]", async () => {
    const before = await metricValue(imapServerBugs);
    start();
    const client = await loggedIn();
    expect((await client.command("a", "SELECT Missing")).at(-1)).toBe("a NO [NONEXISTENT] no such mailbox");
    expect((await client.command("b", "SELECT Coded")).at(-1)).toBe("b NO [OVERQUOTA] quota exceeded");
    expect((await client.command("c", "SELECT Crash")).at(-1)).toMatch(/^c NO \[SERVERBUG\]/);
    expect((await metricValue(imapServerBugs)) - before).toBe(1);
    expect((await client.command("d", "SELECT INBOX")).at(-1)).toBe("d OK [READ-WRITE] SELECT completed");
  });

  it("NO means not done: the database unreachable is NO [UNAVAILABLE], a failure after the commit is OK, an unknown commit is BYE", async () => {
    start();
    const client = await loggedIn();
    const bugsBefore = await metricValue(imapServerBugs);
    expect((await client.command("a", "SELECT Unreachable")).at(-1)).toMatch(/^a NO \[UNAVAILABLE\] /);
    expect((await client.command("b", "SELECT CommittedThenLost")).at(-1)).toMatch(/^b OK SELECT completed/);
    expect(await metricValue(imapServerBugs)).toBe(bugsBefore);
    client.send("c SELECT OutcomeUnknown\r\n");
    await client.whenClosed();
    expect(client.lines.at(-1)).toMatch(/^\* BYE \[UNAVAILABLE\] .*unknown/);
  });

  it("UNAUTHENTICATE (RFC 8437) leaves the mailbox, forgets the user and ENABLE, and allows a new LOGIN", async () => {
    start({ limits: { maxConnectionsPerUser: 1 } });
    const client = await loggedIn();
    expect((await client.command("c", "CAPABILITY"))[0]).toMatch(/ UNAUTHENTICATE/);
    expect(await client.command("e", "ENABLE CONDSTORE")).toEqual([
      "* ENABLED CONDSTORE",
      "e OK ENABLE completed",
    ]);
    expect((await client.command("s", "SELECT INBOX")).at(-1)).toMatch(/^s OK/);
    expect(await client.command("u", "UNAUTHENTICATE")).toEqual(["u OK UNAUTHENTICATE completed"]);
    expect((await client.command("f", "FETCH 1 FLAGS")).at(-1)).toMatch(/^f BAD .*not allowed/);
    expect((await client.command("u2", "UNAUTHENTICATE")).at(-1)).toMatch(/^u2 BAD/);
    expect((await client.command("c2", "CAPABILITY"))[0]).not.toMatch(/UNAUTHENTICATE/);
    // The user's connection slot is free again: another client may log in as the same user.
    const other = await loggedIn();
    other.close();
    await other.whenClosed();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await client.command("l", `LOGIN alice "${PASSWORD}"`)).at(-1)).toMatch(/^l OK/);
    expect(await client.command("e2", "ENABLE CONDSTORE")).toEqual([
      "* ENABLED CONDSTORE",
      "e2 OK ENABLE completed",
    ]);
  });

  it("answers a parse error with a tagged BAD naming the problem", async () => {
    start();
    const client = await loggedIn();
    expect((await client.command("a", "FETCH")).at(-1)).toMatch(/^a BAD /);
    expect((await client.command("b", "ENABLE")).at(-1)).toMatch(/^b BAD ENABLE: /);
    expect(client.closed).toBe(false);
  });

  it("ENABLE turns on only what modules declared, and is refused before authentication", async () => {
    start();
    const pre = new MemoryImapClient(server);
    expect((await pre.command("a", "ENABLE CONDSTORE")).at(-1)).toMatch(/^a BAD ENABLE is not allowed/);
    const client = await loggedIn();
    expect(await client.command("b", "ENABLE CONDSTORE X-UNKNOWN")).toEqual([
      "* ENABLED CONDSTORE",
      "b OK ENABLE completed",
    ]);
    expect(client.session?.enabled.has("CONDSTORE")).toBe(true);
  });

  it("accepts an ID as long as RFC 2971 allows: 30 pairs of 30-octet fields and 1024-octet values", async () => {
    start();
    const client = new MemoryImapClient(server);
    await client.waitFor((t) => t.includes("\r\n"));
    const pairs = Array.from(
      { length: 30 },
      (_, i) => `"${String(i).padStart(30, "f")}" "${"v".repeat(1024)}"`,
    );
    const answer = await client.command("i", `ID (${pairs.join(" ")})`);
    expect(answer.at(-1)).toBe("i OK ID completed");
    expect(client.session?.clientId?.size).toBe(30);
  });

  it("remembers the client's ID for event metadata", async () => {
    start();
    const client = await loggedIn();
    await client.command("a", 'ID ("name" "Thunderbird" "version" "128.0")');
    selectedSessions = [];
    await client.command("b", "SELECT INBOX");
    const session = client.session!;
    expect(session.clientId?.get("name")).toBe("Thunderbird");
  });
});

describe("pre-authentication guard", () => {
  it("closes the connection with BYE on an HTTP request line", async () => {
    const before = await metricValue(imapLimitsHit, { limit: "preauth_garbage" });
    start();
    const client = new MemoryImapClient(server);
    client.send("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    await client.whenClosed();
    expect(client.received).toMatch(/\* BYE this is an IMAP server/);
    expect(client.received).not.toMatch(/BAD/);
    expect((await metricValue(imapLimitsHit, { limit: "preauth_garbage" })) - before).toBe(1);
  });

  it("closes after consecutive BADs before authentication", async () => {
    start({ limits: { maxConsecutiveBadBeforeAuth: 3 } });
    const client = new MemoryImapClient(server);
    client.send("a XYZZY\r\nb FOO\r\nc BAR\r\nd NOOP\r\n");
    await client.whenClosed();
    expect(client.lines.filter((l) => / BAD /.test(l))).toHaveLength(3);
    expect(client.lines.at(-1)).toMatch(/^\* BYE too many invalid commands/);
    expect(client.received).not.toContain("d OK");
  });

  it("closes when too many commands per second arrive before authentication", async () => {
    start({ limits: { maxCommandsPerSecondBeforeAuth: 5 } });
    const client = new MemoryImapClient(server);
    client.send(Array.from({ length: 10 }, (_, i) => `n${i} NOOP\r\n`).join(""));
    await client.whenClosed();
    expect(client.lines.filter((l) => / OK NOOP/.test(l))).toHaveLength(5);
    expect(client.lines.at(-1)).toMatch(/^\* BYE too many commands before authentication/);
  });

  it("does not count commands after authentication", async () => {
    start({ limits: { maxCommandsPerSecondBeforeAuth: 5 } });
    const client = await loggedIn();
    client.send(Array.from({ length: 20 }, (_, i) => `n${i} NOOP\r\n`).join(""));
    await client.waitFor((t) => t.includes("n19 OK"));
  });
});

describe("pipelining", () => {
  it("answers several commands sent in one write, in order", async () => {
    start();
    const client = new MemoryImapClient(server);
    client.send(
      `a CAPABILITY\r\nb LOGIN alice "${PASSWORD}"\r\nc NOOP\r\nd SELECT INBOX\r\ne FETCH 1 FLAGS\r\nf LOGOUT\r\n`,
    );
    await client.whenClosed();
    const tagged = client.lines.filter((l) => /^[a-f] /.test(l)).map((l) => l.slice(0, 4));
    expect(tagged).toEqual(["a OK", "b OK", "c OK", "d OK", "e OK", "f OK"]);
    expect(client.lines).toContain("* BYE logging out");
  });
});

describe("unilateral updates", () => {
  it("sends queued updates before the next tagged OK, holding EXPUNGE back during FETCH", async () => {
    start();
    const client = await loggedIn();
    await client.command("a", "SELECT INBOX");
    const session = selectedSessions[0]!;
    session.queueUpdate({ expunge: false, parts: ["3 EXISTS"] });
    session.queueUpdate({ expunge: true, parts: ["2 EXPUNGE"] });
    expect(await client.command("b", "FETCH 1 FLAGS")).toEqual([
      "* 1 FETCH (FLAGS ())",
      "* 3 EXISTS",
      "b OK FETCH completed",
    ]);
    expect(await client.command("c", "NOOP")).toEqual(["* 2 EXPUNGE", "c OK NOOP completed"]);
  });

  it("under NOTIFY, sends what it allows between commands, and the rest at the next command", async () => {
    start();
    const client = await loggedIn();
    await client.command("a", "SELECT INBOX");
    const session = selectedSessions[0]!;
    const lines: string[] = ["STATUS Other (MESSAGES 1)"];
    session.setNotifications({
      // SELECTED-DELAYED: expunges of the selected mailbox wait for a command.
      selected: { expunges: false, flags: true },
      newMessageItems: undefined,
      take: () => lines.splice(0),
      look: async () => {},
      release: () => {},
    });
    session.queueUpdate({ expunge: true, parts: ["1 EXPUNGE"] });
    session.queueUpdate({ expunge: false, parts: ["2 EXISTS"] });
    session.signalUpdates();
    await client.waitFor((text) => text.includes("* STATUS Other (MESSAGES 1)\r\n"));
    await client.waitFor((text) => text.includes("* 2 EXISTS\r\n"));
    expect(client.received).not.toContain("EXPUNGE");
    expect(await client.command("b", "NOOP")).toEqual(["* 1 EXPUNGE", "b OK NOOP completed"]);
    // NOTIFY NONE: nothing goes out unasked, not even the selected mailbox's news.
    session.setNotifications({
      selected: null,
      newMessageItems: undefined,
      take: () => [],
      look: async () => {},
      release: () => {},
    });
    session.queueUpdate({ expunge: false, parts: ["3 EXISTS"] });
    session.signalUpdates();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.received).not.toContain("3 EXISTS");
    expect(await client.command("c", "NOOP")).toEqual(["* 3 EXISTS", "c OK NOOP completed"]);
  });

  it("sends nothing between LOGOUT's BYE and its tagged OK, pending updates included", async () => {
    start();
    const client = await loggedIn();
    await client.command("a", "SELECT INBOX");
    const session = selectedSessions[0]!;
    session.queueUpdate({ expunge: true, parts: ["1 EXPUNGE"] });
    session.queueUpdate({ expunge: false, parts: ["1 FETCH (FLAGS (\\Seen))"] });
    expect(await client.command("z", "LOGOUT")).toEqual(["* BYE logging out", "z OK LOGOUT completed"]);
    await client.whenClosed();
  });
});

describe("literals and lines", () => {
  it("refuses an oversized literal before sending the continuation", async () => {
    start({ limits: { maxLiteralSize: 1000 } });
    const client = new MemoryImapClient(server);
    const answer = await client.command("a", Buffer.from("a LOGIN alice {5000}\r\n"));
    expect(answer).toEqual(["a NO [TOOBIG] literal of 5000 octets exceeds the limit of 1000"]);
    expect(client.received).not.toMatch(/^\+ /m);
    expect((await client.command("b", "NOOP")).at(-1)).toBe("b OK NOOP completed");
  });

  it("refuses an overlong line with BAD and stays usable", async () => {
    start({ limits: { maxLineLength: 1024 } });
    const client = new MemoryImapClient(server);
    const answer = await client.command("a", Buffer.from(`a NOOP ${"x".repeat(5000)}\r\n`));
    expect(answer.at(-1)).toMatch(/^a BAD command line too long/);
    expect((await client.command("b", "NOOP")).at(-1)).toBe("b OK NOOP completed");
  });
});

describe("autologout and shutdown", () => {
  it("logs out an idle client with BYE", async () => {
    const before = await metricValue(imapLimitsHit, { limit: "idle_timeout" });
    start({ limits: { idleTimeoutBeforeAuthMs: 100 } });
    const client = new MemoryImapClient(server);
    await client.whenClosed(2000);
    expect(client.lines.at(-1)).toBe("* BYE autologout; idle for too long");
    expect((await metricValue(imapLimitsHit, { limit: "idle_timeout" })) - before).toBe(1);
  });

  it("says BYE to every session on close", async () => {
    start();
    const clients = [new MemoryImapClient(server), await loggedIn()];
    await server.close();
    for (const client of clients) {
      await client.whenClosed();
      expect(client.lines.at(-1)).toBe("* BYE server shutting down");
    }
    expect(server.sessions()).toHaveLength(0);
  });
});

describe("debug wire log", () => {
  it("logs both directions for a user switched on at runtime, without passwords", async () => {
    start();
    server.setDebug({ enabled: true, user: "ALICE" });
    const client = new MemoryImapClient(server);
    await client.command("a", `LOGIN alice "${PASSWORD}"`);
    await client.command("b", "NOOP");
    // Before login the user is unknown: only the global switch covers that part.
    expect(wireLines.some((l) => / C: b NOOP$/.test(l))).toBe(true);
    expect(wireLines.some((l) => / S: b OK NOOP completed$/.test(l))).toBe(true);
    server.setDebug({ enabled: true });
    const other = new MemoryImapClient(server);
    await other.waitFor((t) => t.includes("\r\n"));
    other.send(`c LOGIN alice {${PASSWORD.length}}\r\n`);
    await other.waitFor((t) => t.includes("+ "));
    other.send(`${PASSWORD}\r\n`);
    await other.waitFor((t) => t.includes("c OK"));
    const sasl = new MemoryImapClient(server);
    await sasl.command("d", `AUTHENTICATE PLAIN ${plain("", "alice", PASSWORD)}`);
    sasl.send("e AUTHENTICATE PLAIN\r\n");
    const all = wireLines.join("\n");
    expect(all).toMatch(/C: c LOGIN alice <redacted>/);
    expect(all).toMatch(/C: d AUTHENTICATE PLAIN <redacted>/);
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(plain("", "alice", PASSWORD));
    server.setDebug({ enabled: false });
    server.setDebug({ enabled: false, user: "alice" });
    const count = wireLines.length;
    await sasl.command("f", "NOOP").catch(() => {});
    expect(wireLines.length).toBe(count);
  });
});

it("ImapError keeps status and code", () => {
  const error = new ImapError("BAD", "x", "CLIENTBUG");
  expect([error.status, error.code]).toEqual(["BAD", "CLIENTBUG"]);
});
