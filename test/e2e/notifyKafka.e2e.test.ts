// NOTIFY across gateway nodes on the distributed path (DESIGN.md, the path of one APPEND): node
// A's commit → the relay → Kafka → the notifier's consumer group → Redis → node B, whose NOTIFY
// client reads the index and is told, between its commands, without asking.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/serve/serve.ts";
import { startTestMailServer, type TestMailServer } from "../support/mailServer.ts";
import { testMessage, WireSession } from "./helpers/wireSession.ts";

/** A consumer group joins in seconds; then a doorbell takes well under one. */
const DOORBELL_MS = 60_000;

let server: TestMailServer;
let nodeB: RunningNode;

beforeAll(async () => {
  server = await startTestMailServer({ transport: "kafka" });
  nodeB = await server.startNode(["gateway"]);
  await server.createUser("kim", "kim-password");
}, 120_000);
afterAll(async () => server?.close());

describe("NOTIFY through Kafka and Redis", () => {
  it("tells a client on node B of node A's new message, renamed mailbox and subscription", async () => {
    const writer = await WireSession.login(server.port, "kim", "kim-password", "kim@A");
    const listener = await WireSession.login(nodeB.gateway!.port, "kim", "kim-password", "kim@B");
    await writer.ok("CREATE Inbound");
    await listener.ok("NOTIFY SET (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))");
    let from = listener.client.lines.length;
    await writer.append("Inbound", testMessage(1).raw);
    const status = await listener.client.waitFor(
      (line) => line.startsWith("* STATUS Inbound"),
      DOORBELL_MS,
      from,
    );
    expect(status).toMatch(/^\* STATUS Inbound \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1\)$/);
    from = listener.client.lines.length;
    await writer.ok("RENAME Inbound Archive");
    await writer.ok("SUBSCRIBE Archive");
    await listener.client.waitFor((line) => line === '* LIST (\\Subscribed) "/" Archive', DOORBELL_MS, from);
    // One look may have seen both: the renamed mailbox is then listed as subscribed already.
    expect(listener.client.lines.slice(from)).toContainEqual(
      expect.stringMatching(/^\* LIST \((\\Subscribed)?\) "\/" Archive \("OLDNAME" \(Inbound\)\)$/),
    );
    writer.close();
    listener.close();
  }, 120_000);
});
