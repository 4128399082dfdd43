// The selected mailbox as one session sees it (model: go-imap v2's tracker.go). Sequence numbers
// belong to the session: it keeps its own ascending UID list, queues what changed in storage,
// and announces the changes only at points where RFC 3501 allows it, computing sequence numbers
// at that moment. EXPUNGE is held back while FETCH, STORE or SEARCH is answered (RFC 3501 7.4.1),
// so until then the expunged message keeps its number in this session.
import type { SequenceSet } from "../codec/index.ts";
import { encodeSequenceNumbers } from "../codec/index.ts";
import { flagUpdateLine } from "../fetch/flagUpdate.ts";
import { encodeOrderedSet } from "../mail/esearch.ts";

/** RFC 3501 2.3.2 system flags; keywords are allowed too (\* in PERMANENTFLAGS). */
export const SYSTEM_FLAGS = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"] as const;

export interface MessageFlagsState {
  uid: number;
  flags: readonly string[];
  modSeq: number;
}

/** What storage says changed since the session's last look (the Redis doorbell triggers the look). */
export interface MailboxChanges {
  highestModSeq: number;
  /** Messages with a UID above every UID the session knows, ascending. */
  appended: readonly (MessageFlagsState & { recent?: boolean })[];
  /** UIDs expunged since the last look. */
  expunged: readonly number[];
  /** Messages whose flags changed since the last look. */
  flagsChanged: readonly MessageFlagsState[];
}

export interface FlushOptions {
  /** True while a FETCH/STORE/SEARCH (not their UID forms) is being answered. */
  holdExpunge: boolean;
  /** QRESYNC is enabled: expunges are announced as VANISHED (RFC 7162 3.2.10). */
  qresync: boolean;
  /** CONDSTORE is enabled: flag updates carry MODSEQ (RFC 7162 3.1.4). */
  condstore: boolean;
  /** Flag changes stay pending (NOTIFY without FlagChange, while the client waits). */
  holdFlags?: boolean;
}

export type SequenceResolution = { ok: true; uids: number[] } | { ok: false; message: string };

/**
 * A SEARCH RETURN (UPDATE) kept live (RFC 5267 4): its result by UID, and what it searched for
 * (opaque here: the SEARCH module reads it when it looks at changed messages again).
 */
export interface SearchContext {
  readonly tag: string;
  readonly uid: boolean;
  readonly criteria: object;
  readonly results: Set<number>;
  /** A SORT RETURN (UPDATE) (CONTEXT=SORT): its result in sort order, and how to place new ones. */
  readonly order?: SortedResult;
}

/** What a message sorts by (numbers and byte strings, compared in turn); opaque here. */
export type SortKeys = readonly (number | Buffer)[];

/** A live SORT's result: UIDs in sort order, each with its keys, and the order itself. */
export interface SortedResult {
  readonly uids: number[];
  readonly keys: Map<number, SortKeys>;
  /** Negative when `a` sorts before `b`; ties are broken by UID (mailbox order, RFC 5256). */
  readonly compare: (a: SortKeys, b: SortKeys) => number;
}

/** Messages leaving or joining a sorted result: at `position` (1 the first), these UIDs in order. */
interface PositionedRun {
  readonly position: number;
  readonly uids: number[];
}

/**
 * Takes `removed` out of a sorted result: runs of messages that stood together, each at the
 * position its first message has once the runs before it are gone.
 */
export function removeFromOrder(order: SortedResult, removed: readonly number[]): PositionedRun[] {
  const gone = new Set(removed);
  const runs: PositionedRun[] = [];
  let kept = 0;
  let current: PositionedRun | undefined;
  for (const uid of order.uids) {
    if (!gone.has(uid)) {
      kept += 1;
      current = undefined;
      continue;
    }
    if (current === undefined) {
      current = { position: kept + 1, uids: [] };
      runs.push(current);
    }
    current.uids.push(uid);
  }
  const left = order.uids.filter((uid) => !gone.has(uid));
  order.uids.splice(0, order.uids.length, ...left);
  for (const uid of removed) order.keys.delete(uid);
  return runs;
}

/**
 * Puts `added` (their keys already in order.keys) where they sort: runs of new messages that
 * stand together, each at the position its first message takes in the result as it is with the
 * runs before it in.
 */
export function insertIntoOrder(order: SortedResult, added: readonly number[]): PositionedRun[] {
  const keyOf = (uid: number) => order.keys.get(uid)!;
  const sortsBefore = (a: number, b: number) => order.compare(keyOf(a), keyOf(b)) || a - b;
  const fresh = new Set(added);
  const merged = [...order.uids, ...added].sort(sortsBefore);
  const runs: PositionedRun[] = [];
  let current: PositionedRun | undefined;
  merged.forEach((uid, index) => {
    if (!fresh.has(uid)) {
      current = undefined;
      return;
    }
    if (current === undefined) {
      current = { position: index + 1, uids: [] };
      runs.push(current);
    }
    current.uids.push(uid);
  });
  order.uids.splice(0, order.uids.length, ...merged);
  return runs;
}

function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * A set's ranges as ascending, disjoint [low, high] spans (`*` is `largest`): what the ranges
 * name, in order and once each, without sorting the numbers they name.
 */
export function mergedSpans(
  ranges: readonly { start: number | "*"; stop: number | "*" }[],
  largest: number,
): [number, number][] {
  const spans: [number, number][] = ranges.map((range) => {
    const a = range.start === "*" ? largest : range.start;
    const b = range.stop === "*" ? largest : range.stop;
    return [Math.min(a, b), Math.max(a, b)];
  });
  if (spans.length > 1) spans.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const span of spans) {
    const last = merged.at(-1);
    if (last !== undefined && span[0] <= last[1] + 1) last[1] = Math.max(last[1], span[1]);
    else merged.push([span[0], span[1]]);
  }
  return merged;
}

export class SelectedMailboxState {
  /** The session's view: ascending UIDs; index + 1 is the sequence number. */
  #uids: number[];
  /** The UIDs of the last SEARCH RETURN (SAVE), ascending (RFC 5182 `$`). */
  #saved: number[] = [];
  #recent: Set<number>;
  #highestModSeq: number;
  #pendingExpunges = new Set<number>();
  #pendingAppends: (MessageFlagsState & { recent?: boolean })[] = [];
  #pendingFlags = new Map<number, MessageFlagsState>();
  #lastAnnounced: readonly number[] = [];
  /** MODSEQ of flags this session already reported (its own STORE), so they are not repeated. */
  #reported = new Map<number, number>();
  #announcedExists: number;
  #announcedRecent: number;
  /** Keywords the client was told of in a FLAGS response, by lower case (flags are case-insensitive). */
  #announcedKeywords = new Map<string, string>();
  #searchContexts = new Map<string, SearchContext>();
  /** Messages new or with new flags since the live searches last looked (only while there are some). */
  #contextDirty = new Set<number>();

  constructor(uids: readonly number[], highestModSeq: number, recentUids: readonly number[] = []) {
    this.#uids = [...uids];
    this.#recent = new Set(recentUids);
    this.#highestModSeq = highestModSeq;
    this.#announcedExists = this.#uids.length;
    this.#announcedRecent = this.#recent.size;
  }

  get exists(): number {
    return this.#uids.length;
  }

  get recentCount(): number {
    return this.#recent.size;
  }

  get highestModSeq(): number {
    return this.#highestModSeq;
  }

  /** The highest UID the session knows, including appends not yet announced (for the next look). */
  get lastKnownUid(): number {
    return this.#pendingAppends.at(-1)?.uid ?? this.#uids.at(-1) ?? 0;
  }

  /** New messages queued but not yet announced: they have no sequence number in this session yet. */
  get hasUnannouncedAppends(): boolean {
    return this.#pendingAppends.length > 0;
  }

  get uids(): readonly number[] {
    return this.#uids;
  }

  isRecent(uid: number): boolean {
    return this.#recent.has(uid);
  }

  uidAt(sequenceNumber: number): number | undefined {
    return this.#uids[sequenceNumber - 1];
  }

  sequenceNumberOf(uid: number): number | undefined {
    const index = lowerBound(this.#uids, uid);
    return this.#uids[index] === uid ? index + 1 : undefined;
  }

  /** Expunged in storage but not yet announced to this session (FETCH answers NO [EXPUNGEISSUED]). */
  isExpungePending(uid: number): boolean {
    return this.#pendingExpunges.has(uid);
  }

  /**
   * The UIDs a sequence set names in this session's view, ascending.
   * Sequence numbers must exist (RFC 3501 9: `*` is the largest number in use); UID sets name
   * whatever UIDs exist in their ranges, and `n:*` always includes the largest UID (RFC 3501 6.4.8).
   */
  resolve(set: SequenceSet, byUid: boolean): SequenceResolution {
    // `$` (RFC 5182): the saved messages this session still has, empty until a SEARCH saved some.
    if (set.kind === "saved")
      return { ok: true, uids: this.#saved.filter((uid) => this.sequenceNumberOf(uid) !== undefined) };
    if (byUid) {
      const largest = this.#uids.at(-1) ?? 0;
      const spans = mergedSpans(set.ranges, largest);
      return { ok: true, uids: this.#uidsInSpans(spans) };
    }
    const count = this.#uids.length;
    const spans = mergedSpans(set.ranges, count);
    for (const [low, high] of spans) {
      if (low < 1 || high > count) {
        return {
          ok: false,
          message:
            count === 0
              ? "the mailbox is empty: no sequence numbers exist"
              : `sequence number ${high > count ? high : low} does not exist (the mailbox has ${count} messages)`,
        };
      }
    }
    return { ok: true, uids: this.#uidsAtSequences(spans) };
  }

  /** The UIDs within ascending disjoint UID spans: one pass over the list, already in order. */
  #uidsInSpans(spans: readonly (readonly [number, number])[]): number[] {
    const uids = this.#uids;
    const out: number[] = [];
    for (const [low, high] of spans) {
      const from = lowerBound(uids, low);
      const to = lowerBound(uids, high + 1);
      for (let i = from; i < to; i += 1) out.push(uids[i]!);
    }
    return out;
  }

  /** The UIDs at ascending disjoint sequence-number spans (clamped to the mailbox), in order. */
  #uidsAtSequences(spans: readonly (readonly [number, number])[]): number[] {
    const uids = this.#uids;
    const out: number[] = [];
    for (const [low, high] of spans) {
      for (let seq = Math.max(1, low); seq <= Math.min(high, uids.length); seq += 1) out.push(uids[seq - 1]!);
    }
    return out;
  }

  /**
   * The UIDs a sequence set names for SEARCH, which takes any set as a criterion: numbers beyond
   * the mailbox's simply match nothing (RFC 3501 6.4.4 and 9: `*` is the largest number in use),
   * where FETCH, STORE and COPY answer BAD.
   */
  matching(set: SequenceSet, byUid: boolean): number[] {
    if (byUid || set.kind === "saved") {
      const resolved = this.resolve(set, byUid);
      return resolved.ok ? resolved.uids : [];
    }
    return this.#uidsAtSequences(mergedSpans(set.ranges, this.#uids.length));
  }

  /**
   * SEARCH RETURN (SAVE) (RFC 5182): the messages `$` refers to from now on, by UID (so they
   * stay the same messages whatever is expunged; an expunged one drops out).
   */
  saveSearchResult(uids: readonly number[]): void {
    this.#saved = [...uids];
  }

  /** Queues what storage reports; nothing is announced until flush. */
  record(changes: MailboxChanges): void {
    if (this.#searchContexts.size > 0) {
      for (const message of changes.appended) this.#contextDirty.add(message.uid);
      for (const change of changes.flagsChanged) this.#contextDirty.add(change.uid);
    }
    const known = this.lastKnownUid;
    for (const message of changes.appended) {
      if (message.uid > (this.#pendingAppends.at(-1)?.uid ?? known)) this.#pendingAppends.push(message);
    }
    for (const uid of changes.expunged) {
      if (this.#pendingAppendOf(uid) !== undefined) {
        // Appended and expunged between two looks: flush drops it unannounced.
        this.#pendingExpunges.add(uid);
      } else if (this.sequenceNumberOf(uid) !== undefined) {
        this.#pendingExpunges.add(uid);
      }
      this.#pendingFlags.delete(uid);
    }
    for (const change of changes.flagsChanged) {
      if (this.#pendingExpunges.has(change.uid)) continue;
      const reported = this.#reported.get(change.uid);
      if (reported !== undefined && change.modSeq <= reported) continue;
      const pendingAppend = this.#pendingAppendOf(change.uid);
      if (pendingAppend) {
        if (change.modSeq >= pendingAppend.modSeq) {
          Object.assign(pendingAppend, { flags: change.flags, modSeq: change.modSeq });
        }
        continue;
      }
      const previous = this.#pendingFlags.get(change.uid);
      if (!previous || previous.modSeq < change.modSeq) this.#pendingFlags.set(change.uid, change);
    }
    this.#highestModSeq = Math.max(this.#highestModSeq, changes.highestModSeq);
  }

  /** The queued new message with this UID (they are queued ascending): a binary search. */
  #pendingAppendOf(uid: number): (MessageFlagsState & { recent?: boolean }) | undefined {
    const pending = this.#pendingAppends;
    let low = 0;
    let high = pending.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (pending[mid]!.uid < uid) low = mid + 1;
      else high = mid;
    }
    const found = pending[low];
    return found?.uid === uid ? found : undefined;
  }

  /**
   * These UIDs are \Recent to this session (it claimed them after queueing them): new messages
   * not yet announced take it; announced ones too, counted in the next RECENT.
   */
  markRecent(uids: Iterable<number>): void {
    const recent = new Set(uids);
    for (const message of this.#pendingAppends) {
      if (recent.delete(message.uid)) message.recent = true;
    }
    for (const uid of recent) {
      if (this.sequenceNumberOf(uid) !== undefined && !this.#pendingExpunges.has(uid)) this.#recent.add(uid);
    }
  }

  /** This session already told the client about these flags (STORE without .SILENT). */
  noteReported(uid: number, modSeq: number): void {
    this.#reported.set(uid, Math.max(modSeq, this.#reported.get(uid) ?? 0));
    const pending = this.#pendingFlags.get(uid);
    if (pending && pending.modSeq <= modSeq) this.#pendingFlags.delete(uid);
  }

  /** The FLAGS response (RFC 3501 7.2.6): the system flags and every keyword announced so far. */
  flagsResponse(): string {
    return `FLAGS (${[...SYSTEM_FLAGS, ...this.#announcedKeywords.values()].join(" ")})`;
  }

  /**
   * To send before these flags reach the client: a FLAGS response when they name a keyword it has
   * not been told of, since a client records the mailbox's flags from FLAGS alone (RFC 3501
   * 7.2.6). Undefined when every keyword is known. SELECT announces none: a keyword is announced
   * when the client first sees a message carry it.
   */
  announceKeywords(flagLists: Iterable<readonly string[]>): string | undefined {
    let added = false;
    for (const flags of flagLists) {
      for (const flag of flags) {
        if (flag.startsWith("\\")) continue;
        const lower = flag.toLowerCase();
        if (!this.#announcedKeywords.has(lower)) {
          this.#announcedKeywords.set(lower, flag);
          added = true;
        }
      }
    }
    return added ? this.flagsResponse() : undefined;
  }

  /** Keeps a SEARCH RETURN (UPDATE)'s result live (RFC 5267 4.2), replacing one of the same tag. */
  addSearchContext(context: {
    tag: string;
    uid: boolean;
    criteria: object;
    results: readonly number[];
    order?: SortedResult;
  }): void {
    this.#searchContexts.set(context.tag, { ...context, results: new Set(context.results) });
    // Messages not announced yet were not searched: they are looked at once they are.
    for (const message of this.#pendingAppends) this.#contextDirty.add(message.uid);
  }

  /** CANCELUPDATE (RFC 5267 4.2): false when no live search has this tag. */
  cancelSearchContext(tag: string): boolean {
    const cancelled = this.#searchContexts.delete(tag);
    if (this.#searchContexts.size === 0) this.#contextDirty.clear();
    return cancelled;
  }

  get searchContexts(): ReadonlyMap<string, SearchContext> {
    return this.#searchContexts;
  }

  /**
   * The messages the live searches must look at again: new, or with new flags, since they last
   * looked, and announced to the client (the others wait until they are).
   */
  takeContextDirty(): number[] {
    const ready = [...this.#contextDirty].filter((uid) => this.sequenceNumberOf(uid) !== undefined);
    for (const uid of ready) this.#contextDirty.delete(uid);
    for (const uid of this.#contextDirty) if (this.#pendingExpunges.has(uid)) this.#contextDirty.delete(uid);
    return ready.sort((a, b) => a - b);
  }

  /**
   * After looking at `looked` again, which of them now match: the live search's REMOVEFROM and
   * ADDTO (RFC 5267 4.3), or undefined when its result is unchanged. Position 0: a SEARCH result
   * has no order of its own to insert into.
   */
  updateSearchContext(
    tag: string,
    looked: readonly number[],
    matching: ReadonlySet<number>,
    /** The sort keys of the matching messages, for a live SORT. */
    keysOf?: ReadonlyMap<number, SortKeys>,
  ): string | undefined {
    const context = this.#searchContexts.get(tag);
    if (context === undefined) return undefined;
    const added: number[] = [];
    const removed: number[] = [];
    for (const uid of looked) {
      if (matching.has(uid) && !context.results.has(uid)) {
        const keys = keysOf?.get(uid);
        if (context.order !== undefined && keys === undefined) continue;
        if (keys !== undefined) context.order?.keys.set(uid, keys);
        context.results.add(uid);
        added.push(uid);
      } else if (!matching.has(uid) && context.results.delete(uid)) {
        removed.push(uid);
      }
    }
    return this.#contextLine(context, removed, added);
  }

  /**
   * The ESEARCH that tells of `removed` and `added` (RFC 5267 4.3): REMOVEFROM first, then ADDTO.
   * A SEARCH result has no order of its own: position 0. A SORT result is told as runs, each at
   * the position (1 the first) it has in the result as the runs before it left it; then the new
   * messages as runs at the position they take once the runs before them joined, each run's
   * messages listed in sort order.
   */
  #contextLine(
    context: SearchContext,
    removed: readonly number[],
    added: readonly number[],
  ): string | undefined {
    if (removed.length === 0 && added.length === 0) return undefined;
    const number = (uid: number) => (context.uid ? uid : this.sequenceNumberOf(uid)!);
    const parts = [`ESEARCH (TAG "${context.tag}")`];
    if (context.uid) parts.push("UID");
    const order = context.order;
    if (order === undefined) {
      const numbers = (uids: readonly number[]) => encodeSequenceNumbers(uids.map(number));
      if (removed.length > 0) parts.push(`REMOVEFROM (0 ${numbers(removed)})`);
      if (added.length > 0) parts.push(`ADDTO (0 ${numbers(added)})`);
      return parts.join(" ");
    }
    const runs = (list: readonly PositionedRun[]) =>
      list.map((run) => `${run.position} ${encodeOrderedSet(run.uids.map(number))}`).join(" ");
    if (removed.length > 0) parts.push(`REMOVEFROM (${runs(removeFromOrder(order, removed))})`);
    if (added.length > 0) parts.push(`ADDTO (${runs(insertIntoOrder(order, added))})`);
    return parts.join(" ");
  }

  /** The new messages the last flush announced (its EXISTS), ascending: NOTIFY's MessageNew FETCH. */
  get lastAnnounced(): readonly number[] {
    return this.#lastAnnounced;
  }

  /**
   * Messages of the session's view are expunged in storage and not yet announced: a search over
   * the index no longer finds them, whatever it asked.
   */
  get expungedUnannounced(): boolean {
    for (const uid of this.#pendingExpunges) if (this.sequenceNumberOf(uid) !== undefined) return true;
    return false;
  }

  /** True when something is waiting to be announced. */
  get hasPending(): boolean {
    return this.#pendingExpunges.size > 0 || this.#pendingAppends.length > 0 || this.#pendingFlags.size > 0;
  }

  /**
   * The untagged responses (without `* ` and CRLF) to send now, applying them to the session's view.
   * Order: expunges (unless held), then new messages (EXISTS/RECENT), then flag changes, so every
   * number is valid when sent, and a message MOVEd within the mailbox leaves before it comes back.
   */
  flush(options: FlushOptions): string[] {
    const lines: string[] = [];
    // Appended and expunged between two looks: the client never knew it, and never will.
    if (this.#pendingExpunges.size > 0 && this.#pendingAppends.length > 0) {
      this.#pendingAppends = this.#pendingAppends.filter((message) => {
        if (!this.#pendingExpunges.has(message.uid)) return true;
        this.#pendingExpunges.delete(message.uid);
        return false;
      });
    }

    if (!options.holdExpunge && this.#pendingExpunges.size > 0) {
      // One pass over the view: the expunged UIDs ascending, each with the number it has once
      // those before it are gone (what EXPUNGE responses say, RFC 3501 7.4.1), and the view
      // without them. O(n + k) whatever the number of expunges.
      const gone = this.#pendingExpunges;
      const expunged: number[] = [];
      const numbers: number[] = [];
      const kept: number[] = [];
      const uids = this.#uids;
      for (let i = 0; i < uids.length; i += 1) {
        const uid = uids[i]!;
        if (gone.has(uid)) {
          expunged.push(uid);
          numbers.push(i + 1 - (expunged.length - 1));
        } else {
          kept.push(uid);
        }
      }
      // Live searches lose expunged messages first, while their numbers still name them.
      for (const context of this.#searchContexts.values()) {
        const lost = expunged.filter((uid) => context.results.delete(uid));
        for (const uid of lost) context.order?.keys.delete(uid);
        const line = this.#contextLine(context, lost, []);
        if (line !== undefined) lines.push(line);
      }
      for (const uid of expunged) this.#contextDirty.delete(uid);
      if (options.qresync) {
        if (expunged.length > 0) lines.push(`VANISHED ${encodeSequenceNumbers(expunged)}`);
      } else {
        // Ascending with renumbering is what clients expect to see.
        for (const seq of numbers) lines.push(`${seq} EXPUNGE`);
      }
      this.#uids = kept;
      for (const uid of expunged) this.#recent.delete(uid);
      this.#announcedRecent = this.#recent.size;
      this.#pendingExpunges.clear();
      this.#announcedExists = this.#uids.length;
    }

    this.#lastAnnounced = this.#pendingAppends.map((message) => message.uid);
    if (this.#pendingAppends.length > 0) {
      for (const message of this.#pendingAppends) {
        this.#uids.push(message.uid);
        if (message.recent) this.#recent.add(message.uid);
        // Flags of new messages are not announced: the client fetches them (RFC 3501 7.3.1).
      }
      this.#pendingAppends = [];
    }
    if (this.#uids.length !== this.#announcedExists) {
      lines.push(`${this.#uids.length} EXISTS`);
      this.#announcedExists = this.#uids.length;
    }
    if (this.#recent.size !== this.#announcedRecent) {
      lines.push(`${this.#recent.size} RECENT`);
      this.#announcedRecent = this.#recent.size;
    }

    if (options.holdFlags) return lines;
    const flagChanges = [...this.#pendingFlags.values()]
      .sort((a, b) => a.uid - b.uid)
      .filter(
        (change) => this.sequenceNumberOf(change.uid) !== undefined && !this.#pendingExpunges.has(change.uid),
      );
    const flagsLine = this.announceKeywords(flagChanges.map((change) => change.flags));
    if (flagsLine !== undefined) lines.push(flagsLine);
    for (const change of flagChanges) {
      const seq = this.sequenceNumberOf(change.uid)!;
      const update = { ...change, recent: this.#recent.has(change.uid) };
      lines.push(
        flagUpdateLine(seq, update, { uid: true, flags: true, modSeq: options.condstore || options.qresync }),
      );
    }
    this.#pendingFlags.clear();
    this.#reported.clear();
    return lines;
  }
}
