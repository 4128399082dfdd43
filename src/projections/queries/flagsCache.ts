// A node's copy of the FLAGS and MODSEQ of its large mailboxes, what Dovecot's index file is to its
// `FETCH 1:* (FLAGS)`: a client's resync of a big mailbox reads it from memory instead of reading
// every row of the mailbox again. It is exact, never a lagging view: before each use it is
// brought to the mailbox's HIGHESTMODSEQ by the changes above the MODSEQ it holds (the changed
// messages and the tombstones of expunged ones, the same read as a session's own look, one round
// trip), and every change of a mailbox raises its HIGHESTMODSEQ in the transaction that makes it
// (the mailbox index is committed with the events). Pure: the reads are the caller's
// (src/projections/queries/index.ts).

/** One mailbox's messages, ascending by UID, at `modseq`. */
export interface FlagsSnapshot {
  readonly modseq: number;
  readonly count: number;
  readonly uids: Uint32Array;
  readonly modseqs: Float64Array;
  /** Each message's flags joined by spaces, as the index's packed read gives them. */
  readonly flags: readonly string[];
}

/** A change above the MODSEQ held: the message's flags now (new messages among them). */
export interface ChangedMessage {
  readonly uid: number;
  readonly modseq: number;
  readonly flags: readonly string[] | string;
}

/** Bytes a message costs here: its UID, its MODSEQ, a reference to a shared flags text. */
const BYTES_PER_MESSAGE = 4 + 8 + 8;

/** A mailbox's snapshot, kept up to date by `apply`. */
export class CachedMailboxFlags {
  #modseq: number;
  #count = 0;
  #uids: Uint32Array;
  #modseqs: Float64Array;
  #flags: string[];
  /** One string per distinct flag list: most messages share a handful. */
  readonly #texts = new Map<string, string>();

  constructor(modseq: number, capacity = 16) {
    this.#modseq = modseq;
    this.#uids = new Uint32Array(Math.max(16, capacity));
    this.#modseqs = new Float64Array(this.#uids.length);
    this.#flags = new Array<string>(this.#uids.length);
  }

  get modseq(): number {
    return this.#modseq;
  }

  get count(): number {
    return this.#count;
  }

  get bytes(): number {
    let texts = 0;
    for (const text of this.#texts.keys()) texts += 2 * text.length + 32;
    return this.#uids.length * BYTES_PER_MESSAGE + texts;
  }

  /** The shared copy of a flags text. */
  #intern(text: string): string {
    const known = this.#texts.get(text);
    if (known !== undefined) return known;
    this.#texts.set(text, text);
    return text;
  }

  #grow(needed: number): void {
    if (needed <= this.#uids.length) return;
    const capacity = Math.max(needed, this.#uids.length * 2);
    const uids = new Uint32Array(capacity);
    uids.set(this.#uids.subarray(0, this.#count));
    const modseqs = new Float64Array(capacity);
    modseqs.set(this.#modseqs.subarray(0, this.#count));
    this.#uids = uids;
    this.#modseqs = modseqs;
    this.#flags.length = capacity;
  }

  /** The index of the first UID ≥ `uid` (binary search). */
  #lowerBound(uid: number): number {
    let low = 0;
    let high = this.#count;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#uids[mid]! < uid) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /**
   * Brings the copy to `modseq`: `changed` (ascending by UID) are the messages whose MODSEQ is
   * above the one held, with their flags now; `vanished` the UIDs expunged since. O(n + k) at
   * worst, O(k) when nothing vanished and every new UID is above the last (appends).
   */
  apply(changed: readonly ChangedMessage[], vanished: readonly number[], modseq: number): void {
    const text = (flags: readonly string[] | string) =>
      this.#intern(typeof flags === "string" ? flags : flags.join(" "));
    const appended: ChangedMessage[] = [];
    let inPlace = vanished.length === 0;
    const last = this.#count > 0 ? this.#uids[this.#count - 1]! : 0;
    for (const message of changed) {
      if (message.uid > last) {
        appended.push(message);
        continue;
      }
      const at = this.#lowerBound(message.uid);
      if (at < this.#count && this.#uids[at] === message.uid) {
        this.#modseqs[at] = message.modseq;
        this.#flags[at] = text(message.flags);
      } else {
        // A UID below the last that the copy lacks: merged below.
        inPlace = false;
        appended.push(message);
      }
    }
    if (inPlace) {
      this.#grow(this.#count + appended.length);
      for (const message of appended) {
        this.#uids[this.#count] = message.uid;
        this.#modseqs[this.#count] = message.modseq;
        this.#flags[this.#count] = text(message.flags);
        this.#count += 1;
      }
    } else {
      this.#merge(
        [...appended].sort((a, b) => a.uid - b.uid),
        new Set(vanished),
        text,
      );
    }
    this.#modseq = modseq;
    if (this.#texts.size > 64 && this.#texts.size > this.#count) this.#forgetUnusedTexts();
  }

  /** Flag lists no message has any more are forgotten. */
  #forgetUnusedTexts(): void {
    const used = new Set(this.#flags.slice(0, this.#count));
    for (const known of this.#texts.keys()) if (!used.has(known)) this.#texts.delete(known);
  }

  /** Rebuilt in one pass: the kept messages and the added ones, both ascending. */
  #merge(
    added: readonly ChangedMessage[],
    vanished: ReadonlySet<number>,
    text: (flags: readonly string[] | string) => string,
  ): void {
    const capacity = Math.max(16, this.#count + added.length);
    const uids = new Uint32Array(capacity);
    const modseqs = new Float64Array(capacity);
    const flags = new Array<string>(capacity);
    let n = 0;
    let a = 0;
    const put = (uid: number, modseq: number, flagsText: string) => {
      uids[n] = uid;
      modseqs[n] = modseq;
      flags[n] = flagsText;
      n += 1;
    };
    for (let i = 0; i < this.#count; i++) {
      const uid = this.#uids[i]!;
      while (a < added.length && added[a]!.uid < uid) {
        const message = added[a++]!;
        if (!vanished.has(message.uid)) put(message.uid, message.modseq, text(message.flags));
      }
      if (a < added.length && added[a]!.uid === uid) {
        const message = added[a++]!;
        if (!vanished.has(uid)) put(uid, message.modseq, text(message.flags));
        continue;
      }
      if (!vanished.has(uid)) put(uid, this.#modseqs[i]!, this.#flags[i]!);
    }
    for (; a < added.length; a++) {
      const message = added[a]!;
      if (!vanished.has(message.uid)) put(message.uid, message.modseq, text(message.flags));
    }
    this.#uids = uids;
    this.#modseqs = modseqs;
    this.#flags = flags;
    this.#count = n;
  }

  /** The messages with UIDs from `lowest` to `highest`, sharing this copy's arrays (read at once). */
  slice(lowest: number, highest: number): FlagsSnapshot {
    const from = this.#lowerBound(lowest);
    const to = this.#lowerBound(highest + 1);
    return {
      modseq: this.#modseq,
      count: to - from,
      uids: this.#uids.subarray(from, to),
      modseqs: this.#modseqs.subarray(from, to),
      flags: this.#flags.slice(from, to),
    };
  }
}
