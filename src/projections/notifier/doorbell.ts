// What the doorbell says for a run of events (DESIGN.md, the path of one APPEND): one notice per
// mailbox that changed, with the HIGHESTMODSEQ its events reached, and one per user whose
// namespace changed. Pure: the notifier reads events (from Kafka, or the log in process) and
// publishes these at once, without touching PostgreSQL; receivers read the index themselves.
import type { RecordedEvent } from "../../events/envelope.ts";
import type { MailboxNotice } from "../notices/notice.ts";

const MAILBOX_STREAM = "mailbox-";

/** User-stream events that change a mailbox's own state (deleted, renamed, made, special use). */
function mailboxesNamedBy(event: RecordedEvent): string[] {
  const data = event.data as { mailboxId?: unknown; renames?: { mailboxId?: unknown }[] } | null;
  if (data === null || typeof data !== "object") return [];
  const named = typeof data.mailboxId === "string" ? [data.mailboxId] : [];
  if (Array.isArray(data.renames)) {
    for (const rename of data.renames) if (typeof rename.mailboxId === "string") named.push(rename.mailboxId);
  }
  return named;
}

export function doorbellNotices(events: readonly RecordedEvent[]): MailboxNotice[] {
  const mailboxes = new Map<string, MailboxNotice>();
  const users = new Map<string, MailboxNotice>();
  const ring = (userId: string, mailboxId: string, position: number, modseq: number | null) => {
    const known = mailboxes.get(mailboxId);
    const highestModSeq =
      modseq === null ? (known?.highestModSeq ?? null) : Math.max(modseq, known?.highestModSeq ?? 0);
    mailboxes.set(mailboxId, {
      userId,
      mailboxId,
      globalPosition: Math.max(position, known?.globalPosition ?? 0),
      highestModSeq,
    });
  };
  for (const event of events) {
    const userId = event.metadata.userId;
    if (event.streamId.startsWith(MAILBOX_STREAM)) {
      // A mailbox stream's version is its MODSEQ (src/events/domain/mailboxEvents.ts).
      ring(userId, event.streamId.slice(MAILBOX_STREAM.length), event.globalPosition, event.streamVersion);
      continue;
    }
    for (const mailboxId of mailboxesNamedBy(event)) ring(userId, mailboxId, event.globalPosition, null);
    users.set(userId, {
      userId,
      mailboxId: null,
      globalPosition: Math.max(event.globalPosition, users.get(userId)?.globalPosition ?? 0),
      highestModSeq: null,
    });
  }
  return [...mailboxes.values(), ...users.values()];
}
