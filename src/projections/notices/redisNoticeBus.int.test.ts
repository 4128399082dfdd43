import { Redis } from "ioredis";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_REDIS_URL } from "../../../test/support/services.ts";
import type { MailboxNotice, NoticeBus } from "./notice.ts";
import { createRedisNoticeBus } from "./redisNoticeBus.ts";

let nodeA: NoticeBus;
let nodeB: NoticeBus;
let channel: string;

beforeAll(async () => {
  channel = `mailledger:test:${ulid()}`;
  nodeA = await createRedisNoticeBus({ url: TEST_REDIS_URL, channel });
  nodeB = await createRedisNoticeBus({ url: TEST_REDIS_URL, channel });
});
afterAll(async () => {
  await nodeA?.close();
  await nodeB?.close();
});

const notice = (globalPosition: number): MailboxNotice => ({
  userId: "u1",
  mailboxId: "m1",
  globalPosition,
  highestModSeq: globalPosition,
});

describe("Redis notice bus", () => {
  it("hands a node its own notices exactly once; other nodes get them through Redis", async () => {
    const onA: MailboxNotice[] = [];
    const onB: MailboxNotice[] = [];
    nodeA.subscribe((n) => onA.push(n));
    nodeB.subscribe((n) => onB.push(n));

    await nodeA.publish([notice(1), notice(2)]);
    // Delivered in process by the time the publish resolves, without waiting for the channel.
    expect(onA).toEqual([notice(1), notice(2)]);
    await nodeB.publish([notice(3)]);
    const deadline = Date.now() + 5_000;
    while ((onA.length < 3 || onB.length < 3) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // A moment more, so a duplicate of A's own notices through Redis would have arrived.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(onA).toEqual([notice(1), notice(2), notice(3)]);
    // B's own notice came at once, A's through Redis: whichever came first, each exactly once.
    expect([...onB].sort((a, b) => a.globalPosition - b.globalPosition)).toEqual([
      notice(1),
      notice(2),
      notice(3),
    ]);
    // Listeners see clean notices: no mark of the publishing bus.
    for (const received of [...onA, ...onB])
      expect(Object.keys(received).sort()).toEqual(Object.keys(notice(1)).sort());
  });

  it("hands a node its own notice only once Redis has sent it to the other nodes", async () => {
    // A client that reads an OK answered by the local notice may poll another node at once:
    // that node's subscription must already have the notice on its way.
    const other = new Redis(TEST_REDIS_URL);
    const received: string[] = [];
    other.on("message", (_channel: string, text: string) => received.push(text));
    await other.subscribe(channel);
    // Twenty rounds: with the local delivery first, the PING would often overtake the PUBLISH.
    const seenByOtherFirst = new Map<number, boolean>();
    const unsubscribe = nodeA.subscribe((n) => {
      // Redis answers this PING after every message it wrote to `other` before it.
      void other.ping().then(() => {
        seenByOtherFirst.set(
          n.globalPosition,
          received.some((text) => JSON.parse(text).globalPosition === n.globalPosition),
        );
      });
    });
    try {
      const positions = Array.from({ length: 20 }, (_, i) => 10 + i);
      for (const position of positions) await nodeA.publish([notice(position)]);
      const deadline = Date.now() + 5_000;
      while (seenByOtherFirst.size < positions.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(positions.filter((position) => seenByOtherFirst.get(position) !== true)).toEqual([]);
    } finally {
      unsubscribe();
      other.disconnect();
    }
  });

  it("tells its listeners to look for themselves once a lost subscription is back", async () => {
    const name = `mailledger-test-${ulid()}`;
    const bus = await createRedisNoticeBus({ url: TEST_REDIS_URL, channel, connectionName: name });
    const admin = new Redis(TEST_REDIS_URL);
    try {
      let resyncs = 0;
      bus.onResync?.(() => {
        resyncs += 1;
      });
      const heard: number[] = [];
      bus.subscribe((n) => heard.push(n.globalPosition));
      const clients = String(await admin.client("LIST"));
      const id = /id=(\d+) .*name=(\S+)/g;
      const subscriberId = [...clients.matchAll(id)].find((match) => match[2] === `${name}:subscriber`)?.[1];
      expect(subscriberId).toBeDefined();
      await admin.client("KILL", "ID", subscriberId!);
      const deadline = Date.now() + 5_000;
      while ((resyncs === 0 || !bus.healthy) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(resyncs).toBe(1);
      // Subscribed again: another node's notice arrives as before.
      await nodeB.publish([notice(40)]);
      while (!heard.includes(40) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(heard).toContain(40);
      expect(resyncs).toBe(1);
    } finally {
      admin.disconnect();
      await bus.close();
    }
  });
});
