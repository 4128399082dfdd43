import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_REDIS_URL } from "../../../test/support/services.ts";
import type { MailboxNotice, NoticeBus } from "./notice.ts";
import { createRedisNoticeBus } from "./redisNoticeBus.ts";

let nodeA: NoticeBus;
let nodeB: NoticeBus;

beforeAll(async () => {
  const channel = `mailledger:test:${ulid()}`;
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
  it("hands a node its own notices at once and exactly once; other nodes get them through Redis", async () => {
    const onA: MailboxNotice[] = [];
    const onB: MailboxNotice[] = [];
    nodeA.subscribe((n) => onA.push(n));
    nodeB.subscribe((n) => onB.push(n));

    const publishing = nodeA.publish([notice(1), notice(2)]);
    // Delivered in process before the publish round trip completes.
    expect(onA).toEqual([notice(1), notice(2)]);
    await publishing;
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
});
