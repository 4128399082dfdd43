// Delivery of one LMTP transaction's message: through the same APPEND handler as IMAP, one
// commit per recipient, so each recipient's reply (RFC 2033 4.2) says what happened to it and a
// 250 is only ever sent for a committed MessageAppended (DESIGN.md contract 1).
//
// As Dovecot's LMTP: a `Return-Path:` with the envelope sender heads the message, and a
// `Delivered-To:` with the recipient when the transaction has exactly one; with several, all of
// them get the same bytes, so the body is stored once (one digest) for every recipient.
//
// A retried delivery (the MTA lost our reply and sends again) is recognised: the recipient's
// mailbox already has, within the window, a MessageAppended delivered over LMTP with the same
// envelope sender, recipient, Message-ID and digest of the message as received (whatever other
// recipients the first attempt had). Such a recipient gets its 250 and nothing is stored again.
import { sql } from "slonik";
import { z } from "zod";
import type { DomainContext } from "../commands/context.ts";
import { appendMessage } from "../commands/messages/append.ts";
import { canonicalMailboxName } from "../commands/names.ts";
import type { BlobBody, BlobStore, StoredBlob } from "../events/blobs/blobStore.ts";
import { sha256Hex } from "../events/blobs/blobStore.ts";
import type { DatabasePool } from "../events/db.ts";
import type { EventMetadata } from "../events/envelope.ts";
import { summarizeHeader } from "../events/messageSummary.ts";

export interface DeliveryDeps {
  pool: DatabasePool;
  blobStore: BlobStore;
  appendLimit: number | null;
  onCommitted: () => void;
  nodeId: string;
  /** LMTP_DUPLICATE_WINDOW_MS; 0 turns recognition of retries off. */
  duplicateWindowMs: number;
  now?: () => Date;
}

export interface DeliveryTransaction {
  /** MAIL FROM; "" for <>. */
  mailFrom: string;
  remoteAddress: string | undefined;
  sessionId: string;
  /** Counts the session's transactions, for the events' correlation id. */
  transaction: number;
}

export interface DeliveryTarget {
  /** RCPT TO as the client gave it. */
  address: string;
  userId: string;
  mailboxName: string;
}

export type DeliveryOutcome =
  | { status: "delivered"; uid: number; mailboxName: string }
  | { status: "duplicate"; uid: number; mailboxName: string }
  | { status: "failed"; error: unknown };

/** The header lines Dovecot's LMTP adds (lmtp_local_add_headers), in its order. */
export function deliveryHeaders(mailFrom: string, recipients: readonly string[]): Buffer {
  let headers = `Return-Path: <${mailFrom}>\r\n`;
  if (recipients.length === 1) headers += `Delivered-To: ${recipients[0]}\r\n`;
  return Buffer.from(headers, "utf8");
}

/** The offset of the first LF not preceded by CR, or CR not followed by LF; -1 if none. */
export function bareLineBreak(message: Buffer): number {
  for (let at = message.indexOf(0x0a); at !== -1; at = message.indexOf(0x0a, at + 1)) {
    if (at === 0 || message[at - 1] !== 0x0d) return at;
  }
  for (let at = message.indexOf(0x0d); at !== -1; at = message.indexOf(0x0d, at + 1)) {
    if (message[at + 1] !== 0x0a) return at;
  }
  return -1;
}

/**
 * A blob store that stores `content` at most once for this delivery: after one recipient's
 * commit stored it, the others' appends refer to the same digest without sending it again.
 */
function storeOnce(inner: BlobStore, content: Buffer, stored: () => StoredBlob | undefined): BlobStore {
  const { stageInStatement: _staged, ...rest } = inner;
  return {
    ...rest,
    async put(body: BlobBody) {
      const known = stored();
      if (known && body === content) return known;
      return inner.put(body);
    },
  };
}

const duplicateRow = z.object({ uid: z.number() });

export async function deliver(
  deps: DeliveryDeps,
  transaction: DeliveryTransaction,
  targets: readonly DeliveryTarget[],
  received: Buffer,
): Promise<DeliveryOutcome[]> {
  const now = deps.now ?? (() => new Date());
  const content = Buffer.concat([
    deliveryHeaders(
      transaction.mailFrom,
      targets.map((target) => target.address),
    ),
    received,
  ]);
  const contentDigest = sha256Hex(received);
  const messageId = summarizeHeader(received).messageId ?? undefined;
  let stored: StoredBlob | undefined;
  const outcomes: DeliveryOutcome[] = [];
  for (const target of targets) {
    const metadata: Omit<EventMetadata, "userId"> = {
      actor: "lmtp",
      sessionId: transaction.sessionId,
      nodeId: deps.nodeId,
      ...(transaction.remoteAddress ? { remoteAddress: transaction.remoteAddress } : {}),
      command: { tag: "lmtp", name: "DATA" },
      correlationId: `${transaction.sessionId}:${transaction.transaction}`,
      delivery: {
        mailFrom: transaction.mailFrom,
        rcptTo: target.address,
        ...(messageId ? { messageId } : {}),
        contentDigest,
      },
    };
    try {
      const earlier =
        messageId && deps.duplicateWindowMs > 0
          ? await findEarlierDelivery(deps, target, metadata.delivery!, now())
          : null;
      if (earlier !== null) {
        outcomes.push({ status: "duplicate", uid: earlier, mailboxName: target.mailboxName });
        continue;
      }
      const ctx: DomainContext = {
        pool: deps.pool,
        blobStore: stored ? storeOnce(deps.blobStore, content, () => stored) : deps.blobStore,
        metadata,
        now,
        appendLimit: deps.appendLimit,
        onCommitted: deps.onCommitted,
      };
      const outcome = await appendMessage(ctx, {
        userId: target.userId,
        mailboxName: target.mailboxName,
        body: content,
      });
      stored ??= { digest: outcome.blobDigest, size: outcome.size };
      outcomes.push({ status: "delivered", uid: outcome.uid, mailboxName: target.mailboxName });
    } catch (error) {
      outcomes.push({ status: "failed", error });
    }
  }
  return outcomes;
}

/** The UID of this very delivery made earlier (a retry after a lost reply), or null. */
async function findEarlierDelivery(
  deps: DeliveryDeps,
  target: DeliveryTarget,
  delivery: NonNullable<EventMetadata["delivery"]>,
  now: Date,
): Promise<number | null> {
  const since = new Date(now.getTime() - deps.duplicateWindowMs);
  // One probe of events_lmtp_delivery_idx (0050_lmtp_deliveries.sql), then the rest of the key.
  const row = await deps.pool.maybeOne(sql.type(duplicateRow)`
    SELECT (e.data ->> 'uid')::bigint AS uid
    FROM events e
    JOIN mailboxes m ON e.stream_id = 'mailbox-' || m.id
    WHERE e.metadata -> 'delivery' ->> 'contentDigest' = ${delivery.contentDigest}
      AND (e.metadata -> 'delivery') IS NOT NULL
      AND m.user_id = ${target.userId} AND m.name = ${canonicalMailboxName(target.mailboxName)}
      AND m.status = 'selectable'
      AND e.type = 'MessageAppended'
      AND e.recorded_at >= ${sql.timestamp(since)}
      AND e.metadata ->> 'actor' = 'lmtp'
      AND e.metadata -> 'delivery' ->> 'mailFrom' = ${delivery.mailFrom}
      AND e.metadata -> 'delivery' ->> 'messageId' = ${delivery.messageId ?? ""}
      AND lower(e.metadata -> 'delivery' ->> 'rcptTo') = ${delivery.rcptTo.toLowerCase()}
    ORDER BY e.global_position DESC LIMIT 1`);
  return row?.uid ?? null;
}
