// Two gateway nodes on one database, the distributed path end to end: commands → PostgreSQL →
// relay → Kafka → projector → Redis notices → the other node's IDLE client.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { createMemoryNoticeBus } from "../../src/projections/notices/memoryNoticeBus.ts";
import type { RunningNode } from "../../src/serve/serve.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";

let server: TestMailServer;
let nodeB: RunningNode;

beforeAll(async () => {
  server = await startTestMailServer({
    transport: "kafka",
    // Failed logins answered at once, and a user locked out after 4 of them.
    gateway: { limits: { failedLoginBaseDelayMs: 1, failedLoginMaxDelayMs: 2, maxFailedLoginsPerUser: 4 } },
  });
  nodeB = await server.startNode(["gateway"]);
  await server.createUser("carol", "carol-password");
  await server.createUser("dave", "dave-password");
});
afterAll(async () => server?.close());

async function login(port: number): Promise<RawImapClient> {
  const client = await RawImapClient.connect(port);
  await client.greeting();
  expect((await client.command("L", "LOGIN carol carol-password")).at(-1)).toMatch(/^L OK/);
  return client;
}

function appendText(subject: string): string {
  const body = `Subject: ${subject}\r\nFrom: a@example.org\r\n\r\nhello\r\n`;
  return `APPEND INBOX {${Buffer.byteLength(body)}+}\r\n${body}`;
}

function appendCommand(tag: string, subject: string): string {
  return `${tag} ${appendText(subject)}\r\n`;
}

describe("two gateway nodes", () => {
  it("lock out a user whose failed logins are spread over both", async () => {
    const ports = [server.port, nodeB.gateway!.port];
    for (let attempt = 0; attempt < 4; attempt++) {
      const client = await RawImapClient.connect(ports[attempt % 2]!);
      await client.greeting();
      expect((await client.command("L", "LOGIN dave wrong-password")).at(-1)).toMatch(
        /^L NO \[AUTHENTICATIONFAILED\]/,
      );
      client.close();
    }
    // Two failures on each node: each alone would let the right password in.
    for (const port of ports) {
      const client = await RawImapClient.connect(port);
      await client.greeting();
      expect((await client.command("L", "LOGIN dave dave-password")).at(-1)).toMatch(
        /^L NO \[UNAVAILABLE\] too many failed logins for this user/,
      );
      client.close();
    }
  });

  it("an IDLE client on node B sees what a client on node A appends", async () => {
    const idler = await login(nodeB.gateway!.port);
    await idler.command("S", "SELECT INBOX");
    const start = idler.lines.length;
    await idler.write("I IDLE\r\n");
    await idler.waitFor((line) => line.startsWith("+ "), 5000, start);

    const writer = await login(server.port);
    const before = writer.lines.length;
    await writer.write(appendCommand("A", "across nodes"));
    await writer.waitFor((line) => line.startsWith("A OK"), 15_000, before);

    await idler.waitFor((line) => line === "* 1 EXISTS", 15_000, start);
    await idler.write("DONE\r\n");
    await idler.waitFor((line) => line.startsWith("I OK"), 5000, start);
    idler.close();
    writer.close();
  });

  it("reads its writes on the other node at once after the tagged OK", async () => {
    const writer = await login(server.port);
    const reader = await login(nodeB.gateway!.port);
    for (let i = 0; i < 5; i += 1) {
      const before = writer.lines.length;
      await writer.write(appendCommand(`W${i}`, `ryw ${i}`));
      await writer.waitFor((line) => line.startsWith(`W${i} OK`), 15_000, before);
      // No sleep: a command that starts after the OK must see the message, on any node.
      const status = await reader.command(`R${i}`, "STATUS INBOX (MESSAGES)");
      expect(status[0]).toBe(`* STATUS INBOX (MESSAGES ${i + 2})`);
    }
    await reader.command("S", "SELECT INBOX");
    const search = await reader.command("Q", 'SEARCH SUBJECT "ryw 4"');
    expect(search[0]).toBe("* SEARCH 6");
    writer.close();
    reader.close();
  });

  it("includes another node's change in a command that starts after its OK, whose own read compares", async () => {
    // Node D hears no doorbell: only the commands' own reads of the index can tell.
    const nodeD = await server.startNode(["gateway"], { notices: createMemoryNoticeBus() });
    const a = await login(server.port);
    const d = await login(nodeD.gateway!.port);
    await a.command("S", "SELECT INBOX");
    await d.command("S", "SELECT INBOX");
    const before = (await d.command("U", "UID FETCH 1:* (UID)")).filter((line) =>
      line.startsWith("* "),
    ).length;

    // UID FETCH n:* right after the OK: the new message is announced and fetched.
    const appended = await a.command("A", appendText("compare 1"));
    const uid = Number(/APPENDUID \d+ (\d+)/.exec(appended.at(-1)!)?.[1]);
    const fetched = await d.command("F", `UID FETCH ${uid}:* (FLAGS)`);
    expect(fetched).toContain(`* ${before + 1} EXISTS`);
    expect(fetched).toContainEqual(
      expect.stringMatching(new RegExp(`^\\* ${before + 1} FETCH \\(UID ${uid} FLAGS`)),
    );

    // UID STORE of a UID this session was never told of takes effect.
    const next = await a.command("B", appendText("compare 2"));
    const uid2 = Number(/APPENDUID \d+ (\d+)/.exec(next.at(-1)!)?.[1]);
    const stored = await d.command("T", `UID STORE ${uid2} +FLAGS (\\Flagged)`);
    expect(stored.at(-1)).toMatch(/^T OK/);
    expect(stored).toContainEqual(
      expect.stringMatching(new RegExp(`FETCH \\(UID ${uid2} FLAGS \\(\\\\Flagged`)),
    );

    // A SEARCH answers with it in this session's numbering, announced first.
    const third = await a.command("C", appendText("compare three"));
    expect(third.at(-1)).toMatch(/^C OK/);
    const searched = await d.command("Q", 'SEARCH SUBJECT "compare three"');
    expect(searched).toContain(`* ${before + 3} EXISTS`);
    expect(searched).toContain(`* SEARCH ${before + 3}`);

    // A sequence-number FETCH shows a flag another node set, and its tagged OK comes after the
    // announcement of what else moved.
    expect((await a.command("G", "STORE 1 +FLAGS ($Elsewhere)")).at(-1)).toMatch(/^G OK/);
    expect((await a.command("H", appendText("compare 4"))).at(-1)).toMatch(/^H OK/);
    const flags = await d.command("K", "FETCH 1 (FLAGS)");
    // The new keyword is announced first (RFC 3501 7.2.6), then the message that carries it.
    expect(flags).toContainEqual(expect.stringMatching(/^\* FLAGS \(.*\$Elsewhere/));
    expect(flags).toContainEqual(expect.stringMatching(/^\* 1 FETCH \(FLAGS \(.*\$Elsewhere/));
    expect(flags).toContain(`* ${before + 4} EXISTS`);
    // Announced once: the next command has nothing more to say.
    expect(await d.command("N", "NOOP")).toEqual(["N OK NOOP completed"]);
    a.close();
    d.close();
  });

  it("keeps flag changes visible across nodes", async () => {
    const a = await login(server.port);
    const b = await login(nodeB.gateway!.port);
    await a.command("S", "SELECT INBOX");
    await b.command("S", "SELECT INBOX");
    expect((await a.command("F", "STORE 1 +FLAGS (\\Flagged)")).at(-1)).toMatch(/^F OK/);
    const noop = await b.command("N", "NOOP");
    expect(noop).toContainEqual(expect.stringMatching(/^\* 1 FETCH \(UID 1 FLAGS \(.*\\Flagged/));
    a.close();
    b.close();
  });

  it("answers NOOP with what another node changed, even when the notice never came", async () => {
    // Node C hears no notices at all (pub/sub delivers at most once): a client polling it with
    // NOOP still sees the change.
    const nodeC = await server.startNode(["gateway"], { notices: createMemoryNoticeBus() });
    const a = await login(server.port);
    const c = await login(nodeC.gateway!.port);
    await a.command("S", "SELECT INBOX");
    await c.command("S", "SELECT INBOX");
    expect((await a.command("F", "STORE 2 +FLAGS (\\Answered)")).at(-1)).toMatch(/^F OK/);
    const noop = await c.command("N", "NOOP");
    expect(noop).toContainEqual(expect.stringMatching(/^\* 2 FETCH \(UID 2 FLAGS \(\\Answered\)\)$/));
    expect((await a.command("E", "STORE 3 +FLAGS (\\Deleted)")).at(-1)).toMatch(/^E OK/);
    expect((await a.command("X", "EXPUNGE")).at(-1)).toMatch(/^X OK/);
    const check = await c.command("C", "CHECK");
    expect(check).toEqual(["* 3 EXPUNGE", "C OK CHECK completed"]);
    a.close();
    c.close();
  });

  it("wakes an IDLE client with what it missed once its node hears notices again", async () => {
    // Node D's bus hears nothing, then says it may have missed notices (as the Redis bus does when
    // its lost subscription is back): the IDLE session looks for itself.
    const silent = createMemoryNoticeBus();
    const resync = new Set<() => void>();
    const nodeD = await server.startNode(["gateway"], {
      notices: {
        ...silent,
        onResync(listener) {
          resync.add(listener);
          return () => resync.delete(listener);
        },
      },
    });
    const a = await login(server.port);
    const idler = await login(nodeD.gateway!.port);
    await a.command("S", "SELECT INBOX");
    await idler.command("S", "SELECT INBOX");
    const start = idler.lines.length;
    await idler.write("I IDLE\r\n");
    await idler.waitFor((line) => line.startsWith("+ "), 5000, start);
    expect((await a.command("F", "STORE 1 +FLAGS (\\Draft)")).at(-1)).toMatch(/^F OK/);
    expect(resync.size).toBeGreaterThan(0);
    for (const listener of resync) listener();
    await idler.waitFor((line) => /^\* 1 FETCH \(UID 1 FLAGS \(.*\\Draft/.test(line), 5000, start);
    await idler.write("DONE\r\n");
    await idler.waitFor((line) => line.startsWith("I OK"), 5000, start);
    a.close();
    idler.close();
  });
});
