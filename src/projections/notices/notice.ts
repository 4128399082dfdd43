// The "mailbox changed" notice sent after each committed projection batch (DESIGN.md, the path
// of one APPEND). It is a doorbell: receivers re-read what changed since their last MODSEQ.

export interface MailboxNotice {
  userId: string;
  /** The mailbox whose view changed; null for a change to the user's namespace (user stream). */
  mailboxId: string | null;
  /** The user's applied position after the batch: every event of the user up to here is visible. */
  globalPosition: number;
  /** The mailbox's HIGHESTMODSEQ after the batch, when a mailbox stream event touched it. */
  highestModSeq: number | null;
}

export interface NoticeBus {
  /** Sends the notices of one committed batch. */
  publish(notices: readonly MailboxNotice[]): Promise<void>;
  /** Calls `listener` for every notice from any node; returns the unsubscribe. */
  subscribe(listener: (notice: MailboxNotice) => void): () => void;
  /**
   * Calls `listener` when the bus hears notices again after a time it may have missed some (its
   * subscription was lost and is back): whoever waits for notices should look for themselves.
   * A bus that cannot miss notices (in process) has none. Returns the unsubscribe.
   */
  onResync?(listener: () => void): () => void;
  /** False while notices may be missed (Redis down): waiters then poll PostgreSQL instead. */
  readonly healthy: boolean;
  close(): Promise<void>;
}

export function isMailboxNotice(value: unknown): value is MailboxNotice {
  if (typeof value !== "object" || value === null) return false;
  const notice = value as Record<string, unknown>;
  return (
    typeof notice.userId === "string" &&
    (notice.mailboxId === null || typeof notice.mailboxId === "string") &&
    typeof notice.globalPosition === "number" &&
    (notice.highestModSeq === null || typeof notice.highestModSeq === "number")
  );
}
