import { describe, expect, it } from "vitest";
import { createMemoryNoticeBus } from "./memoryNoticeBus.ts";
import type { MailboxNotice } from "./notice.ts";
import { createNoticeRouter } from "./noticeRouter.ts";

const notice = (userId: string, mailboxId: string | null, globalPosition: number): MailboxNotice => ({
  userId,
  mailboxId,
  globalPosition,
  highestModSeq: null,
});

describe("notice router", () => {
  it("hands each notice to the listeners of its mailbox and of its user, and to no one else", async () => {
    const bus = createMemoryNoticeBus();
    const router = createNoticeRouter(bus);
    const seen: string[] = [];
    const stopInbox = router.onMailbox("inbox-a", (n) => seen.push(`inbox-a:${n.globalPosition}`));
    router.onMailbox("inbox-b", (n) => seen.push(`inbox-b:${n.globalPosition}`));
    router.onUser("alice", (n) => seen.push(`alice:${n.globalPosition}`));

    await bus.publish([notice("alice", "inbox-a", 1), notice("bob", "inbox-b", 2), notice("alice", null, 3)]);
    expect(seen).toEqual(["alice:1", "inbox-a:1", "inbox-b:2", "alice:3"]);

    seen.length = 0;
    stopInbox();
    await bus.publish([notice("alice", "inbox-a", 4)]);
    expect(seen).toEqual(["alice:4"]);

    seen.length = 0;
    router.close();
    await bus.publish([notice("alice", "inbox-a", 5), notice("bob", "inbox-b", 6)]);
    expect(seen).toEqual([]);
  });

  it("lets a listener unsubscribe while a notice is handed round", async () => {
    const bus = createMemoryNoticeBus();
    const router = createNoticeRouter(bus);
    const calls: string[] = [];
    const stopFirst = router.onMailbox("m", () => {
      calls.push("first");
      stopFirst();
    });
    router.onMailbox("m", () => calls.push("second"));
    await bus.publish([notice("u", "m", 1), notice("u", "m", 2)]);
    expect(calls).toEqual(["first", "second", "second"]);
  });
});
