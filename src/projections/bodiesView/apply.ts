// Applies domain events to one version of the bodies view (the tables of schema proj_bodies_v<N>,
// infra/migrations/0041_projection_bodies.sql): what is derived from each distinct body that a
// message in some mailbox has, and how far each mailbox's events are applied. Runs inside the
// batch's transaction; the runner commits it with the user positions this moves.
//
// Flags, UIDs, counters and tombstones are not here: they are the mailbox index's, written with
// the events (src/commands/writeModel.ts). This view only follows which bodies are in use.
// Arrivals (APPEND, COPY, MOVE: most of the log) are inserted set-wise, one statement per run.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import {
  type ArrivingMessage,
  type DomainEvent,
  type MailboxEvent,
  parseDomainEvent,
  type UserEvent,
} from "../../events/domain/index.ts";
import type { RecordedEvent } from "../../events/envelope.ts";
import { type DerivedMessage, MISSING_BLOB } from "./derive.ts";

export interface ApplyContext {
  /** The schema of the version written, e.g. proj_bodies_v1. */
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

const mailboxIdOfStream = (streamId: string): string | null =>
  streamId.startsWith("mailbox-") ? streamId.slice("mailbox-".length) : null;

interface RefRow {
  mailbox_id: string;
  uid: number;
  blob_digest: string;
  counted: boolean;
}

/** The columns of message_bodies but refs, in table order. */
export interface DerivedRow {
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
  /** RFC 8970 PREVIEW (0053_projection_bodies_preview.sql). */
  preview: string;
}

/** The row a derivation is stored as; null for a body whose blob could not be read. */
export function derivedRowOf(digest: string, derived: DerivedMessage): DerivedRow | null {
  if (derived.structure === null) return null;
  return {
    blob_digest: digest,
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
    preview: derived.preview,
  };
}

/** The message_bodies columns but refs, as json_to_recordset's column list. */
export const DERIVED_ROW_COLUMNS = sql.fragment`
  blob_digest text, envelope jsonb, structure jsonb, search_from text, search_to text, search_cc text,
  search_bcc text, search_subject text, search_headers jsonb, search_header_text text, search_body text,
  preview text`;

const digestRow = z.object({ blob_digest: z.string() });

class BodiesViewWriter {
  readonly #tx: CommonQueryMethods;
  readonly #context: ApplyContext;
  #arrivals: RefRow[] = [];
  #derivedRows = new Map<string, DerivedRow>();
  /** The MODSEQ each mailbox's applied events reached in this batch, written at its end. */
  readonly #modseqs = new Map<string, number>();
  /** Bodies whose count reached zero in this batch: removed at its end unless one came back. */
  readonly #released = new Set<string>();

  constructor(tx: CommonQueryMethods, context: ApplyContext) {
    this.#tx = tx;
    this.#context = context;
  }

  table(name: string) {
    return sql.identifier([this.#context.schema, name]);
  }

  reached(mailboxId: string, modseq: number) {
    this.#modseqs.set(mailboxId, Math.max(modseq, this.#modseqs.get(mailboxId) ?? 0));
  }

  arrive(mailboxId: string, message: Pick<ArrivingMessage, "uid" | "blobDigest">) {
    const derived = this.#context.derived.get(message.blobDigest) ?? MISSING_BLOB;
    const row = derivedRowOf(message.blobDigest, derived);
    if (row !== null && !this.#derivedRows.has(message.blobDigest)) {
      this.#derivedRows.set(message.blobDigest, row);
    }
    this.#arrivals.push({
      mailbox_id: mailboxId,
      uid: message.uid,
      blob_digest: message.blobDigest,
      counted: row !== null,
    });
  }

  /**
   * Writes the pending arrivals, in one statement. What is derived from a body travels and is
   * stored once per distinct body (COPY, re-delivery share one).
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
    // A body's row counts the messages inserted with it: one already there (ON CONFLICT, a
    // redelivery the positions did not catch) does not count twice.
    await this.#tx.query(sql.unsafe`
      WITH inserted AS (
        INSERT INTO ${this.table("message_refs")} (mailbox_id, uid, blob_digest, counted)
        SELECT * FROM json_to_recordset(${JSON.stringify(rows)}::json)
          AS r(mailbox_id text, uid bigint, blob_digest text, counted boolean)
        ON CONFLICT (mailbox_id, uid) DO NOTHING
        RETURNING blob_digest, counted
      ), arrived AS (
        SELECT blob_digest, count(*) AS refs FROM inserted WHERE counted GROUP BY blob_digest
      )
      INSERT INTO ${this.table("message_bodies")} AS b (
        blob_digest, envelope, structure, search_from, search_to, search_cc, search_bcc, search_subject,
        search_headers, search_header_text, search_body, preview, refs)
      SELECT d.*, a.refs FROM json_to_recordset(${JSON.stringify(derivedRows)}::json) AS d(${DERIVED_ROW_COLUMNS})
      JOIN arrived AS a USING (blob_digest)
      ORDER BY d.blob_digest
      ON CONFLICT (blob_digest) DO UPDATE SET refs = b.refs + EXCLUDED.refs`);
  }

  /** Deletes message refs (`gone`, a CTE returning blob_digest and counted) and releases their bodies. */
  async removeRefs(gone: ReturnType<typeof sql.fragment>) {
    const released = await this.#tx.anyFirst(sql.type(digestRow)`
      WITH gone AS (${gone}), released AS (
        UPDATE ${this.table("message_bodies")} AS b SET refs = b.refs - c.n
        FROM (SELECT blob_digest, count(*) AS n FROM gone WHERE counted GROUP BY blob_digest) AS c
        WHERE b.blob_digest = c.blob_digest
        RETURNING b.blob_digest, b.refs
      )
      SELECT blob_digest FROM released WHERE refs = 0`);
    for (const digest of released) this.#released.add(digest);
  }

  /**
   * At the end of the batch: the mailboxes' MODSEQs, then the bodies no message refers to any
   * more go. Checked again here, so a body that arrived again later in the batch (or in a batch
   * that committed meanwhile) stays.
   */
  async finish() {
    await this.flush();
    if (this.#modseqs.size > 0) {
      const ids = [...this.#modseqs.keys()].sort();
      await this.#tx.query(sql.unsafe`
        UPDATE ${this.table("mailboxes")} AS m SET highest_modseq = greatest(m.highest_modseq, u.modseq)
        FROM unnest(${sql.array(ids, "text")}::text[], ${sql.array(
          ids.map((id) => this.#modseqs.get(id)!),
          "int8",
        )}::int8[]) AS u(mailbox_id, modseq)
        WHERE m.mailbox_id = u.mailbox_id`);
      this.#modseqs.clear();
    }
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
      case "MailboxRenamed":
      case "MailboxSubscribed":
      case "MailboxUnsubscribed":
      case "MailboxSpecialUseSet":
      case "MailboxAppendLimitSet":
      case "MailboxAccessKeyReset":
      case "MetadataEntriesSet":
      case "MailboxAclSet":
      case "MailboxAclDeleted":
        return;
      case "UserDeleted": {
        const owned = sql.fragment`SELECT mailbox_id FROM ${this.table("mailboxes")} WHERE user_id = ${userId}`;
        await this.removeRefs(sql.fragment`
          DELETE FROM ${this.table("message_refs")} WHERE mailbox_id IN (${owned})
          RETURNING blob_digest, counted`);
        await tx.query(sql.unsafe`DELETE FROM ${this.table("mailboxes")} WHERE user_id = ${userId}`);
        return;
      }
      case "MailboxCreated": {
        const replaced = event.data.replacesMailboxId;
        if (replaced !== null && replaced !== event.data.mailboxId) {
          await tx.query(sql.unsafe`DELETE FROM ${this.table("mailboxes")} WHERE mailbox_id = ${replaced}`);
        }
        return;
      }
      case "MailboxDeleted": {
        const { mailboxId, keptAsNoselect } = event.data;
        await this.removeRefs(sql.fragment`
          DELETE FROM ${this.table("message_refs")} WHERE mailbox_id = ${mailboxId}
          RETURNING blob_digest, counted`);
        if (!keptAsNoselect) {
          await tx.query(sql.unsafe`DELETE FROM ${this.table("mailboxes")} WHERE mailbox_id = ${mailboxId}`);
        }
        return;
      }
      default: {
        const unhandled: never = event;
        throw new Error(`unhandled user event ${(unhandled as UserEvent).type}`);
      }
    }
  }

  async applyMailboxEvent(userId: string, mailboxId: string, event: MailboxEvent) {
    switch (event.type) {
      case "MailboxInitialized":
        await this.#tx.query(sql.unsafe`
          INSERT INTO ${this.table("mailboxes")} AS m (mailbox_id, user_id, highest_modseq)
          VALUES (${mailboxId}, ${userId}, ${event.data.modseq})
          ON CONFLICT (mailbox_id) DO UPDATE SET highest_modseq = greatest(m.highest_modseq, EXCLUDED.highest_modseq)`);
        return;
      case "MessageAppended":
        this.arrive(mailboxId, event.data);
        this.reached(mailboxId, event.data.modseq);
        return;
      case "MessagesCopiedIn":
      case "MessagesMovedIn":
        for (const message of event.data.messages) this.arrive(mailboxId, message);
        this.reached(mailboxId, event.data.modseq);
        return;
      case "MessageFlagsChanged":
      case "PrivateSeenChanged":
        this.reached(mailboxId, event.data.modseq);
        return;
      case "MessagesExpunged":
      case "MessagesMovedOut":
        await this.removeRefs(sql.fragment`
          DELETE FROM ${this.table("message_refs")}
          WHERE mailbox_id = ${mailboxId} AND uid = ANY (${sql.array(event.data.uids, "int8")})
          RETURNING blob_digest, counted`);
        this.reached(mailboxId, event.data.modseq);
        return;
      default: {
        const unhandled: never = event;
        throw new Error(`unhandled mailbox event ${(unhandled as MailboxEvent).type}`);
      }
    }
  }
}

const positionRow = z.object({ user_id: z.string(), global_position: z.number() });

const isArrival = (type: string) =>
  type === "MessageAppended" ||
  type === "MessagesCopiedIn" ||
  type === "MessagesMovedIn" ||
  type === "MessageFlagsChanged";

/**
 * Locks the batch's users' positions (so two projector instances never interleave on one user),
 * applies every event above its user's position, and moves those positions.
 */
export async function applyBodiesEvents(
  tx: CommonQueryMethods,
  events: readonly RecordedEvent[],
  context: ApplyContext,
): Promise<ApplyResult> {
  const positionsTable = sql.identifier([context.schema, "user_positions"]);
  const userIds = [...new Set(events.map((event) => event.metadata.userId))].sort();
  const result: ApplyResult = { applied: 0, duplicates: 0, duplicatePositions: [], unknown: [] };
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

  const writer = new BodiesViewWriter(tx, context);
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
    // Arrivals are gathered; anything else sees them written first.
    if (!isArrival(domainEvent.type)) await writer.flush();
    const mailboxId = mailboxIdOfStream(event.streamId);
    if (mailboxId !== null) await writer.applyMailboxEvent(userId, mailboxId, domainEvent as MailboxEvent);
    else await writer.applyUserEvent(userId, domainEvent as UserEvent);
  }
  await writer.finish();

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
  return result;
}
