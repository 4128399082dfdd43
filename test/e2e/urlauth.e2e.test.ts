// URLAUTH (RFC 4467) and URLAUTH=BINARY (RFC 5524) as clients see them: a URL signed by its
// owner on one node is fetched by the user its access names on another, and by no one else;
// RESETKEY of the mailbox, or of all of them, makes it fetch NIL; an expired URL fetches NIL. The
// resets are events in the user's history, which carry no key, and the index they leave is what
// a rebuild from the log gives.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHistoryCommand } from "../../src/cli/history.ts";
import type { RunningNode } from "../../src/serve/serve.ts";
import { captureCli } from "../support/cli.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { verifyIndex } from "./helpers/verifyIndex.ts";
import { WireSession } from "./helpers/wireSession.ts";

let server: TestMailServer;
let nodeB: RunningNode;
const PASSWORD = "urlauth-password";

const MESSAGE = [
  "From: joe@example.org",
  "Subject: for fred",
  "MIME-Version: 1.0",
  'Content-Type: multipart/mixed; boundary="b"',
  "",
  "--b",
  "Content-Type: text/plain",
  "",
  "the text",
  "--b",
  "Content-Type: application/octet-stream",
  "Content-Transfer-Encoding: base64",
  "",
  "AAEC/w==",
  "--b--",
  "",
].join("\r\n");

beforeAll(async () => {
  server = await startTestMailServer();
  nodeB = await server.startNode(["gateway"]);
  await server.createUser("joe", PASSWORD);
  await server.createUser("fred", PASSWORD);
  await server.createUser("eve", PASSWORD);
});
afterAll(async () => server?.close());

/** The one URL of a `* GENURLAUTH` line. */
function signedUrl(lines: readonly string[]): string {
  const line = lines.find((l) => l.startsWith("* GENURLAUTH "));
  expect(line, JSON.stringify(lines)).toBeDefined();
  return line!.slice("* GENURLAUTH ".length).replace(/^"(.*)"$/, "$1");
}

/** The wire text of a URLFETCH's answer (literals included), without the tagged line. */
async function urlFetch(session: WireSession, args: string): Promise<string> {
  const lines = await session.ok(`URLFETCH ${args}`);
  return lines.join("\r\n");
}

describe("URLAUTH", () => {
  it("lets the user the access names fetch the message on another node, and no one else", async () => {
    const joe = await WireSession.login(server.port, "joe", PASSWORD, "joe@A");
    const fred = await WireSession.login(nodeB.gateway!.port, "fred", PASSWORD, "fred@B");
    const eve = await WireSession.login(nodeB.gateway!.port, "eve", PASSWORD, "eve@B");
    expect((await joe.ok("CAPABILITY"))[0]).toMatch(/ URLAUTH URLAUTH=BINARY( |$)/);
    await joe.ok("CREATE Shared");
    const { uid } = await joe.append("Shared", MESSAGE);
    const base = `imap://joe@example.org/Shared/;uid=${uid}`;

    const forFred = signedUrl(await joe.ok(`GENURLAUTH "${base};urlauth=user+fred" INTERNAL`));
    expect(forFred).toMatch(
      new RegExp(`^${base.replace(/[/.]/g, "\\$&")};urlauth=user\\+fred:internal:[0-9a-f]{64}$`),
    );
    expect(await urlFetch(fred, `"${forFred}"`)).toBe(
      `* URLFETCH ${forFred} {${Buffer.byteLength(MESSAGE)}}\r\n${MESSAGE}`,
    );
    // Eve is not fred; a token changed by one digit is no token.
    expect(await urlFetch(eve, `"${forFred}"`)).toBe(`* URLFETCH ${forFred} NIL`);
    const forged = forFred.replace(/.$/, (digit) => (digit === "0" ? "1" : "0"));
    expect(await urlFetch(fred, `"${forged}"`)).toBe(`* URLFETCH ${forged} NIL`);
    // A URL is made only by the mailbox's owner.
    const eveTries = await eve.run(`GENURLAUTH "${base};urlauth=user+eve" INTERNAL`);
    expect(eveTries.at(-1)).toMatch(/^T\d+ NO \[BADURL\]/);
    expect((await joe.run(`GENURLAUTH "${base};urlauth=user+fred" PLAIN`)).at(-1)).toMatch(/^T\d+ NO /);

    // authuser: any user of the server; a section, and RFC 5524's BINARY and BODYPARTSTRUCTURE.
    const part = signedUrl(await joe.ok(`GENURLAUTH "${base}/;section=2;urlauth=authuser" INTERNAL`));
    expect(await urlFetch(eve, `"${part}"`)).toBe(`* URLFETCH ${part} {8}\r\nAAEC/w==`);
    expect(await urlFetch(eve, `("${part}" BODYPARTSTRUCTURE BINARY)`)).toBe(
      `* URLFETCH ${part} (BODYPARTSTRUCTURE ("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 4 NIL NIL NIL NIL) BINARY ~{4}\r\n\x00\x01\x02\xff)`,
    );
    joe.close();
    fred.close();
    eve.close();
  });

  it("fetches NIL once the key is reset, of the mailbox or of all, and after EXPIRE", async () => {
    const joe = await WireSession.login(server.port, "joe", PASSWORD, "joe@A");
    const fred = await WireSession.login(nodeB.gateway!.port, "fred", PASSWORD, "fred@B");
    await joe.ok("CREATE Keys");
    await joe.ok("CREATE Other");
    const keys = await joe.append("Keys", MESSAGE);
    const other = await joe.append("Other", MESSAGE);
    const sign = async (mailbox: string, uid: number, extra = "") =>
      signedUrl(
        await joe.ok(`GENURLAUTH "imap://joe@h/${mailbox}/;uid=${uid}${extra};urlauth=user+fred" INTERNAL`),
      );
    const inKeys = await sign("Keys", keys.uid);
    const inOther = await sign("Other", other.uid);
    const expired = await sign("Keys", keys.uid, ";expire=2000-01-01T00:00:00Z");
    const later = await sign("Keys", keys.uid, ";expire=2100-01-01T00:00:00Z");
    expect(await urlFetch(fred, `"${expired}"`)).toBe(`* URLFETCH ${expired} NIL`);
    expect(await urlFetch(fred, `"${later}"`)).toMatch(/^\* URLFETCH \S+ \{\d+\}\r\n/);

    await joe.ok("RESETKEY Keys INTERNAL");
    expect(await urlFetch(fred, `"${inKeys}"`)).toBe(`* URLFETCH ${inKeys} NIL`);
    expect(await urlFetch(fred, `"${inOther}"`)).toMatch(/^\* URLFETCH \S+ \{\d+\}\r\n/);
    // A URL signed after the reset works.
    const fresh = await sign("Keys", keys.uid);
    expect(await urlFetch(fred, `"${fresh}"`)).toMatch(/^\* URLFETCH \S+ \{\d+\}\r\n/);

    await joe.ok("RESETKEY");
    for (const url of [inOther, fresh])
      expect(await urlFetch(fred, `"${url}"`)).toBe(`* URLFETCH ${url} NIL`);
    expect((await joe.run("RESETKEY Nowhere")).at(-1)).toMatch(/^T\d+ NO \[NONEXISTENT\]/);

    // The resets are history, and carry no key: the log says a salt changed, nothing more.
    const history = await captureCli((io) =>
      runHistoryCommand(["joe", "--json"], { pool: server.db.pool, ...io }),
    );
    expect(history.code).toBe(0);
    expect(history.stdout).toContain("MailboxAccessKeyReset");
    const human = await captureCli((io) => runHistoryCommand(["joe"], { pool: server.db.pool, ...io }));
    expect(human.stdout).toContain("reset the URLAUTH access key of Keys");
    expect(human.stdout).toContain("reset the URLAUTH access keys of every mailbox");
    joe.close();
    fred.close();
  });

  it("leaves an index that a rebuild from the log equals", async () => {
    const { code, out } = await verifyIndex(server.db.pool);
    expect(code, out).toBe(0);
  });
});
