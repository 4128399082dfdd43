// The selected mailbox of one session, wired to storage: the Redis (or in-process) notice is a
// doorbell (STYLE.md); on it, the controller reads what changed since the session's MODSEQ and
// queues it in the session's own tracker, which numbers the updates when they are sent.

import { rightsOn } from "../../commands/acl/handlers.ts";
import { ALL_RIGHTS } from "../../commands/acl/rights.ts";
import type { StoreFlagsOutcome } from "../../commands/messages/store.ts";
import { claimRecent, peekRecent } from "../../commands/recent.ts";
import type { MailboxQueries, MailboxStatus } from "../../projections/queries/index.ts";
import type { SequenceSet } from "../codec/index.ts";
import { no } from "../errors.ts";
import type { MailServices } from "../mail/services.ts";
import { queriesAs } from "../mail/sharedNamespace.ts";
import type { Selection, SessionControl } from "../module.ts";
import { newMessageFetches } from "./newMessageFetch.ts";
import { type MessageFlagsState, SelectedMailboxState } from "./state.ts";

export interface OpenMailboxOptions {
  readOnly: boolean;
  /** IMAP4rev2 has no \Recent (RFC 9051 E): the session neither claims nor peeks at it. */
  withoutRecent?: boolean;
  /**
   * Another user's mailbox shared with the session's user (RFC 4314): who acts, and the name it
   * has in the actor's namespace (Shared/<owner>/<name>). `userId` is then the owner's.
   */
  shared?: { actorId: string; displayName: string };
}

/**
 * \Recent for one session (RFC 3501 2.3.2) up to UID `through`: claimed by SELECT, seen without
 * taking by EXAMINE, and none at all in IMAP4rev2, whose sessions take it from no one.
 */
function recentClaim(
  services: MailServices,
  mailboxId: string,
  through: number,
  mode: "claim" | "peek" | "none",
): Promise<{ after: number; through: number }> {
  if (mode === "none") return Promise.resolve({ after: through, through });
  return mode === "peek"
    ? peekRecent(services.pool, mailboxId, through)
    : claimRecent(services.pool, mailboxId, through);
}

/**
 * Commands that read or change the selected mailbox: on a shared one each checks first that the
 * actor still holds "l" and "r" (a revocation takes effect at the actor's next command).
 */
const ACCESS_CHECKED_COMMANDS: ReadonlySet<string> = new Set([
  "FETCH",
  "STORE",
  "SEARCH",
  "SORT",
  "THREAD",
  "COPY",
  "MOVE",
  "EXPUNGE",
  "NOOP",
  "CHECK",
  "IDLE",
]);

export interface OpenedController {
  status: MailboxStatus;
  controller: SelectedMailbox;
  /** The lowest UID without \Seen when the mailbox was read (SELECT's UNSEEN). */
  firstUnseenUid: number | null;
}

export class SelectedMailbox implements Selection {
  readonly name: string;
  readonly readOnly: boolean;
  /** How this session takes \Recent (recentClaim). */
  readonly recentMode: "claim" | "peek" | "none";
  readonly mailboxId: string;
  /** The mailbox's owner: every read and write of the mailbox is made in the owner's name. */
  readonly userId: string;
  /** Who the session is: the owner, or a user the mailbox is shared with. */
  readonly actorId: string;
  /** The index as the actor sees it (his own \Seen on a shared mailbox): every read of the session. */
  readonly queries: MailboxQueries;
  readonly uidValidity: number;
  readonly state: SelectedMailboxState;
  readonly #services: MailServices;
  readonly #session: SessionControl;
  #unsubscribe: (() => void) | undefined;
  #dirty = false;
  /** The highest position a notice for this mailbox carried: a refresh began after it came. */
  #noticedPosition = 0;
  #refreshing: Promise<void> | undefined;
  #released = false;

  private constructor(
    services: MailServices,
    session: SessionControl,
    userId: string,
    status: MailboxStatus,
    state: SelectedMailboxState,
    readOnly: boolean,
    recentMode: "claim" | "peek" | "none",
    shared: OpenMailboxOptions["shared"],
  ) {
    this.#services = services;
    this.#session = session;
    this.userId = userId;
    this.actorId = shared?.actorId ?? userId;
    this.queries = queriesAs(services, { ownerId: userId, actorId: this.actorId });
    this.name = shared?.displayName ?? status.name;
    this.mailboxId = status.mailboxId;
    this.uidValidity = status.uidValidity;
    this.readOnly = readOnly;
    this.recentMode = recentMode;
    this.state = state;
  }

  /**
   * Loads the session's view of the mailbox named `name` (one query) and starts listening for
   * changes: null when the user has no such mailbox, the status alone when it cannot be selected.
   */
  static async open(
    services: MailServices,
    session: SessionControl,
    userId: string,
    name: string,
    options: OpenMailboxOptions,
  ): Promise<
    OpenedController | { status: MailboxStatus; controller?: undefined; firstUnseenUid?: undefined } | null
  > {
    // Listen before reading, so a change between the read and the subscription is not missed.
    // The mailbox's id is not known yet: every mailbox of the user that changes is noted.
    const noticed = new Set<string>();
    const unsubscribe = services.notices.onUser(userId, (notice) => {
      if (notice.mailboxId !== null) noticed.add(notice.mailboxId);
    });
    try {
      const queries = queriesAs(services, { ownerId: userId, actorId: options.shared?.actorId ?? userId });
      const opened = await queries.openMailbox(userId, name);
      if (opened === null) return null;
      const { status } = opened;
      if (!status.selectable) return { status };
      const uidList = Array.from(opened.uids);
      const lastUid = uidList.at(-1) ?? 0;
      // EXAMINE must not take \Recent away from anyone, but sees what nobody took (RFC 3501 2.3.2).
      // Nor may another user of a shared mailbox take the owner's.
      const recentMode = options.withoutRecent
        ? "none"
        : options.readOnly || options.shared
          ? "peek"
          : "claim";
      const claim = await recentClaim(services, status.mailboxId, lastUid, recentMode);
      const recent = uidList.filter((uid) => uid > claim.after && uid <= claim.through);
      const state = new SelectedMailboxState(uidList, status.highestModSeq, recent);
      const controller = new SelectedMailbox(
        services,
        session,
        userId,
        status,
        state,
        options.readOnly,
        recentMode,
        options.shared,
      );
      unsubscribe();
      const unsubscribeNotices = services.notices.onMailbox(controller.mailboxId, (notice) =>
        controller.#ring(notice.globalPosition, notice.highestModSeq),
      );
      // Notices may have been missed (Redis was unreachable): look, and wake IDLE with what came.
      const unsubscribeResync = services.notices.onResync(() => controller.#ring());
      controller.#unsubscribe = () => {
        unsubscribeNotices();
        unsubscribeResync();
      };
      if (noticed.has(status.mailboxId)) controller.#ring();
      return { status, controller, firstUnseenUid: opened.firstUnseenUid };
    } finally {
      unsubscribe();
    }
  }

  /** The doorbell: look at what changed, then wake IDLE. */
  #ring(position = 0, highestModSeq: number | null = null): void {
    this.#noticedPosition = Math.max(this.#noticedPosition, position);
    // The session knows the mailbox up to the notice's MODSEQ already (its own change, recorded
    // by recordOwnChange): there is nothing to read.
    if (highestModSeq !== null && highestModSeq <= this.state.highestModSeq) return;
    this.#dirty = true;
    void this.refresh()
      .then(() => {
        if (this.state.hasPending) this.#session.signalUpdates();
      })
      .catch((error) => this.#services.logger.warn("mailbox refresh failed", { error: String(error) }));
  }

  /**
   * This session changed the mailbox (its events end at `position`): look again before its next
   * response. When this mailbox's notice of that position has come already, its doorbell started
   * a read after it, which the next response awaits: a second read would find nothing more.
   */
  markDirty(position?: number | null): void {
    if (position !== undefined && position !== null && position <= this.#noticedPosition) return;
    this.#dirty = true;
  }

  /**
   * Did the session know the mailbox exactly at this MODSEQ, with no read due or running? Then a
   * change this session decided at it is the only change since, which the session can record
   * itself: no read is needed, neither now nor when the change's notice comes.
   */
  #knewJustBefore(previousHighestModSeq: number): boolean {
    return this.state.highestModSeq === previousHighestModSeq && !this.#dirty && !this.#refreshing;
  }

  /**
   * This session changed the mailbox with a STORE or an EXPUNGE decided at MODSEQ
   * `previousHighestModSeq`: it records its change when it knew the mailbox right before, and
   * otherwise looks again (markDirty).
   */
  recordOwnChange(change: {
    previousHighestModSeq: number;
    highestModSeq: number;
    lastGlobalPosition: number | null;
    flagsChanged?: readonly MessageFlagsState[];
    expunged?: readonly number[];
  }): void {
    if (change.lastGlobalPosition === null) {
      this.noteIndexAt(change.previousHighestModSeq);
      return;
    }
    if (!this.#knewJustBefore(change.previousHighestModSeq)) {
      this.markDirty(change.lastGlobalPosition);
      return;
    }
    this.state.record({
      highestModSeq: change.highestModSeq,
      appended: [],
      expunged: change.expunged ?? [],
      flagsChanged: change.flagsChanged ?? [],
    });
  }

  /** recordOwnChange for a STORE (or the implicit \Seen of FETCH): its changed messages' flags. */
  recordOwnStore(outcome: StoreFlagsOutcome): void {
    const changed = new Set(outcome.changed);
    this.recordOwnChange({
      ...outcome,
      flagsChanged: outcome.messages
        .filter((message) => changed.has(message.uid))
        .map((message) => ({ uid: message.uid, flags: message.flags, modSeq: message.modseq })),
    });
  }

  /**
   * This session appended `appended` (ascending) to the mailbox it has selected, decided at MODSEQ
   * `previousHighestModSeq`. As recordOwnChange: when the session knew the mailbox right before,
   * it queues the new messages itself and claims their \Recent (resolves once claimed, which
   * needs no wait for the projection); otherwise it looks again.
   */
  async recordOwnAppend(change: {
    previousHighestModSeq: number;
    lastGlobalPosition: number;
    appended: readonly MessageFlagsState[];
  }): Promise<void> {
    const last = change.appended.at(-1);
    if (last === undefined || !this.#knewJustBefore(change.previousHighestModSeq)) {
      this.markDirty(change.lastGlobalPosition);
      return;
    }
    this.state.record({
      highestModSeq: last.modSeq,
      appended: change.appended,
      expunged: [],
      flagsChanged: [],
    });
    try {
      const claim = await recentClaim(this.#services, this.mailboxId, last.uid, this.recentMode);
      this.state.markRecent(
        change.appended.map((m) => m.uid).filter((uid) => uid > claim.after && uid <= claim.through),
      );
    } catch (error) {
      // The messages are appended and queued; only their \Recent is lost to this session.
      this.#services.logger.warn("\\Recent claim failed", { error: String(error) });
    }
  }

  /**
   * Reads changes since the session's HIGHESTMODSEQ into the tracker, one read at a time; returns
   * once no read is running and nothing is left to read.
   */
  async refresh(): Promise<void> {
    while ((this.#dirty || this.#refreshing) && !this.#released) {
      if (this.#refreshing) {
        await this.#refreshing;
        continue;
      }
      this.#dirty = false;
      this.#refreshing = this.#readChanges().finally(() => {
        this.#refreshing = undefined;
      });
      await this.#refreshing;
    }
  }

  get shared(): boolean {
    return this.actorId !== this.userId;
  }

  /**
   * The actor's rights on the mailbox now, read from the ACL the ACL commands commit (never a
   * lagging view); all of them for the owner.
   */
  async rights(): Promise<string> {
    if (!this.shared) return ALL_RIGHTS;
    return (await rightsOn(this.#services.pool, this.actorId, this.mailboxId)) ?? "";
  }

  /**
   * Before a command on a shared mailbox (SelectedMailbox.authorize): a mailbox the actor may no
   * longer look up is gone for it (as a deleted one), one it may no longer read is refused.
   */
  readonly authorize = async (command: string): Promise<void> => {
    if (!this.shared || !ACCESS_CHECKED_COMMANDS.has(command)) return;
    const held = await this.rights();
    if (!held.includes("l")) throw no("the mailbox no longer exists", "NONEXISTENT");
    if (!held.includes("r")) throw no(`${command} needs the right "r" on this mailbox (RFC 4314)`, "NOPERM");
  };

  async #readChanges(): Promise<void> {
    // A shared mailbox whose "r" was taken away tells the session nothing more.
    if (this.shared && !(await this.rights()).includes("r")) return;
    const since = this.state.highestModSeq;
    const changes = await this.queries.changesSince(this.userId, this.mailboxId, since);
    const known = this.state.lastKnownUid;
    const appended = changes.changed.filter((m) => m.uid > known).sort((a, b) => a.uid - b.uid);
    const flagsChanged = changes.changed.filter((m) => m.uid <= known);
    let recentAfter = Number.POSITIVE_INFINITY;
    if (appended.length > 0) {
      const through = appended.at(-1)!.uid;
      const claim = await recentClaim(this.#services, this.mailboxId, through, this.recentMode);
      recentAfter = claim.after;
    }
    const highestModSeq = Math.max(since, changes.highestModSeq);
    this.state.record({
      highestModSeq,
      appended: appended.map((m) => ({
        uid: m.uid,
        flags: m.flags,
        modSeq: m.modseq,
        recent: m.uid > recentAfter,
      })),
      expunged: changes.vanished,
      flagsChanged: flagsChanged.map((m) => ({ uid: m.uid, flags: m.flags, modSeq: m.modseq })),
    });
  }

  /**
   * Does a UID set name UIDs above every UID the session has announced (or `*`)? A command whose
   * own read compares (CommandModule.selectedView) looks first then, so messages another node
   * appended are resolved too, those a doorbell has queued but not announced included: they have
   * no number in the session until announced.
   */
  namesUnknownUids(set: SequenceSet): boolean {
    if (set.kind === "saved") return false;
    const known = this.state.uids.at(-1) ?? 0;
    return set.ranges.some(
      (range) => range.start === "*" || range.stop === "*" || range.start > known || range.stop > known,
    );
  }

  /**
   * A command read the index at this HIGHESTMODSEQ: when the mailbox moved since the session
   * looked, it looks again before the command's tagged response (contract 9).
   */
  noteIndexAt(highestModSeq: number | null): void {
    if (highestModSeq !== null && highestModSeq > this.state.highestModSeq) this.#dirty = true;
  }

  readonly sync = async (): Promise<void> => {
    this.#dirty = true;
    await this.refresh();
  };

  readonly pendingUpdates = async (options: {
    readonly holdExpunge: boolean;
    readonly holdFlags?: boolean;
  }): Promise<string[]> => {
    await this.refresh();
    const enabled = this.#session.enabled;
    const condstore = enabled.has("CONDSTORE") || enabled.has("QRESYNC");
    const lines = this.state.flush({
      holdExpunge: options.holdExpunge,
      qresync: enabled.has("QRESYNC"),
      condstore,
      ...(options.holdFlags ? { holdFlags: true } : {}),
    });
    // NOTIFY's MessageNew with fetch attributes: each new message's FETCH after its EXISTS.
    const items = this.#session.notifications?.newMessageItems;
    const announced = this.state.lastAnnounced;
    if (items !== undefined && announced.length > 0) {
      lines.push(...(await newMessageFetches(this.#services, this, announced, items, condstore)));
    }
    return lines;
  };

  readonly release = (): void => {
    this.#released = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  };
}
