// The in-process notice bus of the embedded mode: same interface as Redis, one process.
import type { MailboxNotice, NoticeBus } from "./notice.ts";

export function createMemoryNoticeBus(): NoticeBus {
  const listeners = new Set<(notice: MailboxNotice) => void>();
  return {
    healthy: true,
    async publish(notices) {
      for (const notice of notices) {
        for (const listener of listeners) listener(notice);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
    },
  };
}
