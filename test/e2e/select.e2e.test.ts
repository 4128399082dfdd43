import { ImapFlow } from "imapflow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";

let server: TestMailServer;
beforeAll(async () => {
  server = await startTestMailServer();
  await server.createUser("alice", "alice-password");
});
afterAll(async () => server?.close());

function client(user = "alice", pass = "alice-password") {
  return new ImapFlow({
    host: server.host,
    port: server.port,
    secure: false,
    auth: { user, pass },
    logger: false,
  });
}

describe("SELECT and EXAMINE", () => {
  it("selects INBOX with its UIDVALIDITY, UIDNEXT and counts", async () => {
    const imap = client();
    await imap.connect();
    const mailbox = await imap.mailboxOpen("INBOX");
    expect(mailbox.path).toBe("INBOX");
    expect(mailbox.exists).toBe(0);
    expect(Number(mailbox.uidValidity)).toBeGreaterThan(0);
    expect(mailbox.uidNext).toBe(1);
    expect(mailbox.readOnly).toBe(false);
    const examined = await imap.mailboxOpen("inbox", { readOnly: true });
    expect(examined.readOnly).toBe(true);
    await imap.logout();
  });

  it("answers NO [NONEXISTENT] for a missing mailbox and leaves nothing selected", async () => {
    const imap = client();
    await imap.connect();
    await imap.mailboxOpen("INBOX");
    await expect(imap.mailboxOpen("Missing")).rejects.toMatchObject({ serverResponseCode: "NONEXISTENT" });
    await imap.logout();
  });
});
