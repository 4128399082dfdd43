// Routes one bus's notices to listeners by mailbox and by user. A gateway node subscribes to the
// bus once; each notice then costs a lookup or two, not a call per session of the node (a node
// holds thousands of sessions, most of them idle in some other mailbox).
import type { MailboxNotice, NoticeBus } from "./notice.ts";

type Listener = (notice: MailboxNotice) => void;

export interface NoticeRouter {
  /** Calls `listener` for the notices of one mailbox; returns the unsubscribe. */
  onMailbox(mailboxId: string, listener: Listener): () => void;
  /** Calls `listener` for the notices of one user (every mailbox, and the namespace). */
  onUser(userId: string, listener: Listener): () => void;
  /**
   * Calls `listener` when notices may have been missed (the bus's onResync), and every
   * `pollIntervalMs` while the bus is unhealthy (Redis unreachable): whoever waits for notices
   * looks for itself then.
   */
  onResync(listener: () => void): () => void;
  /** Stops listening to the bus. */
  close(): void;
}

function add(map: Map<string, Set<Listener>>, key: string, listener: Listener): () => void {
  let listeners = map.get(key);
  if (!listeners) {
    listeners = new Set();
    map.set(key, listeners);
  }
  listeners.add(listener);
  return () => {
    const current = map.get(key);
    if (!current) return;
    current.delete(listener);
    if (current.size === 0) map.delete(key);
  };
}

function call(listeners: Set<Listener> | undefined, notice: MailboxNotice) {
  if (!listeners) return;
  // A copy: a listener may unsubscribe (or subscribe) while the notice is handed round.
  for (const listener of [...listeners]) listener(notice);
}

export interface NoticeRouterOptions {
  /** How often listeners are told to look while the bus is unhealthy; default 1 s. */
  pollIntervalMs?: number;
}

export function createNoticeRouter(bus: NoticeBus, options: NoticeRouterOptions = {}): NoticeRouter {
  const byMailbox = new Map<string, Set<Listener>>();
  const byUser = new Map<string, Set<Listener>>();
  const resync = new Set<() => void>();
  const unsubscribe = bus.subscribe((notice) => {
    call(byUser.get(notice.userId), notice);
    if (notice.mailboxId !== null) call(byMailbox.get(notice.mailboxId), notice);
  });
  const resyncAll = () => {
    for (const listener of [...resync]) listener();
  };
  const unsubscribeResync = bus.onResync?.(resyncAll);
  const poll = setInterval(() => {
    if (!bus.healthy) resyncAll();
  }, options.pollIntervalMs ?? 1_000);
  poll.unref();
  return {
    onMailbox: (mailboxId, listener) => add(byMailbox, mailboxId, listener),
    onUser: (userId, listener) => add(byUser, userId, listener),
    onResync(listener) {
      resync.add(listener);
      return () => resync.delete(listener);
    },
    close() {
      clearInterval(poll);
      unsubscribe();
      unsubscribeResync?.();
      resync.clear();
      byMailbox.clear();
      byUser.clear();
    },
  };
}
