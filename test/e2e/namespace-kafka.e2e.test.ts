// The distributed path (relay → Kafka → projector → Redis notice): CREATE, APPEND, LIST and
// STATUS through real clients, each answer reflecting the write before it (read your writes).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { dataLines, imapflowConnected, imaplib } from "./helpers/clients.ts";

let server: TestMailServer;
const dana = { user: "dana", pass: "dana-password" };

beforeAll(async () => {
  server = await startTestMailServer({ transport: "kafka" });
  await server.createUser(dana.user, dana.pass);
});
afterAll(async () => server?.close());

describe("namespace and APPEND over Kafka", () => {
  it("CREATE, APPEND, LIST and STATUS see each previous write at once (imapflow)", async () => {
    const flow = await imapflowConnected(server, dana);
    await flow.mailboxCreate("Work/Reports");
    const listed = (await flow.list()).map((m) => m.path);
    expect(listed).toEqual(expect.arrayContaining(["INBOX", "Work", "Work/Reports"]));
    const first = await flow.append("Work/Reports", "Subject: q1\r\n\r\nnumbers\r\n", ["\\Seen"]);
    const second = await flow.append("Work/Reports", "Subject: q2\r\n\r\nmore numbers\r\n");
    expect(first).toMatchObject({ uid: 1 });
    expect(second).toMatchObject({ uid: 2 });
    const status = await flow.status("Work/Reports", { messages: true, unseen: true, uidNext: true });
    expect(status).toMatchObject({ messages: 2, unseen: 1, uidNext: 3 });
    await flow.logout();
  });

  it("the same flow with imaplib, in one session", async () => {
    const [create, append, list, status] = await imaplib(server, dana, [
      ["create", "Letters"],
      ["append", "Letters", "(\\Flagged)", null, "Subject: hi\r\n\r\nhello\r\n"],
      ["list", '""', "L*"],
      ["status", "Letters", "(MESSAGES UIDNEXT UNSEEN)"],
    ]);
    expect(create!.typ).toBe("OK");
    expect(dataLines(append)[0]).toMatch(/^\[APPENDUID [1-9]\d* 1\] /);
    expect(dataLines(list)).toEqual(['(\\HasNoChildren) "/" Letters']);
    expect(dataLines(status)).toEqual(["Letters (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"]);
  });
});
