// What one session's NOTIFY (RFC 5465) watches in the user's other mailboxes, and what it tells.
// The doorbell only says "look" (DESIGN.md contract 9): on any notice of the user, on the notice
// bus's resync, and on NOOP/IDLE, the session reads the user's mailboxes and subscriptions from
// the index in one query and compares them with what it last saw: a mailbox made, deleted or
// renamed (MailboxName: LIST), a subscription added or removed (SubscriptionChange: LIST), a
// mailbox that got messages, lost some or had flags changed (MessageNew, MessageExpunge,
// FlagChange: STATUS). A lost doorbell delays a notification to the next look, never loses it.

import { mailboxLookupName } from "../../events/domain/common.ts";
import type { MailboxStatus, NamespaceSnapshot } from "../../projections/queries/index.ts";
import { encodeMailbox, type FetchItem, type NotifyEventGroup, type NotifyFilter } from "../codec/index.ts";
import { utf8Names } from "../modes.ts";
import type { SessionControl, SessionNotifications } from "../module.ts";
import { SelectedMailbox } from "../selected/mailbox.ts";
import type { MailServices } from "./services.ts";

/** The events this server sends (RFC 5465 5); BADEVENT names them. */
export const SUPPORTED_EVENTS = [
  "MessageNew",
  "MessageExpunge",
  "FlagChange",
  "MailboxName",
  "SubscriptionChange",
] as const;

/**
 * Notifications queued and not yet sent (a client that does not read, a flood of changes): past
 * this the session says NOTIFICATIONOVERFLOW and stops notifying (RFC 5465 3.1, 6).
 */
export const MAX_PENDING_NOTIFICATIONS = 1_000;

const SEPARATOR = "/";

type Event = (typeof SUPPORTED_EVENTS)[number];

/** A NOTIFY's groups, asked which events it wants of which mailbox (RFC 5465 6). */
export class NotifyFilters {
  readonly groups: readonly NotifyEventGroup[];

  constructor(groups: readonly NotifyEventGroup[]) {
    this.groups = groups.map((group) => ({ ...group, filter: canonical(group.filter) }));
  }

  /** The SELECTED or SELECTED-DELAYED group, if any. */
  get selectedGroup(): NotifyEventGroup | undefined {
    return this.groups.find((group) => group.filter.kind === "selected");
  }

  /**
   * Does the client want `event` of the mailbox named `name`? The groups are read in order until
   * one that matches the mailbox names the event; one with NONE ends the search (RFC 5465 6).
   * Message events of the selected mailbox belong to SELECTED alone.
   */
  wants(name: string, event: Event, context: { selected: boolean; subscriptions: ReadonlySet<string> }) {
    const messageEvent = event === "MessageNew" || event === "MessageExpunge" || event === "FlagChange";
    for (const group of this.groups) {
      if (group.filter.kind === "selected") continue;
      if (context.selected && messageEvent) continue;
      if (!matches(group.filter, name, context.subscriptions)) continue;
      if (group.events.length === 0) return false;
      if (group.events.includes(event)) return true;
    }
    return false;
  }

  /** Any message event of the mailbox (what SET STATUS reports). */
  wantsMessages(name: string, subscriptions: ReadonlySet<string>): boolean {
    const context = { selected: false, subscriptions };
    return (["MessageNew", "MessageExpunge", "FlagChange"] as const).some((event) =>
      this.wants(name, event, context),
    );
  }
}

function canonical(filter: NotifyFilter): NotifyFilter {
  if (filter.kind === "subtree" || filter.kind === "mailboxes")
    return { kind: filter.kind, mailboxes: filter.mailboxes.map(mailboxLookupName) };
  return filter;
}

function matches(filter: NotifyFilter, name: string, subscriptions: ReadonlySet<string>): boolean {
  switch (filter.kind) {
    case "selected":
      return false;
    case "personal":
      return true;
    // Mail is delivered (LMTP) to INBOX alone.
    case "inboxes":
      return name === "INBOX";
    case "subscribed":
      return subscriptions.has(name);
    case "subtree":
      return filter.mailboxes.some((root) => name === root || name.startsWith(root + SEPARATOR));
    case "mailboxes":
      return filter.mailboxes.includes(name);
    default: {
      const unknown: never = filter;
      return unknown;
    }
  }
}

/**
 * The STATUS items that tell of the events a mailbox is watched for, as RFC 5465 5.1-5.3 name
 * them: MESSAGES, UIDNEXT, UIDVALIDITY (and UNSEEN) for new and expunged messages, HIGHESTMODSEQ
 * for flag changes.
 */
export function statusLine(status: MailboxStatus, withModSeq: boolean, utf8: boolean): string {
  const items = [
    `MESSAGES ${status.messages}`,
    `UIDNEXT ${status.uidNext}`,
    `UIDVALIDITY ${status.uidValidity}`,
    `UNSEEN ${status.unseen}`,
  ];
  if (withModSeq) items.push(`HIGHESTMODSEQ ${status.highestModSeq}`);
  return `STATUS ${encodeMailbox(status.name, { utf8 }).toString("latin1")} (${items.join(" ")})`;
}

function listLine(attributes: readonly string[], name: string, utf8: boolean, oldName?: string): string {
  const encoded = encodeMailbox(name, { utf8 }).toString("latin1");
  const extended =
    oldName === undefined ? "" : ` ("OLDNAME" (${encodeMailbox(oldName, { utf8 }).toString("latin1")}))`;
  return `LIST (${attributes.join(" ")}) "${SEPARATOR}" ${encoded}${extended}`;
}

export class MailboxNotifications implements SessionNotifications {
  readonly #services: MailServices;
  readonly #session: SessionControl;
  readonly #userId: string;
  readonly #filters: NotifyFilters;
  #snapshot: NamespaceSnapshot;
  #lines: string[] = [];
  #dirty = false;
  #looking: Promise<void> | undefined;
  #released = false;
  #overflowed = false;
  #unsubscribe: (() => void) | undefined;

  private constructor(
    services: MailServices,
    session: SessionControl,
    userId: string,
    filters: NotifyFilters,
    snapshot: NamespaceSnapshot,
  ) {
    this.#services = services;
    this.#session = session;
    this.#userId = userId;
    this.#filters = filters;
    this.#snapshot = snapshot;
  }

  /**
   * Starts watching: listens first, then reads the namespace, so a change between the two is
   * looked at. With `status`, the lines of SET STATUS come back to send before the OK.
   */
  static async start(
    services: MailServices,
    session: SessionControl,
    userId: string,
    groups: readonly NotifyEventGroup[],
  ): Promise<MailboxNotifications> {
    let noticed = false;
    const early = services.notices.onUser(userId, () => {
      noticed = true;
    });
    try {
      const snapshot = await services.queries.namespaceSnapshot(userId);
      const notifications = new MailboxNotifications(
        services,
        session,
        userId,
        new NotifyFilters(groups),
        snapshot,
      );
      const stopUser = services.notices.onUser(userId, () => notifications.#ring());
      const stopResync = services.notices.onResync(() => notifications.#ring());
      notifications.#unsubscribe = () => {
        stopUser();
        stopResync();
      };
      if (noticed) notifications.#ring();
      return notifications;
    } finally {
      early();
    }
  }

  /** NOTIFY NONE: nothing is watched, and nothing of the selected mailbox is sent unasked. */
  static none(): SessionNotifications {
    return {
      selected: null,
      newMessageItems: undefined,
      take: () => [],
      look: async () => {},
      release: () => {},
    };
  }

  get selected(): SessionNotifications["selected"] {
    const group = this.#filters.selectedGroup;
    if (this.#overflowed || group === undefined || group.events.length === 0) return null;
    return {
      expunges: group.filter.kind === "selected" && !group.filter.delayed,
      flags: group.events.includes("FlagChange"),
    };
  }

  get newMessageItems(): readonly FetchItem[] | undefined {
    if (this.#overflowed) return undefined;
    return this.#filters.selectedGroup?.fetchItems;
  }

  /** SET STATUS (RFC 5465 3.1): a STATUS of every mailbox watched for message events, but the selected one. */
  initialStatus(): string[] {
    const subscriptions = new Set(this.#snapshot.subscriptions);
    const selectedId = this.#selectedMailboxId();
    const utf8 = utf8Names(this.#session);
    const lines: string[] = [];
    for (const mailbox of this.#snapshot.mailboxes) {
      if (!mailbox.selectable || mailbox.mailboxId === selectedId) continue;
      if (!this.#filters.wantsMessages(mailbox.name, subscriptions)) continue;
      const context = { selected: false, subscriptions };
      lines.push(statusLine(mailbox, this.#filters.wants(mailbox.name, "FlagChange", context), utf8));
    }
    return lines;
  }

  take(): string[] {
    return this.#lines.splice(0);
  }

  look(): Promise<void> {
    this.#dirty = true;
    return this.#lookUntilClean();
  }

  release(): void {
    this.#released = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #ring(): void {
    this.#dirty = true;
    void this.#lookUntilClean()
      .then(() => {
        if (this.#lines.length > 0) this.#session.signalUpdates();
      })
      .catch((error: unknown) => this.#services.logger.warn("NOTIFY look failed", { error: String(error) }));
  }

  async #lookUntilClean(): Promise<void> {
    while ((this.#dirty || this.#looking) && !this.#released && !this.#overflowed) {
      if (this.#looking) {
        await this.#looking;
        continue;
      }
      this.#dirty = false;
      this.#looking = this.#lookOnce().finally(() => {
        this.#looking = undefined;
      });
      await this.#looking;
    }
  }

  #selectedMailboxId(): string | undefined {
    const selected = this.#session.selected;
    return selected instanceof SelectedMailbox ? selected.mailboxId : undefined;
  }

  async #lookOnce(): Promise<void> {
    const next = await this.#services.queries.namespaceSnapshot(this.#userId);
    const previous = this.#snapshot;
    this.#snapshot = next;
    const lines = await this.#differences(previous, next);
    if (this.#released) return;
    this.#lines.push(...lines);
    if (this.#lines.length > MAX_PENDING_NOTIFICATIONS) this.#overflow();
  }

  /** RFC 5465 3.1: the server stops notifying and says so; the client may NOTIFY SET again. */
  #overflow(): void {
    this.#overflowed = true;
    this.#lines = ["OK [NOTIFICATIONOVERFLOW] too many notifications were waiting: NOTIFY NONE is in force"];
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  async #differences(previous: NamespaceSnapshot, next: NamespaceSnapshot): Promise<string[]> {
    const utf8 = utf8Names(this.#session);
    const selectedId = this.#selectedMailboxId();
    const lines: string[] = [];
    const before = new Map(previous.mailboxes.map((mailbox) => [mailbox.mailboxId, mailbox]));
    const after = new Map(next.mailboxes.map((mailbox) => [mailbox.mailboxId, mailbox]));
    const subscribedBefore = new Set(previous.subscriptions);
    const subscribedAfter = new Set(next.subscriptions);
    // A subscription change matches SUBSCRIBED whether the name was subscribed before or after.
    const subscribedEither = new Set([...subscribedBefore, ...subscribedAfter]);
    const wants = (name: string, event: Event, mailboxId?: string) =>
      this.#filters.wants(name, event, {
        selected: mailboxId !== undefined && mailboxId === selectedId,
        subscriptions: event === "SubscriptionChange" ? subscribedEither : subscribedAfter,
      });
    const attributesOf = (mailbox: MailboxStatus) => [
      ...(mailbox.selectable ? [] : ["\\Noselect"]),
      ...(subscribedAfter.has(mailbox.name) ? ["\\Subscribed"] : []),
    ];

    // MailboxName (RFC 5465 5.4): made, renamed (with OLDNAME, RFC 5258 3.5), deleted.
    for (const mailbox of next.mailboxes) {
      const old = before.get(mailbox.mailboxId);
      if (old === undefined) {
        if (wants(mailbox.name, "MailboxName", mailbox.mailboxId))
          lines.push(listLine(attributesOf(mailbox), mailbox.name, utf8));
      } else if (old.name !== mailbox.name) {
        if (wants(mailbox.name, "MailboxName", mailbox.mailboxId) || wants(old.name, "MailboxName"))
          lines.push(listLine(attributesOf(mailbox), mailbox.name, utf8, old.name));
      } else if (old.selectable !== mailbox.selectable) {
        // Deleted while it has children: the name stays, \Noselect (RFC 3501 6.3.4).
        if (wants(mailbox.name, "MailboxName", mailbox.mailboxId))
          lines.push(listLine(attributesOf(mailbox), mailbox.name, utf8));
      }
    }
    for (const old of previous.mailboxes) {
      if (after.has(old.mailboxId)) continue;
      if (next.mailboxes.some((mailbox) => mailbox.name === old.name)) continue;
      if (wants(old.name, "MailboxName")) lines.push(listLine(["\\NonExistent"], old.name, utf8));
    }

    // SubscriptionChange (RFC 5465 5.5): LIST with \Subscribed, or without it once unsubscribed.
    const exists = new Map(next.mailboxes.map((mailbox) => [mailbox.name, mailbox]));
    for (const name of subscribedAfter) {
      if (subscribedBefore.has(name) || !wants(name, "SubscriptionChange")) continue;
      const mailbox = exists.get(name);
      lines.push(listLine([...(mailbox === undefined ? ["\\NonExistent"] : []), "\\Subscribed"], name, utf8));
    }
    for (const name of subscribedBefore) {
      if (subscribedAfter.has(name) || !wants(name, "SubscriptionChange")) continue;
      const mailbox = exists.get(name);
      lines.push(listLine(mailbox === undefined ? ["\\NonExistent"] : [], name, utf8));
    }

    // Message events of the other mailboxes (RFC 5465 5.1-5.3): a STATUS read from the index.
    for (const mailbox of next.mailboxes) {
      const old = before.get(mailbox.mailboxId);
      if (old === undefined || !mailbox.selectable || mailbox.mailboxId === selectedId) continue;
      if (
        old.highestModSeq === mailbox.highestModSeq &&
        old.uidNext === mailbox.uidNext &&
        old.messages === mailbox.messages
      )
        continue;
      const wantsNew = wants(mailbox.name, "MessageNew", mailbox.mailboxId);
      const wantsExpunge = wants(mailbox.name, "MessageExpunge", mailbox.mailboxId);
      const wantsFlags = wants(mailbox.name, "FlagChange", mailbox.mailboxId);
      if (!wantsNew && !wantsExpunge && !wantsFlags) continue;
      // Every UID given is one message added: more added than there are now means some went.
      const added = mailbox.uidNext - old.uidNext;
      const appended = added > 0;
      const expunged = old.messages + added > mailbox.messages;
      let flagsChanged = false;
      if (wantsFlags && !((appended && wantsNew) || (expunged && wantsExpunge))) {
        flagsChanged =
          !appended && !expunged
            ? true
            : await this.#services.queries.flagsChangedSince(
                this.#userId,
                mailbox.mailboxId,
                old.highestModSeq,
                old.uidNext,
              );
      }
      if ((appended && wantsNew) || (expunged && wantsExpunge) || flagsChanged)
        lines.push(statusLine(mailbox, wantsFlags, utf8));
    }
    return lines;
  }
}
