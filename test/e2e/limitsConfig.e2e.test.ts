// The gateway's limits are the operator's: IMAP_MAX_* variables reach a running server.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { rawLoggedIn } from "./helpers/clients.ts";

let server: TestMailServer;
const carol = { user: "carol", pass: "carol-password" };

beforeAll(async () => {
  server = await startTestMailServer({
    env: { IMAP_MAX_CONNECTIONS_PER_USER: "2", IMAP_MAX_NESTING_DEPTH: "3" },
  });
  await server.createUser(carol.user, carol.pass);
});
afterAll(async () => server?.close());

it("IMAP_MAX_CONNECTIONS_PER_USER and IMAP_MAX_NESTING_DEPTH set what the server allows", async () => {
  const first = await rawLoggedIn(server, carol);
  const second = await rawLoggedIn(server, carol);
  await expect(rawLoggedIn(server, carol)).rejects.toThrow(/NO \[LIMIT\]/);
  await first.command("s", "SELECT INBOX");
  expect((await first.command("a", "SEARCH (((ALL)))")).at(-1)).toMatch(/^a OK/);
  expect((await first.command("b", "SEARCH ((((ALL))))")).at(-1)).toMatch(/^b BAD .*nest/i);
  expect((await first.command("c", "NOOP")).at(-1)).toMatch(/^c OK/);
  first.close();
  second.close();
});
