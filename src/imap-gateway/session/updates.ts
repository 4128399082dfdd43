// Unilateral updates (EXISTS, EXPUNGE, FETCH FLAGS, NOTIFY's STATUS and LIST) waiting for a moment
// the session may send them: a command's end, IDLE, or at once under NOTIFY. EXPUNGE is held back
// while the client's sequence numbers must stay as they are (RFC 3501 7.4.1: during FETCH, STORE,
// SEARCH, and before a UID command resolves its set).
import type { ResponsePart } from "../codec/index.ts";
import type { Selection, SessionNotifications, UnilateralUpdate, UpdateSource } from "../module.ts";

export interface FlushOptions {
  /** EXPUNGE waits: the client's sequence numbers in the command under way are the ones it had. */
  readonly holdExpunge?: boolean;
  /** Sent between commands under NOTIFY: only what its SELECTED group asked for (RFC 5465 5). */
  readonly unsolicited?: boolean;
}

/** What a flush writes to and checks. */
export interface FlushTarget {
  readonly selected: Selection | undefined;
  readonly notifications: SessionNotifications | undefined;
  readonly closed: boolean;
  /** Writes one untagged response. */
  untagged(...parts: ResponsePart[]): Promise<void>;
}

export class UpdateQueue {
  readonly #updates: UnilateralUpdate[] = [];
  #sources: UpdateSource[] = [];
  readonly #listeners = new Set<() => void>();

  queue(update: UnilateralUpdate): void {
    this.#updates.push(update);
    this.signal();
  }

  addSource(source: UpdateSource): void {
    this.#sources.push(source);
  }

  /** A new mailbox is selected, or none: what was queued for the old one is dropped. */
  clear(): void {
    this.#updates.length = 0;
    this.#sources = [];
  }

  /** Listeners (IDLE) learn that there may be something to send. */
  onUpdate(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  signal(): void {
    for (const listener of this.#listeners) listener();
  }

  /** The session closed: nobody listens any more. */
  closeListeners(): void {
    this.#listeners.clear();
  }

  async flush(target: FlushTarget, options: FlushOptions = {}): Promise<void> {
    const { selected, notifications } = target;
    const allowed = options.unsolicited && notifications !== undefined ? notifications.selected : undefined;
    const holdExpunge = options.holdExpunge === true || allowed?.expunges === false;
    const holdFlags = allowed?.flags === false;
    if (allowed !== null) {
      if (selected?.pendingUpdates !== undefined && !target.closed) {
        for (const line of await selected.pendingUpdates({ holdExpunge, holdFlags })) {
          await target.untagged(line);
        }
      }
      for (const source of this.#sources) {
        if (target.closed || target.selected !== selected) break;
        for (const line of await source({ holdExpunge })) await target.untagged(line);
      }
    }
    if (notifications !== undefined && !target.closed) {
      for (const line of notifications.take()) await target.untagged(line);
    }
    if (this.#updates.length === 0 || allowed === null) return;
    const held: UnilateralUpdate[] = [];
    for (const update of this.#updates.splice(0)) {
      if (update.expunge && holdExpunge) held.push(update);
      else await target.untagged(...update.parts);
    }
    this.#updates.unshift(...held);
  }
}
