import { ImapFlow } from "imapflow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
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

  it("sends the RFC 3501 SELECT responses with bracketed response codes", async () => {
    const client = await RawImapClient.connect(server.port);
    await client.greeting();
    await client.command("L", "LOGIN alice alice-password");
    const lines = await client.command("S", "SELECT INBOX");
    expect(lines).toEqual([
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
      "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] flags permitted",
      "* 0 EXISTS",
      "* 0 RECENT",
      expect.stringMatching(/^\* OK \[UIDVALIDITY [1-9]\d*\] UIDs valid$/),
      "* OK [UIDNEXT 1] predicted next UID",
      expect.stringMatching(/^\* OK \[MAILBOXID \([0-9a-z]+\)\] mailbox id \(RFC 8474\)$/),
      "S OK [READ-WRITE] SELECT completed",
    ]);
    const again = await client.command("E", "EXAMINE INBOX");
    expect(again[0]).toBe("* OK [CLOSED] previous mailbox closed");
    expect(again).toContain("* OK [PERMANENTFLAGS ()] no permanent flags in read-only mode");
    expect(again.at(-1)).toBe("E OK [READ-ONLY] EXAMINE completed");
    client.close();
  });

  it("points UNSEEN at the first message without \\Seen", async () => {
    const client = await RawImapClient.connect(server.port);
    await client.greeting();
    await client.command("L", "LOGIN alice alice-password");
    await client.command("C", "CREATE Unseen");
    for (const [tag, flags] of [
      ["A1", "(\\Seen)"],
      ["A2", "()"],
      ["A3", "()"],
    ] as const) {
      const body = `Subject: ${tag}\r\n\r\nx\r\n`;
      const start = client.lines.length;
      await client.write(`${tag} APPEND Unseen ${flags} {${body.length}+}\r\n${body}\r\n`);
      await client.waitFor((line) => line.startsWith(`${tag} OK`), 10_000, start);
    }
    const lines = await client.command("S", "SELECT Unseen");
    expect(lines).toContain("* OK [UNSEEN 2] first unseen");
    client.close();
  });

  it("answers NO [NONEXISTENT] for a missing mailbox and leaves nothing selected", async () => {
    const imap = client();
    await imap.connect();
    await imap.mailboxOpen("INBOX");
    await expect(imap.mailboxOpen("Missing")).rejects.toMatchObject({ serverResponseCode: "NONEXISTENT" });
    await imap.logout();
  });
});
