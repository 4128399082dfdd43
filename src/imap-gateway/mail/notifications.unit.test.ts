import { describe, expect, it } from "vitest";
import { createMemoryNoticeBus } from "../../projections/notices/memoryNoticeBus.ts";
import { createNoticeRouter } from "../../projections/notices/noticeRouter.ts";
import type { MailboxStatus, NamespaceSnapshot } from "../../projections/queries/index.ts";
import type { NotifyEventGroup } from "../codec/index.ts";
import { silentLogger } from "../logger.ts";
import type { SessionControl } from "../module.ts";
import { MAX_PENDING_NOTIFICATIONS, MailboxNotifications } from "./notifications.ts";
import type { MailServices } from "./services.ts";

function mailbox(name: string, overrides: Partial<MailboxStatus> = {}): MailboxStatus {
  return {
    mailboxId: `id-${name}`,
    name,
    selectable: true,
    uidValidity: 7,
    uidNext: 1,
    highestModSeq: 1,
    messages: 0,
    unseen: 0,
    size: 0,
    specialUse: null,
    appendLimit: null,
    ...overrides,
  };
}

/** A NOTIFY watcher over an index whose namespace the test sets, and what it was told. */
async function watching(groups: NotifyEventGroup[], first: NamespaceSnapshot) {
  let snapshot = first;
  let flagsChanged = false;
  const bus = createMemoryNoticeBus();
  const services = {
    notices: createNoticeRouter(bus),
    logger: silentLogger,
    queries: {
      namespaceSnapshot: async () => snapshot,
      flagsChangedSince: async () => flagsChanged,
    },
  } as unknown as MailServices;
  const session = {
    enabled: new Set<string>(),
    selected: undefined,
    signalUpdates: () => {},
  } as unknown as SessionControl;
  const notifications = await MailboxNotifications.start(services, session, "u1", groups);
  return {
    notifications,
    /** The index now holds `next`; the session looks (as a doorbell or NOOP makes it) and is told. */
    async after(next: NamespaceSnapshot, options: { flagsChanged?: boolean } = {}): Promise<string[]> {
      snapshot = next;
      flagsChanged = options.flagsChanged ?? false;
      await notifications.look();
      return notifications.take();
    },
  };
}

const group = (filter: NotifyEventGroup["filter"], events: string[]): NotifyEventGroup => ({
  filter,
  events,
  fetchItems: undefined,
});

describe("NOTIFY's comparison of the namespace (RFC 5465 5)", () => {
  it("lists mailboxes made, renamed and deleted, and subscriptions added and removed", async () => {
    const w = await watching([group({ kind: "personal" }, ["MailboxName", "SubscriptionChange"])], {
      mailboxes: [mailbox("INBOX"), mailbox("Old")],
      subscriptions: [],
    });
    expect(
      await w.after({
        mailboxes: [mailbox("INBOX"), mailbox("Old"), mailbox("New")],
        subscriptions: ["New"],
      }),
    ).toEqual(['LIST (\\Subscribed) "/" New', 'LIST (\\Subscribed) "/" New']);
    expect(
      await w.after({
        mailboxes: [mailbox("INBOX"), { ...mailbox("Old"), name: "Renamed" }, mailbox("New")],
        subscriptions: [],
      }),
    ).toEqual(['LIST () "/" Renamed ("OLDNAME" (Old))', 'LIST () "/" New']);
    expect(await w.after({ mailboxes: [mailbox("INBOX"), mailbox("New")], subscriptions: [] })).toEqual([
      'LIST (\\NonExistent) "/" Renamed',
    ]);
  });

  it("sends STATUS for new, expunged and re-flagged messages, each only when its event is asked for", async () => {
    const before = mailbox("Lists", { uidNext: 5, messages: 4, highestModSeq: 10 });
    const w = await watching(
      [
        group({ kind: "mailboxes", mailboxes: ["Lists"] }, ["MessageNew", "MessageExpunge"]),
        group({ kind: "subtree", mailboxes: ["Work"] }, ["FlagChange"]),
      ],
      { mailboxes: [before, mailbox("Work/a", { highestModSeq: 3 })], subscriptions: [] },
    );
    // Two new, one gone: 4 + 2 - 1 = 5.
    const grown = { ...before, uidNext: 7, messages: 5, highestModSeq: 13 };
    expect(
      await w.after({ mailboxes: [grown, mailbox("Work/a", { highestModSeq: 3 })], subscriptions: [] }),
    ).toEqual(["STATUS Lists (MESSAGES 5 UIDNEXT 7 UIDVALIDITY 7 UNSEEN 0)"]);
    // Flags only: not asked for in Lists; asked for in Work's subtree, with HIGHESTMODSEQ.
    const flagged = { ...grown, highestModSeq: 14, unseen: 1 };
    const work = mailbox("Work/a", { highestModSeq: 4 });
    expect(await w.after({ mailboxes: [flagged, work], subscriptions: [] })).toEqual([
      "STATUS Work/a (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 7 UNSEEN 0 HIGHESTMODSEQ 4)",
    ]);
    // New messages in Work/a, flags unchanged there: FlagChange alone says nothing.
    const workGrown = { ...work, uidNext: 2, messages: 1, highestModSeq: 5 };
    expect(await w.after({ mailboxes: [flagged, workGrown], subscriptions: [] })).toEqual([]);
    const workFlagged = { ...workGrown, uidNext: 3, messages: 2, highestModSeq: 7 };
    expect(
      await w.after({ mailboxes: [flagged, workFlagged], subscriptions: [] }, { flagsChanged: true }),
    ).toEqual(["STATUS Work/a (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 7 UNSEEN 0 HIGHESTMODSEQ 7)"]);
  });

  it("stops at the first group naming the mailbox with NONE, and SUBSCRIBED follows the subscriptions", async () => {
    const w = await watching(
      [group({ kind: "mailboxes", mailboxes: ["Quiet"] }, []), group({ kind: "personal" }, ["MailboxName"])],
      { mailboxes: [mailbox("Quiet")], subscriptions: [] },
    );
    expect(
      await w.after({
        mailboxes: [{ ...mailbox("Quiet"), selectable: false }, mailbox("Loud")],
        subscriptions: [],
      }),
    ).toEqual(['LIST () "/" Loud']);
    const s = await watching([group({ kind: "subscribed" }, ["MessageNew", "MessageExpunge"])], {
      mailboxes: [mailbox("A"), mailbox("B")],
      subscriptions: ["B"],
    });
    expect(
      await s.after({
        mailboxes: [mailbox("A", { uidNext: 2, messages: 1 }), mailbox("B", { uidNext: 2, messages: 1 })],
        subscriptions: ["B"],
      }),
    ).toEqual(["STATUS B (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 7 UNSEEN 0)"]);
  });

  it("says NOTIFICATIONOVERFLOW and stops when more notifications wait than it keeps", async () => {
    const w = await watching([group({ kind: "personal" }, ["MailboxName"])], {
      mailboxes: [],
      subscriptions: [],
    });
    const flood = Array.from({ length: MAX_PENDING_NOTIFICATIONS + 1 }, (_, i) => mailbox(`M${i}`));
    expect(await w.after({ mailboxes: flood, subscriptions: [] })).toEqual([
      "OK [NOTIFICATIONOVERFLOW] too many notifications were waiting: NOTIFY NONE is in force",
    ]);
    expect(w.notifications.selected).toBeNull();
    expect(await w.after({ mailboxes: [], subscriptions: [] })).toEqual([]);
  });
});
