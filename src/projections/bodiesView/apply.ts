// Applies domain events to one version of the mailbox view (the tables of schema
// proj_mailbox_v<N>, infra/migrations/0010_projection_mailbox.sql). Runs inside the batch's
// transaction; the runner commits it together with the user positions this moves.
//
// Messages arriving in runs (APPEND, COPY, MOVE: most of the log) are inserted set-wise, one
// statement per run, so a rebuild goes at tens of thousands of events per second.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import {
  type ArrivingMessage,
  type DomainEvent,
  MAILBOX_HIERARCHY_SEPARATOR,
  type MailboxEvent,
  parseDomainEvent,
  type UserEvent,
} from "../../events/domain/index.ts";
import type { RecordedEvent } from "../../events/envelope.ts";
import type { MailboxNotice } from "../notices/notice.ts";
import { type DerivedMessage, MISSING_BLOB } from "./derive.ts";

const SEEN = "\\Seen";

export interface ApplyContext {
  /** The schema of the version written, e.g. proj_mailbox_v1. */
  schema: string;
  /** Derived blob fields by digest, prepared before the transaction opened. */
  derived: ReadonlyMap<string, DerivedMessage>;
  /**
   * Each user's position before the batch, when the caller has locked those rows and moved them
   * to the batch's last positions already (the live projector, in one round trip).
   */
  positions?: ReadonlyMap<string, number>;
}

export interface ApplyResult {
  notices: MailboxNotice[];
  applied: number;
  /** Events at or below their user's applied position: deliveries seen before. */
  duplicates: number;
  /** The global positions of those duplicates. */
  duplicatePositions: number[];
  /** Events of a type or version this build does not know, passed over. */
  unknown: RecordedEvent[];
}

/** Digests of the bodies the events bring into mailboxes: what `derived` must hold. */
export function arrivingDigests(events: readonly RecordedEvent[]): string[] {
  const digests: string[] = [];
  for (const event of events) {
    const data = event.data as { blobDigest?: unknown; messages?: { blobDigest?: unknown }[] };
    if (event.type === "MessageAppended" && typeof data.blobDigest === "string")
      digests.push(data.blobDigest);
    if (
      (event.type === "MessagesCopiedIn" || event.type === "MessagesMovedIn") &&
      Array.isArray(data.messages)
    ) {
      for (const message of data.messages) {
        if (typeof message.blobDigest === "string") digests.push(message.blobDigest);
      }
    }
  }
  return digests;
}

export const parentNameOf = (name: string): string | null => {
  const cut = name.lastIndexOf(MAILBOX_HIERARCHY_SEPARATOR);
  return cut > 0 ? name.slice(0, cut) : null;
};

const mailboxIdOfStream = (streamId: string): string | null =>
  streamId.startsWith("mailbox-") ? streamId.slice("mailbox-".length) : null;

interface MessageRow {
  mailbox_id: string;
  uid: number;
  modseq: number;
  flags: string[];
  internal_date: string;
  size: number;
  blob_digest: string;
  sent_date: string | null;
  message_id: string | null;
  /** From the event's header summary, only when the blob could not be read. */
  summary_from: string | null;
  summary_to: string | null;
  summary_cc: string | null;
  summary_subject: string | null;
}

interface DerivedRow {
  blob_digest: string;
  envelope: unknown;
  structure: unknown;
  search_from: string;
  search_to: string;
  search_cc: string;
  search_bcc: string;
  search_subject: string;
  search_headers: [string, string][];
  search_header_text: string;
  search_body: string;
}

const digestRow = z.object({ blob_digest: z.string() });

class MailboxViewWriter {
  readonly #tx: CommonQueryMethods;
  readonly #context: ApplyContext;
  #arrivals: MessageRow[] = [];
  #derivedRows = new Map<string, DerivedRow>();
  /** Bodies whose count reached zero in this batch: removed at its end unless one came back. */
  readonly #released = new Set<string>();

  constructor(tx: CommonQueryMethods, context: ApplyContext) {
    this.#tx = tx;
    this.#context = context;
  }

  table(name: string) {
    return sql.identifier([this.#context.schema, name]);
  }

  arrive(mailboxId: string, modseq: number, message: Omit<ArrivingMessage, "sourceUid">) {
    const derived = this.#context.derived.get(message.blobDigest) ?? MISSING_BLOB;
    const summary = message.headerSummary;
    const missing = derived.structure === null;
    if (!missing && !this.#derivedRows.has(message.blobDigest)) {
      this.#derivedRows.set(message.blobDigest, {
        blob_digest: message.blobDigest,
        envelope: derived.envelope,
        structure: derived.structure,
        search_from: derived.searchFrom,
        search_to: derived.searchTo,
        search_cc: derived.searchCc,
        search_bcc: derived.searchBcc,
        search_subject: derived.searchSubject,
        search_headers: derived.searchHeaders,
        search_header_text: derived.searchHeaderText,
        search_body: derived.searchBody,
      });
    }
    this.#arrivals.push({
      mailbox_id: mailboxId,
      uid: message.uid,
      modseq,
      flags: message.flags,
      internal_date: message.internalDate,
      size: message.size,
      blob_digest: message.blobDigest,
      sent_date: summary.date,
      message_id: summary.messageId,
      summary_from: missing ? summary.from.join("\n").toLowerCase() : null,
      summary_to: missing ? summary.to.join("\n").toLowerCase() : null,
      summary_cc: missing ? summary.cc.join("\n").toLowerCase() : null,
      summary_subject: missing ? (summary.subject ?? "").toLowerCase() : null,
    });
  }

  /**
   * Writes the pending arrivals and moves their mailboxes' counters, in one statement. What is
   * derived from a body travels and is stored once per distinct body (COPY, re-delivery share one).
   */
  async flush() {
    if (this.#arrivals.length === 0) return;
    const rows = this.#arrivals;
    // In digest order: two transactions inserting the same bodies take their locks in one order.
    const derivedRows = [...this.#derivedRows.values()].sort((a, b) =>
      a.blob_digest < b.blob_digest ? -1 : a.blob_digest > b.blob_digest ? 1 : 0,
    );
    this.#arrivals = [];
    this.#derivedRows = new Map();
    // A body's row counts the messages inserted with it (refs): a message already there (ON
    // CONFLICT) does not count twice.
    await this.#tx.query(sql.unsafe`
      WITH inserted AS (
        INSERT INTO ${this.table("messages")} (
          mailbox_id, uid, modseq, flags, internal_date, size, blob_digest, sent_date, message_id,
          summary_from, summary_to, summary_cc, summary_subject)
        SELECT * FROM json_to_recordset(${JSON.stringify(rows)}::json) AS r(
          mailbox_id text, uid bigint, modseq bigint, flags text[], internal_date timestamptz, size bigint,
          blob_digest text, sent_date timestamptz, message_id text,
          summary_from text, summary_to text, summary_cc text, summary_subject text)
        ON CONFLICT (mailbox_id, uid) DO NOTHING
        RETURNING mailbox_id, uid, modseq, size, flags, blob_digest
      ), arrived AS (
        SELECT blob_digest, count(*) AS refs FROM inserted GROUP BY blob_digest
      ), bodies AS (
        INSERT INTO ${this.table("message_bodies")} AS b (
          blob_digest, envelope, structure, search_from, search_to, search_cc, search_bcc, search_subject,
          search_headers, search_header_text, search_body, refs)
        SELECT d.*, a.refs FROM json_to_recordset(${JSON.stringify(derivedRows)}::json) AS d(
          blob_digest text, envelope jsonb, structure jsonb, search_from text, search_to text, search_cc text,
          search_bcc text, search_subject text, search_headers jsonb, search_header_text text, search_body text)
        JOIN arrived AS a USING (blob_digest)
        ORDER BY d.blob_digest
        ON CONFLICT (blob_digest) DO UPDATE SET refs = b.refs + EXCLUDED.refs
      ), totals AS (
        SELECT mailbox_id, count(*) AS added, count(*) FILTER (WHERE NOT (${SEEN} = ANY (flags))) AS unseen,
          sum(size) AS size, max(uid) AS max_uid, max(modseq) AS max_modseq
        FROM inserted GROUP BY mailbox_id
      )
      UPDATE ${this.table("mailboxes")} AS m SET
        message_count = m.message_count + t.added,
        unseen_count = m.unseen_count + t.unseen,
        total_size = m.total_size + t.size,
        uid_next = greatest(m.uid_next, t.max_uid + 1),
        highest_modseq = greatest(m.highest_modseq, t.max_modseq)
      FROM totals AS t WHERE m.mailbox_id = t.mailbox_id`);
  }

  /**
   * A CTE `released` for a statement whose CTE `gone` deletes messages (returning blob_digest and
   * summary_subject): the bodies they arrived with (summary_* null) count them no more. Returns
   * the counts it moved; the caller notes those at zero (noteReleased).
   */
  releaseBodies() {
    return sql.fragment`released AS (
        UPDATE ${this.table("message_bodies")} AS b SET refs = b.refs - c.n
        FROM (
          SELECT blob_digest, count(*) AS n FROM gone WHERE summary_subject IS NULL GROUP BY blob_digest
        ) AS c
        WHERE b.blob_digest = c.blob_digest
        RETURNING b.blob_digest, b.refs
      )`;
  }

  noteReleased(digests: readonly string[]) {
    for (const digest of digests) this.#released.add(digest);
  }

  /** Deletes messages (`gone`, a CTE) and releases their bodies, in one statement. */
  async deleteMessages(gone: ReturnType<typeof sql.fragment>) {
    this.noteReleased(
      await this.#tx.anyFirst(sql.type(digestRow)`
        WITH gone AS (${gone}), ${this.releaseBodies()}
        SELECT blob_digest FROM released WHERE refs = 0`),
    );
  }

  /**
   * At the end of the batch: the bodies no message refers to any more go. Checked again here, so
   * a body that arrived again later in the batch (or in a batch that committed meanwhile) stays.
   */
  async removeReleasedBodies() {
    if (this.#released.size === 0) return;
    const digests = [...this.#released].sort();
    this.#released.clear();
    await this.#tx.query(sql.unsafe`
      DELETE FROM ${this.table("message_bodies")}
      WHERE blob_digest = ANY (${sql.array(digests, "text")}) AND refs = 0`);
  }

  async applyUserEvent(userId: string, event: UserEvent) {
    const tx = this.#tx;
    switch (event.type) {
      case "UserCreated":
      case "UserPasswordChanged":
      case "UserAppendLimitSet":
      case "UserQuotaSet":
        return;
      case "UserDeleted": {
        const owned = sql.fragment`SELECT mailbox_id FROM ${this.table("mailboxes")} WHERE user_id = ${userId}`;
        await this.deleteMessages(sql.fragment`
          DELETE FROM ${this.table("messages")} WHERE mailbox_id IN (${owned})
          RETURNING blob_digest, summary_subject`);
        await tx.query(sql.unsafe`DELETE FROM ${this.table("tombstones")} WHERE mailbox_id IN (${owned})`);
        await tx.query(sql.unsafe`DELETE FROM ${this.table("mailboxes")} WHERE user_id = ${userId}`);
        await tx.query(sql.unsafe`DELETE FROM ${this.table("subscriptions")} WHERE user_id = ${userId}`);
        return;
      }
      case "MailboxCreated": {
        const data = event.data;
        if (data.replacesMailboxId !== null && data.replacesMailboxId !== data.mailboxId) {
          await tx.query(sql.unsafe`
            DELETE FROM ${this.table("mailboxes")} WHERE mailbox_id = ${data.replacesMailboxId}`);
        }
        await tx.query(sql.unsafe`
          INSERT INTO ${this.table("mailboxes")} AS m
            (mailbox_id, user_id, name, parent_name, status, uid_validity, uid_next, special_use)
          VALUES (${data.mailboxId}, ${userId}, ${data.name}, ${parentNameOf(data.name)}, 'selectable',
            ${data.uidValidity}, ${data.uidNext}, ${data.specialUse})
          ON CONFLICT (mailbox_id) DO UPDATE SET
            name = EXCLUDED.name, parent_name = EXCLUDED.parent_name, status = 'selectable',
            uid_validity = EXCLUDED.uid_validity, uid_next = greatest(m.uid_next, EXCLUDED.uid_next),
            special_use = EXCLUDED.special_use`);
        return;
      }
      case "MailboxRenamed": {
        const renames = event.data.renames;
        await tx.query(sql.unsafe`
          UPDATE ${this.table("mailboxes")} AS m
          SET name = r.name, parent_name = nullif(r.parent_name_or_empty, '')
          FROM unnest(${sql.array(
            renames.map((r) => r.mailboxId),
            "text",
          )}::text[], ${sql.array(
            renames.map((r) => r.to),
            "text",
          )}::text[], ${sql.array(
            renames.map((r) => parentNameOf(r.to) ?? ""),
            "text",
          )}::text[]) AS r(mailbox_id, name, parent_name_or_empty)
          WHERE m.mailbox_id = r.mailbox_id AND m.user_id = ${userId}`);
        return;
      }
      case "MailboxDeleted": {
        const { mailboxId, keptAsNoselect } = event.data;
        await this.deleteMessages(sql.fragment`
          DELETE FROM ${this.table("messages")} WHERE mailbox_id = ${mailboxId}
          RETURNING blob_digest, summary_subject`);
        await tx.query(sql.unsafe`DELETE FROM ${this.table("tombstones")} WHERE mailbox_id = ${mailboxId}`);
        if (keptAsNoselect) {
          await tx.query(sql.unsafe`
            UPDATE ${this.table("mailboxes")} SET status = 'noselect', message_count = 0, unseen_count = 0,
              total_size = 0, special_use = NULL
            WHERE mailbox_id = ${mailboxId}`);
        } else {
          await tx.query(sql.unsafe`DELETE FROM ${this.table("mailboxes")} WHERE mailbox_id = ${mailboxId}`);
        }
        return;
      }
      case "MailboxSubscribed":
        await tx.query(sql.unsafe`
          INSERT INTO ${this.table("subscriptions")} (user_id, name) VALUES (${userId}, ${event.data.name})
          ON CONFLICT DO NOTHING`);
        return;
      case "MailboxUnsubscribed":
        await tx.query(sql.unsafe`
          DELETE FROM ${this.table("subscriptions")} WHERE user_id = ${userId} AND name = ${event.data.name}`);
        return;
      case "MailboxSpecialUseSet":
        await tx.query(sql.unsafe`
          UPDATE ${this.table("mailboxes")} SET special_use = ${event.data.specialUse}
          WHERE mailbox_id = ${event.data.mailboxId}`);
        return;
      case "MailboxAppendLimitSet":
        await tx.query(sql.unsafe`
          UPDATE ${this.table("mailboxes")} SET append_limit = ${event.data.appendLimit}
          WHERE mailbox_id = ${event.data.mailboxId}`);
        return;
      default: {
        const unhandled: never = event;
        throw new Error(`unhandled user event ${(unhandled as UserEvent).type}`);
      }
    }
  }

  async applyMailboxEvent(userId: string, mailboxId: string, event: MailboxEvent) {
    const tx = this.#tx;
    switch (event.type) {
      case "MailboxInitialized": {
        const data = event.data;
        await tx.query(sql.unsafe`
          INSERT INTO ${this.table("mailboxes")} AS m (mailbox_id, user_id, uid_validity, uid_next, highest_modseq)
          VALUES (${mailboxId}, ${userId}, ${data.uidValidity}, ${data.uidNext}, ${data.modseq})
          ON CONFLICT (mailbox_id) DO UPDATE SET
            uid_validity = coalesce(m.uid_validity, EXCLUDED.uid_validity),
            uid_next = greatest(m.uid_next, EXCLUDED.uid_next),
            highest_modseq = greatest(m.highest_modseq, EXCLUDED.highest_modseq)`);
        return;
      }
      case "MessageAppended":
        this.arrive(mailboxId, event.data.modseq, event.data);
        return;
      case "MessagesCopiedIn":
      case "MessagesMovedIn":
        for (const message of event.data.messages) this.arrive(mailboxId, event.data.modseq, message);
        return;
      case "MessageFlagsChanged": {
        const changes = event.data.messages.map((m) => ({ uid: m.uid, flags: m.flags }));
        await tx.query(sql.unsafe`
          WITH changes AS (
            SELECT * FROM jsonb_to_recordset(${JSON.stringify(changes)}::jsonb) AS c(uid bigint, flags text[])
          ), before AS (
            SELECT m.uid, ${SEEN} = ANY (m.flags) AS was_seen
            FROM ${this.table("messages")} AS m JOIN changes AS c USING (uid)
            WHERE m.mailbox_id = ${mailboxId}
          ), updated AS (
            UPDATE ${this.table("messages")} AS m SET flags = c.flags, modseq = ${event.data.modseq}
            FROM changes AS c WHERE m.mailbox_id = ${mailboxId} AND m.uid = c.uid
            RETURNING m.uid, ${SEEN} = ANY (c.flags) AS now_seen
          )
          UPDATE ${this.table("mailboxes")} SET
            unseen_count = unseen_count
              + (SELECT count(*) FILTER (WHERE b.was_seen AND NOT u.now_seen)
                      - count(*) FILTER (WHERE NOT b.was_seen AND u.now_seen)
                 FROM before AS b JOIN updated AS u USING (uid)),
            highest_modseq = greatest(highest_modseq, ${event.data.modseq})
          WHERE mailbox_id = ${mailboxId}`);
        return;
      }
      case "MessagesExpunged":
      case "MessagesMovedOut": {
        const { uids, modseq } = event.data;
        const released = await tx.anyFirst(sql.type(digestRow)`
          WITH gone AS (
            DELETE FROM ${this.table("messages")}
            WHERE mailbox_id = ${mailboxId} AND uid = ANY (${sql.array(uids, "int8")})
            RETURNING uid, size, flags, blob_digest, summary_subject
          ), ${this.releaseBodies()}, tombstoned AS (
            INSERT INTO ${this.table("tombstones")} (mailbox_id, uid, modseq)
            SELECT ${mailboxId}, uid, ${modseq} FROM unnest(${sql.array(uids, "int8")}) AS uid
            ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq
          ), counters AS (
            UPDATE ${this.table("mailboxes")} SET
              message_count = message_count - (SELECT count(*) FROM gone),
              unseen_count = unseen_count - (SELECT count(*) FROM gone WHERE NOT (${SEEN} = ANY (flags))),
              total_size = total_size - (SELECT coalesce(sum(size), 0) FROM gone),
              highest_modseq = greatest(highest_modseq, ${modseq})
            WHERE mailbox_id = ${mailboxId}
          )
          SELECT blob_digest FROM released WHERE refs = 0`);
        this.noteReleased(released);
        return;
      }
      default: {
        const unhandled: never = event;
        throw new Error(`unhandled mailbox event ${(unhandled as MailboxEvent).type}`);
      }
    }
  }
}

const positionRow = z.object({ user_id: z.string(), global_position: z.number() });

const isArrival = (type: string) =>
  type === "MessageAppended" || type === "MessagesCopiedIn" || type === "MessagesMovedIn";

/**
 * Locks the batch's users' positions (so two projector instances never interleave on one user),
 * applies every event above its user's position, and moves those positions.
 */
export async function applyMailboxEvents(
  tx: CommonQueryMethods,
  events: readonly RecordedEvent[],
  context: ApplyContext,
): Promise<ApplyResult> {
  const positionsTable = sql.identifier([context.schema, "user_positions"]);
  const userIds = [...new Set(events.map((event) => event.metadata.userId))].sort();
  const result: ApplyResult = { notices: [], applied: 0, duplicates: 0, duplicatePositions: [], unknown: [] };
  if (userIds.length === 0) return result;

  let applied: Map<string, number>;
  if (context.positions) {
    applied = new Map(userIds.map((userId) => [userId, context.positions!.get(userId) ?? 0] as const));
  } else {
    // Creates the missing rows and locks them all, in user order (so batches never deadlock), in
    // one statement: ON CONFLICT DO UPDATE locks the existing row and returns its position.
    const locked = await tx.any(sql.type(positionRow)`
      INSERT INTO ${positionsTable} AS p (user_id, global_position)
      SELECT user_id, 0 FROM unnest(${sql.array(userIds, "text")}::text[]) AS user_id ORDER BY user_id
      ON CONFLICT (user_id) DO UPDATE SET global_position = p.global_position
      RETURNING user_id, global_position`);
    applied = new Map<string, number>(locked.map((row) => [row.user_id, row.global_position] as const));
  }
  const startPositions = new Map(applied);

  const writer = new MailboxViewWriter(tx, context);
  const touchedMailboxes = new Map<string, { userId: string; highestModSeq: number | null }>();
  const touchedUserStreams = new Set<string>();

  for (const event of events) {
    const userId = event.metadata.userId;
    if (event.globalPosition <= (applied.get(userId) ?? 0)) {
      result.duplicates += 1;
      result.duplicatePositions.push(event.globalPosition);
      continue;
    }
    applied.set(userId, event.globalPosition);
    let domainEvent: DomainEvent;
    try {
      domainEvent = parseDomainEvent(event);
    } catch {
      result.unknown.push(event);
      continue;
    }
    result.applied += 1;
    if (!isArrival(domainEvent.type)) await writer.flush();
    const mailboxId = mailboxIdOfStream(event.streamId);
    if (mailboxId !== null) {
      await writer.applyMailboxEvent(userId, mailboxId, domainEvent as MailboxEvent);
      const modseq = (domainEvent.data as { modseq: number }).modseq;
      const touched = touchedMailboxes.get(mailboxId);
      touchedMailboxes.set(mailboxId, {
        userId,
        highestModSeq: Math.max(modseq, touched?.highestModSeq ?? 0),
      });
    } else {
      await writer.applyUserEvent(userId, domainEvent as UserEvent);
      touchedUserStreams.add(userId);
      const data = domainEvent.data as { mailboxId?: unknown; renames?: { mailboxId: string }[] };
      const named = typeof data.mailboxId === "string" ? [data.mailboxId] : [];
      for (const rename of data.renames ?? []) named.push(rename.mailboxId);
      for (const id of named) {
        if (!touchedMailboxes.has(id)) touchedMailboxes.set(id, { userId, highestModSeq: null });
      }
    }
  }
  await writer.flush();
  await writer.removeReleasedBodies();

  const moved = userIds.filter((userId) => applied.get(userId) !== startPositions.get(userId));
  if (moved.length > 0 && !context.positions) {
    await tx.query(sql.unsafe`
      UPDATE ${positionsTable} AS p SET global_position = u.position
      FROM unnest(${sql.array(moved, "text")}::text[], ${sql.array(
        moved.map((userId) => applied.get(userId)!),
        "int8",
      )}::int8[]) AS u(user_id, position)
      WHERE p.user_id = u.user_id`);
  }
  for (const [mailboxId, touched] of touchedMailboxes) {
    result.notices.push({
      userId: touched.userId,
      mailboxId,
      globalPosition: applied.get(touched.userId)!,
      highestModSeq: touched.highestModSeq,
    });
  }
  for (const userId of touchedUserStreams) {
    result.notices.push({
      userId,
      mailboxId: null,
      globalPosition: applied.get(userId)!,
      highestModSeq: null,
    });
  }
  return result;
}
