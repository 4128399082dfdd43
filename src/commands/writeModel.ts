// The write-model rows (0002_write_model.sql): loading the state deciders need, with row locks
// that serialize writers, and applying decided events to the rows in the same transaction as
// their append. Lock order is always user row, then mailbox rows by id, so no two commands
// deadlock.
import { type CommonQueryMethods, type FragmentSqlToken, sql } from "slonik";
import { z } from "zod";
import { headerSummarySchema, type SpecialUse } from "../events/domain/common.ts";
import type { MailboxEvent, MailboxEventOfType } from "../events/domain/mailboxEvents.ts";
import type { UserEvent } from "../events/domain/userEvents.ts";
import { DomainError } from "./errors.ts";
import type { IncomingMessage, MailboxState, MessageState } from "./mailbox/decider.ts";
import type { AclEntry, MailboxEntry, RetiredName, UserState } from "./user/decider.ts";

export const userRow = z.object({
  id: z.string(),
  username: z.string(),
  password_hash: z.string(),
  append_limit: z.number().nullable(),
  storage_limit: z.number().nullable(),
  stream_version: z.number(),
  created_at: z.number(),
});
export type UserRow = z.infer<typeof userRow>;

export const mailboxRow = z.object({
  id: z.string(),
  user_id: z.string(),
  name: z.string(),
  status: z.enum(["selectable", "noselect", "deleted"]),
  uid_validity: z.number(),
  uid_next: z.number(),
  highest_modseq: z.number(),
  append_limit: z.number().nullable(),
  special_use: z.string().nullable(),
});
export type MailboxRow = z.infer<typeof mailboxRow>;

export const messageRow = z.object({
  uid: z.number(),
  modseq: z.number(),
  flags: z.array(z.string()),
  internal_date: z.number(),
  size: z.number(),
  blob_digest: z.string(),
  header_summary: headerSummarySchema,
});
export type MessageRow = z.infer<typeof messageRow>;

/** The mailbox_id of the server's own metadata entries (RFC 5464: the mailbox name ""). */
export const SERVER_METADATA_MAILBOX_ID = "";

const userColumns = sql.fragment`id, username, password_hash, append_limit, storage_limit, stream_version, created_at`;
const mailboxColumns = sql.fragment`id, user_id, name, status, uid_validity, uid_next, highest_modseq, append_limit, special_use`;
const messageColumns = sql.fragment`uid, modseq, flags, internal_date, size, blob_digest, header_summary`;

export async function findUserByName(
  db: CommonQueryMethods,
  username: string,
  lock = false,
): Promise<UserRow | null> {
  return db.maybeOne(sql.type(userRow)`
    SELECT ${userColumns} FROM users WHERE username = ${username} AND deleted_at IS NULL
    ${lock ? sql.fragment`FOR UPDATE` : sql.fragment``}`);
}

export async function findUserById(
  db: CommonQueryMethods,
  userId: string,
  lock = false,
): Promise<UserRow | null> {
  return db.maybeOne(sql.type(userRow)`
    SELECT ${userColumns} FROM users WHERE id = ${userId} AND deleted_at IS NULL
    ${lock ? sql.fragment`FOR UPDATE` : sql.fragment``}`);
}

export async function listUserRows(db: CommonQueryMethods): Promise<readonly UserRow[]> {
  return db.any(
    sql.type(userRow)`SELECT ${userColumns} FROM users WHERE deleted_at IS NULL ORDER BY username`,
  );
}

export async function findMailboxByName(
  db: CommonQueryMethods,
  userId: string,
  name: string,
): Promise<MailboxRow | null> {
  return db.maybeOne(sql.type(mailboxRow)`
    SELECT ${mailboxColumns} FROM mailboxes WHERE user_id = ${userId} AND name = ${name} AND status <> 'deleted'`);
}

export async function listMailboxRows(
  db: CommonQueryMethods,
  userId: string,
): Promise<readonly MailboxRow[]> {
  return db.any(sql.type(mailboxRow)`
    SELECT ${mailboxColumns} FROM mailboxes WHERE user_id = ${userId} AND status <> 'deleted' ORDER BY name`);
}

export const appendTargetRow = mailboxRow.extend({
  user_append_limit: z.number().nullable(),
  user_storage_limit: z.number().nullable(),
});

/** The mailbox an APPEND names, with its owner's append limit, in one read (no lock). */
export async function findAppendTarget(db: CommonQueryMethods, userId: string, name: string) {
  return db.maybeOne(sql.prepared("mailledger_append_target", appendTargetRow)`
    SELECT m.id, m.user_id, m.name, m.status, m.uid_validity, m.uid_next, m.highest_modseq, m.append_limit,
           m.special_use, u.append_limit AS user_append_limit, u.storage_limit AS user_storage_limit
    FROM mailboxes m JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL
    WHERE m.user_id = ${userId} AND m.name = ${name} AND m.status = 'selectable'`);
}

const quotaRow = z.object({ storage_limit: z.number().nullable(), used: z.number() });

/** The octets all the account's messages take, from the index's counters. */
export async function storageUsed(db: CommonQueryMethods, userId: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ used: z.number() }))`
    SELECT coalesce(sum(total_size), 0)::float8 AS used FROM mailboxes
    WHERE user_id = ${userId} AND status <> 'deleted'`);
}

/**
 * RFC 9208 STORAGE: refuses with OVERQUOTA when `incoming` more octets would take the account
 * above its quota. The use is summed from the index's per-mailbox counters, only when there is a
 * quota.
 * Two commands of one account deciding at once may both pass: the quota can be overshot by what
 * is in flight, as with most servers' quotas.
 */
export async function requireStorageQuota(db: CommonQueryMethods, userId: string, incoming: number) {
  if (incoming <= 0) return;
  const row = await db.one(sql.prepared("mailledger_storage_quota", quotaRow)`
    SELECT u.storage_limit,
      CASE WHEN u.storage_limit IS NULL THEN 0 ELSE (
        SELECT coalesce(sum(b.total_size), 0) FROM mailboxes b
        WHERE b.user_id = u.id AND b.status <> 'deleted') END::float8 AS used
    FROM users u WHERE u.id = ${userId}`);
  if (row.storage_limit === null || row.used + incoming <= row.storage_limit) return;
  throw new DomainError(
    "OVERQUOTA",
    `the account's storage quota of ${row.storage_limit} octets would be exceeded (${row.used} in use, ${incoming} more)`,
  );
}

/** Locks the user's live mailbox rows with these ids, in id order (the lock order). */
export async function lockMailboxes(
  db: CommonQueryMethods,
  userId: string,
  mailboxIds: readonly string[],
): Promise<Map<string, MailboxRow>> {
  const rows = await db.any(sql.prepared("mailledger_lock_mailboxes", mailboxRow)`
    SELECT ${mailboxColumns} FROM mailboxes
    WHERE id = ANY(${sql.array([...new Set(mailboxIds)], "text")}) AND user_id = ${userId} AND status <> 'deleted'
    ORDER BY id FOR UPDATE`);
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * Locks live mailbox rows of possibly different owners, in id order (the lock order, whoever
 * owns them): those whose owner is not the one given are left out, as if absent.
 */
export async function lockMailboxesOf(
  db: CommonQueryMethods,
  owned: readonly { userId: string; mailboxId: string }[],
): Promise<Map<string, MailboxRow>> {
  const ids = [...new Set(owned.map((entry) => entry.mailboxId))];
  const rows = await db.any(sql.type(mailboxRow)`
    SELECT ${mailboxColumns} FROM mailboxes
    WHERE id = ANY(${sql.array(ids, "text")}) AND status <> 'deleted'
    ORDER BY id FOR UPDATE`);
  const ownerOf = new Map(owned.map((entry) => [entry.mailboxId, entry.userId]));
  return new Map(rows.filter((row) => ownerOf.get(row.id) === row.user_id).map((row) => [row.id, row]));
}

/** The user aggregate's state from its rows; mailbox uidNext as of this read. */
export async function loadUserState(db: CommonQueryMethods, user: UserRow): Promise<UserState> {
  const [mailboxes, subscriptions, retired] = [
    await listMailboxRows(db, user.id),
    await db.anyFirst(sql.type(z.object({ name: z.string() }))`
      SELECT name FROM subscriptions WHERE user_id = ${user.id}`),
    await db.any(sql.type(
      z.object({ name: z.string(), uid_next: z.number(), uid_validities: z.array(z.number()) }),
    )`
      SELECT name, uid_next, uid_validities FROM retired_mailbox_names WHERE user_id = ${user.id}`),
  ];
  const aclRows = await db.any(sql.type(
    z.object({ mailbox_id: z.string(), grantee: z.string(), identifier: z.string(), rights: z.string() }),
  )`
    SELECT a.mailbox_id, a.grantee, a.identifier, a.rights FROM mailbox_acl AS a
    JOIN mailboxes AS mb ON mb.id = a.mailbox_id
    WHERE mb.user_id = ${user.id} AND mb.status <> 'deleted'`);
  const acl = new Map<string, Map<string, AclEntry>>();
  for (const row of aclRows) {
    const entries = acl.get(row.mailbox_id) ?? new Map<string, AclEntry>();
    entries.set(row.grantee, { identifier: row.identifier, rights: row.rights });
    acl.set(row.mailbox_id, entries);
  }
  return {
    status: "active",
    userId: user.id,
    username: user.username,
    passwordHash: user.password_hash,
    appendLimit: user.append_limit,
    storageLimit: user.storage_limit,
    mailboxes: new Map(mailboxes.map((row) => [row.name, mailboxEntry(row)])),
    subscriptions: new Set(subscriptions),
    retiredNames: new Map<string, RetiredName>(
      retired.map((row) => [row.name, { uidNext: row.uid_next, uidValidities: row.uid_validities }]),
    ),
    acl,
  };
}

export function mailboxEntry(row: MailboxRow): MailboxEntry {
  return {
    mailboxId: row.id,
    name: row.name,
    status: row.status === "noselect" ? "noselect" : "selectable",
    uidValidity: row.uid_validity,
    uidNext: row.uid_next,
    specialUse: row.special_use as SpecialUse | null,
    appendLimit: row.append_limit,
  };
}

/** The mailbox aggregate's state: the header row plus the given messages. */
export function mailboxState(row: MailboxRow, messages: readonly MessageRow[] = []): MailboxState {
  return {
    initialized: row.status === "selectable",
    mailboxId: row.id,
    uidValidity: row.uid_validity,
    uidNext: row.uid_next,
    highestModSeq: row.highest_modseq,
    messages: new Map<number, MessageState>(
      messages.map((m) => [m.uid, { modseq: m.modseq, flags: m.flags }]),
    ),
  };
}

const lockedSelectedRow = mailboxRow.extend({
  messages: z.array(
    z.tuple([
      z.number(),
      z.number(),
      z.array(z.string()),
      z.number(),
      z.number(),
      z.string(),
      headerSummarySchema,
    ]),
  ),
});

/**
 * Locks the user's live mailbox and reads the messages with these UIDs, or, without UIDs, those
 * flagged \Deleted: one round trip (infra/migrations/0032_write_model_lock_selected.sql). Null
 * when the user has no such live mailbox.
 */
export async function lockMailboxWithMessages(
  db: CommonQueryMethods,
  userId: string,
  mailboxId: string,
  uids: readonly number[] | "deleted",
): Promise<{ row: MailboxRow; messages: MessageRow[] } | null> {
  const wanted =
    uids === "deleted" ? sql.fragment`NULL` : sql.fragment`${sql.array([...new Set(uids)], "int8")}`;
  // Two statement texts (a list, or NULL for \Deleted), so two prepared names.
  const name = uids === "deleted" ? "mailledger_lock_selected_deleted" : "mailledger_lock_selected_uids";
  const locked = await db.maybeOne(sql.prepared(name, lockedSelectedRow)`
    SELECT id, user_id, name, status, uid_validity, uid_next, highest_modseq, append_limit, special_use,
      messages
    FROM write_model_lock_selected(${userId}, ${mailboxId}, ${wanted}::int8[])`);
  if (locked === null) return null;
  const { messages, ...row } = locked;
  return {
    row,
    messages: messages.map(([uid, modseq, flags, internalDate, size, blobDigest, headerSummary]) => ({
      uid,
      modseq,
      flags,
      internal_date: internalDate,
      size,
      blob_digest: blobDigest,
      header_summary: headerSummary,
    })),
  };
}

const decisionRow = mailboxRow.extend({
  messages: z.array(z.tuple([z.number(), z.number(), z.array(z.string())])),
});

/**
 * The mailbox and the UID, MODSEQ and flags of the messages with these UIDs (or, without, those
 * flagged \Deleted), read in one statement without a lock: what an optimistic STORE or EXPUNGE
 * decides from (commitOptimistically checks that nothing moved). Null when the user has no such
 * live mailbox.
 */
export async function readMailboxForDecision(
  db: CommonQueryMethods,
  userId: string,
  mailboxId: string,
  uids: readonly number[] | "deleted",
): Promise<MailboxState | null> {
  // The \Deleted test is written as the partial index messages_deleted_idx states it.
  const wanted =
    uids === "deleted"
      ? sql.fragment`'\\Deleted' = ANY (m.flags)`
      : sql.fragment`m.uid = ANY(${sql.array([...new Set(uids)], "int8")})`;
  const name = uids === "deleted" ? "mailledger_decide_deleted" : "mailledger_decide_uids";
  const row = await db.maybeOne(sql.prepared(name, decisionRow)`
    SELECT ${mailboxColumns},
      (SELECT coalesce(json_agg(json_build_array(m.uid, m.modseq, m.flags) ORDER BY m.uid), '[]'::json)
         FROM messages AS m WHERE m.mailbox_id = mailboxes.id AND ${wanted}) AS messages
    FROM mailboxes WHERE id = ${mailboxId} AND user_id = ${userId} AND status = 'selectable'`);
  if (row === null) return null;
  return {
    initialized: true,
    mailboxId: row.id,
    uidValidity: row.uid_validity,
    uidNext: row.uid_next,
    highestModSeq: row.highest_modseq,
    messages: new Map<number, MessageState>(
      row.messages.map(([uid, modseq, flags]) => [uid, { modseq, flags }]),
    ),
  };
}

/**
 * The state with each message's `privateSeen` for `readerId` (0061_private_seen.sql): what a
 * grantee's STORE decides from. Read apart from the messages; a change between the two reads
 * moved HIGHESTMODSEQ, which the commit's precondition (or the lock) catches.
 */
export async function withPrivateSeen(
  db: CommonQueryMethods,
  state: MailboxState,
  readerId: string,
): Promise<MailboxState> {
  const uids = [...state.messages.keys()];
  if (uids.length === 0) return state;
  const seen = new Set(
    await db.anyFirst(sql.type(z.object({ uid: z.number() }))`
      SELECT uid FROM private_seen
      WHERE mailbox_id = ${state.mailboxId} AND user_id = ${readerId} AND uid = ANY(${sql.array(uids, "int8")})`),
  );
  return {
    ...state,
    messages: new Map(
      [...state.messages].map(([uid, message]) => [uid, { ...message, privateSeen: seen.has(uid) }]),
    ),
  };
}

export async function loadMessages(
  db: CommonQueryMethods,
  mailboxId: string,
  uids: readonly number[],
): Promise<readonly MessageRow[]> {
  if (uids.length === 0) return [];
  return db.any(sql.type(messageRow)`
    SELECT ${messageColumns} FROM messages
    WHERE mailbox_id = ${mailboxId} AND uid = ANY(${sql.array([...new Set(uids)], "int8")})
    ORDER BY uid`);
}

export async function loadAllMessages(
  db: CommonQueryMethods,
  mailboxId: string,
): Promise<readonly MessageRow[]> {
  return db.any(sql.type(messageRow)`
    SELECT ${messageColumns} FROM messages WHERE mailbox_id = ${mailboxId} ORDER BY uid`);
}

export function incomingFrom(rows: readonly MessageRow[]): IncomingMessage[] {
  return rows.map((row) => ({
    sourceUid: row.uid,
    flags: row.flags,
    internalDate: new Date(row.internal_date).toISOString(),
    size: row.size,
    blobDigest: row.blob_digest,
    headerSummary: row.header_summary,
  }));
}

async function retireName(
  db: CommonQueryMethods,
  userId: string,
  name: string,
  uidValidity: number,
  uidNext: number,
) {
  await db.query(sql.unsafe`
    INSERT INTO retired_mailbox_names (user_id, name, uid_next, uid_validities)
    VALUES (${userId}, ${name}, ${uidNext}, ARRAY[${uidValidity}]::bigint[])
    ON CONFLICT (user_id, name) DO UPDATE SET
      uid_next = greatest(retired_mailbox_names.uid_next, EXCLUDED.uid_next),
      uid_validities = CASE WHEN ${uidValidity} = ANY(retired_mailbox_names.uid_validities)
                            THEN retired_mailbox_names.uid_validities
                            ELSE retired_mailbox_names.uid_validities || ${uidValidity}::bigint END`);
}

/** Applies user-stream events to the rows; `streamVersion` is the stream's version after them. */
export async function applyUserEvents(
  db: CommonQueryMethods,
  userId: string,
  events: readonly UserEvent[],
  streamVersion: number,
): Promise<void> {
  for (const event of events) {
    switch (event.type) {
      case "UserCreated":
        await db.query(sql.unsafe`
          INSERT INTO users (id, username, password_hash, append_limit, stream_version)
          VALUES (${userId}, ${event.data.username}, ${event.data.passwordHash}, ${event.data.appendLimit}, 0)`);
        break;
      case "UserPasswordChanged":
        await db.query(
          sql.unsafe`UPDATE users SET password_hash = ${event.data.passwordHash} WHERE id = ${userId}`,
        );
        break;
      case "UserDeleted":
        await db.query(sql.unsafe`
          DELETE FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ${userId})`);
        await db.query(sql.unsafe`
          DELETE FROM tombstones WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ${userId})`);
        await db.query(sql.unsafe`
          UPDATE mailboxes SET message_count = 0, unseen_count = 0, total_size = 0 WHERE user_id = ${userId}`);
        await db.query(sql.unsafe`
          UPDATE mailboxes SET status = 'deleted', deleted_at = now() WHERE user_id = ${userId} AND status <> 'deleted'`);
        await db.query(sql.unsafe`DELETE FROM subscriptions WHERE user_id = ${userId}`);
        await db.query(sql.unsafe`DELETE FROM metadata_entries WHERE user_id = ${userId}`);
        await db.query(sql.unsafe`
          DELETE FROM mailbox_acl WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ${userId})`);
        await db.query(sql.unsafe`UPDATE users SET deleted_at = now() WHERE id = ${userId}`);
        break;
      case "UserAppendLimitSet":
        await db.query(
          sql.unsafe`UPDATE users SET append_limit = ${event.data.appendLimit} WHERE id = ${userId}`,
        );
        break;
      case "UserQuotaSet":
        await db.query(
          sql.unsafe`UPDATE users SET storage_limit = ${event.data.storageLimit} WHERE id = ${userId}`,
        );
        break;
      case "MailboxCreated": {
        const { data } = event;
        if (data.replacesMailboxId) {
          await db.query(sql.unsafe`
            UPDATE mailboxes SET status = 'deleted', deleted_at = now() WHERE id = ${data.replacesMailboxId}`);
        }
        // highest_modseq 1: the mailbox stream starts with MailboxInitialized in the same commit.
        await db.query(sql.unsafe`
          INSERT INTO mailboxes (id, user_id, name, status, uid_validity, uid_next, highest_modseq, special_use)
          VALUES (${data.mailboxId}, ${userId}, ${data.name}, 'selectable', ${data.uidValidity}, ${data.uidNext}, 1,
                  ${data.specialUse})`);
        if (data.cause === "inbox-rename") {
          // RFC 5464 4.1: INBOX keeps its entries, and the mailbox its messages went to gets a copy.
          await db.query(sql.unsafe`
            INSERT INTO metadata_entries (user_id, mailbox_id, name, value)
            SELECT e.user_id, ${data.mailboxId}, e.name, e.value
            FROM metadata_entries e JOIN mailboxes m ON m.id = e.mailbox_id
            WHERE m.user_id = ${userId} AND m.name = 'INBOX' AND m.status = 'selectable'`);
        }
        break;
      }
      case "MailboxRenamed":
        for (const rename of event.data.renames) {
          await retireName(db, userId, rename.from, rename.uidValidity, rename.uidNext);
        }
        await db.query(sql.unsafe`
          UPDATE mailboxes m SET name = r.to_name
          FROM jsonb_to_recordset(${sql.jsonb(event.data.renames.map((r) => ({ id: r.mailboxId, to_name: r.to })))})
               AS r(id text, to_name text)
          WHERE m.id = r.id AND m.user_id = ${userId}`);
        break;
      case "MailboxDeleted": {
        const { data } = event;
        await retireName(db, userId, data.name, data.uidValidity, data.uidNext);
        await db.query(sql.unsafe`DELETE FROM tombstones WHERE mailbox_id = ${data.mailboxId}`);
        // RFC 5464 4.1: a mailbox made later with this name does not inherit them.
        await db.query(sql.unsafe`DELETE FROM metadata_entries WHERE mailbox_id = ${data.mailboxId}`);
        await db.query(sql.unsafe`DELETE FROM mailbox_acl WHERE mailbox_id = ${data.mailboxId}`);
        await db.query(
          data.keptAsNoselect
            ? sql.unsafe`UPDATE mailboxes SET status = 'noselect' WHERE id = ${data.mailboxId}`
            : sql.unsafe`UPDATE mailboxes SET status = 'deleted', deleted_at = now() WHERE id = ${data.mailboxId}`,
        );
        break;
      }
      case "MailboxSubscribed":
        await db.query(sql.unsafe`
          INSERT INTO subscriptions (user_id, name) VALUES (${userId}, ${event.data.name}) ON CONFLICT DO NOTHING`);
        break;
      case "MailboxUnsubscribed":
        await db.query(
          sql.unsafe`DELETE FROM subscriptions WHERE user_id = ${userId} AND name = ${event.data.name}`,
        );
        break;
      case "MailboxSpecialUseSet":
        await db.query(sql.unsafe`
          UPDATE mailboxes SET special_use = ${event.data.specialUse} WHERE id = ${event.data.mailboxId}`);
        break;
      case "MailboxAppendLimitSet":
        await db.query(sql.unsafe`
          UPDATE mailboxes SET append_limit = ${event.data.appendLimit} WHERE id = ${event.data.mailboxId}`);
        break;
      case "MailboxAccessKeyReset":
        await db.query(
          event.data.mailboxId === null
            ? sql.unsafe`UPDATE users SET urlauth_salt = ${event.data.salt} WHERE id = ${userId}`
            : sql.unsafe`UPDATE mailboxes SET urlauth_salt = ${event.data.salt}
                WHERE id = ${event.data.mailboxId} AND user_id = ${userId}`,
        );
        break;
      case "MetadataEntriesSet": {
        const mailboxId = event.data.mailboxId ?? SERVER_METADATA_MAILBOX_ID;
        const removed = event.data.entries.filter((entry) => entry.value === null).map((entry) => entry.name);
        const set = event.data.entries.filter((entry) => entry.value !== null);
        if (removed.length > 0) {
          await db.query(sql.unsafe`
            DELETE FROM metadata_entries
            WHERE user_id = ${userId} AND mailbox_id = ${mailboxId} AND name = ANY(${sql.array(removed, "text")})`);
        }
        if (set.length > 0) {
          await db.query(sql.unsafe`
            INSERT INTO metadata_entries (user_id, mailbox_id, name, value)
            SELECT ${userId}, ${mailboxId}, r.name, r.value
            FROM jsonb_to_recordset(${sql.jsonb(set)}) AS r(name text, value text)
            ON CONFLICT (user_id, mailbox_id, name) DO UPDATE SET value = EXCLUDED.value`);
        }
        break;
      }
      case "MailboxAclSet":
        await db.query(sql.unsafe`
          INSERT INTO mailbox_acl (mailbox_id, grantee, identifier, rights)
          VALUES (${event.data.mailboxId}, ${event.data.granteeUserId ?? event.data.identifier},
                  ${event.data.identifier}, ${event.data.rights})
          ON CONFLICT (mailbox_id, grantee) DO UPDATE SET identifier = EXCLUDED.identifier, rights = EXCLUDED.rights`);
        break;
      case "MailboxAclDeleted":
        await db.query(sql.unsafe`
          DELETE FROM mailbox_acl
          WHERE mailbox_id = ${event.data.mailboxId} AND grantee = ${event.data.granteeUserId ?? event.data.identifier}`);
        break;
      default: {
        const unknown: never = event;
        throw new Error(`no write-model rule for ${(unknown as { type: string }).type}`);
      }
    }
  }
  await db.query(sql.unsafe`UPDATE users SET stream_version = ${streamVersion} WHERE id = ${userId}`);
}

/**
 * One event's change to the index as named data-modifying CTEs, run as one statement (or carried
 * by the append of the events themselves, commitChanges): a round trip per event at most. The
 * last CTE updates the mailbox row: its UIDNEXT, HIGHESTMODSEQ and counters.
 */
export interface IndexStatement {
  ctes: { name: string; body: FragmentSqlToken }[];
}

/** Applies mailbox-stream events to the index: messages, tombstones, the mailbox's header and counters. */
export async function applyMailboxEvents(
  db: CommonQueryMethods,
  mailboxId: string,
  events: readonly MailboxEvent[],
): Promise<void> {
  for (const statement of mailboxWriteStatements(mailboxId, events)) {
    await db.query(sql.unsafe`${asStatement(statement)}`);
  }
}

/** A statement of CTEs alone: PostgreSQL runs every data-modifying CTE to completion. */
function asStatement(statement: IndexStatement): FragmentSqlToken {
  const ctes = statement.ctes.map(({ name, body }) => sql.fragment`${sql.identifier([name])} AS (${body})`);
  return sql.fragment`WITH ${sql.join(ctes, sql.fragment`, `)} SELECT 1`;
}

const SEEN = "\\Seen";

/** What a changed message row adds to its mailbox's counters (the columns every change CTE returns). */
const added = sql.fragment`1 AS messages, (NOT (${SEEN} = ANY (flags)))::int AS unseen, size AS octets`;
const removed = sql.fragment`-1 AS messages, -(NOT (${SEEN} = ANY (flags)))::int AS unseen, -size AS octets`;

/**
 * The index statements of mailbox-stream events, in order. Consecutive appends (MULTIAPPEND, an
 * import) go in one statement. Every value comes from the events, never from a decider's state,
 * so `projections verify` replays the log through these same statements. `guard` is a condition
 * every statement holds to: a carried append's "its gate passed" (commit.ts).
 */
export function mailboxWriteStatements(
  mailboxId: string,
  events: readonly MailboxEvent[],
  guard: FragmentSqlToken = sql.fragment`true`,
): IndexStatement[] {
  const statements: IndexStatement[] = [];
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.type === "MessageAppended") {
      const run: MailboxEventOfType<"MessageAppended">[] = [event];
      while (events[i + 1]?.type === "MessageAppended") {
        run.push(events[++i] as MailboxEventOfType<"MessageAppended">);
      }
      statements.push(appendedStatement(mailboxId, run, guard));
    } else {
      statements.push(eventStatement(mailboxId, event, guard));
    }
  }
  return statements;
}

/** The mailbox row after a change CTE `wm_change` returning (messages, unseen, octets). */
function headerAfter(
  mailboxId: string,
  highestModSeq: number,
  uidNext: FragmentSqlToken | null,
  guard: FragmentSqlToken,
) {
  return sql.fragment`
    UPDATE mailboxes AS mb SET
      highest_modseq = greatest(mb.highest_modseq, ${highestModSeq}),
      uid_next = ${uidNext ?? sql.fragment`mb.uid_next`},
      message_count = mb.message_count + d.messages,
      unseen_count = mb.unseen_count + d.unseen,
      total_size = mb.total_size + d.octets
    FROM (
      SELECT coalesce(sum(messages), 0)::int8 AS messages,
        coalesce(sum(unseen), 0)::int8 AS unseen, coalesce(sum(octets), 0)::int8 AS octets
      FROM wm_change
    ) AS d
    WHERE mb.id = ${mailboxId} AND ${guard}`;
}

const uidNextAbove = (highestUid: number) => sql.fragment`greatest(mb.uid_next, ${highestUid + 1})`;

function appendedStatement(
  mailboxId: string,
  events: readonly MailboxEventOfType<"MessageAppended">[],
  guard: FragmentSqlToken,
): IndexStatement {
  const rows = events.map(({ data }) => ({
    uid: data.uid,
    modseq: data.modseq,
    flags: data.flags,
    internalDate: data.internalDate,
    size: data.size,
    blobDigest: data.blobDigest,
    headerSummary: data.headerSummary,
  }));
  const only = rows[0]!;
  const change =
    rows.length === 1
      ? sql.fragment`
        INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_digest, header_summary,
                              arrival_modseq)
        SELECT ${mailboxId}, ${only.uid}::int8, ${only.modseq}::int8, ${sql.array(only.flags, "text")},
          ${only.internalDate}::timestamptz, ${only.size}::int8, ${only.blobDigest}, ${sql.jsonb(only.headerSummary)},
          ${only.modseq}::int8
        WHERE ${guard}
        RETURNING ${added}`
      : sql.fragment`
        INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_digest, header_summary,
                              arrival_modseq)
        SELECT ${mailboxId}, r.uid, r.modseq, r.flags, r."internalDate"::timestamptz, r.size, r."blobDigest",
               r."headerSummary", r.modseq
        FROM jsonb_to_recordset(${sql.jsonb(rows)})
             AS r(uid bigint, modseq bigint, flags text[], "internalDate" text, size bigint, "blobDigest" text,
                  "headerSummary" jsonb)
        WHERE ${guard}
        RETURNING ${added}`;
  const highestUid = Math.max(...rows.map((row) => row.uid));
  const highestModSeq = Math.max(...rows.map((row) => row.modseq));
  return {
    ctes: [
      { name: "wm_change", body: change },
      { name: "wm_mailbox", body: headerAfter(mailboxId, highestModSeq, uidNextAbove(highestUid), guard) },
    ],
  };
}

function eventStatement(mailboxId: string, event: MailboxEvent, guard: FragmentSqlToken): IndexStatement {
  switch (event.type) {
    case "MailboxInitialized":
      // The row was inserted by MailboxCreated in the same commit.
      return {
        ctes: [
          {
            name: "wm_mailbox",
            body: sql.fragment`
              UPDATE mailboxes AS mb SET highest_modseq = greatest(mb.highest_modseq, ${event.data.modseq}),
                uid_next = greatest(mb.uid_next, ${event.data.uidNext})
              WHERE mb.id = ${mailboxId} AND ${guard}`,
          },
        ],
      };
    case "MessageAppended":
      return appendedStatement(mailboxId, [event], guard);
    case "MessageFlagsChanged":
      // The old row (o) is read from the statement's snapshot: its \Seen against the new one's.
      return {
        ctes: [
          {
            name: "wm_change",
            body: sql.fragment`
              UPDATE messages AS m SET flags = r.flags, modseq = ${event.data.modseq}
              FROM jsonb_to_recordset(${sql.jsonb(event.data.messages)}) AS r(uid bigint, flags text[]),
                   messages AS o
              WHERE m.mailbox_id = ${mailboxId} AND m.uid = r.uid AND o.mailbox_id = m.mailbox_id AND o.uid = m.uid
                AND ${guard}
              RETURNING 0 AS messages,
                (NOT (${SEEN} = ANY (m.flags)))::int - (NOT (${SEEN} = ANY (o.flags)))::int AS unseen,
                0::int8 AS octets`,
          },
          { name: "wm_mailbox", body: headerAfter(mailboxId, event.data.modseq, null, guard) },
        ],
      };
    case "MessagesExpunged":
    case "MessagesMovedOut": {
      const ctes = [
        {
          name: "wm_change",
          body: sql.fragment`
            DELETE FROM messages
            WHERE mailbox_id = ${mailboxId} AND uid = ANY(${sql.array(event.data.uids, "int8")}) AND ${guard}
            RETURNING uid, ${removed}`,
        },
      ];
      // The per-user \Seen of the messages that went (0061_private_seen.sql) goes with them.
      ctes.push({
        name: "wm_private_seen",
        body: sql.fragment`
          DELETE FROM private_seen
          WHERE mailbox_id = ${mailboxId} AND uid = ANY(${sql.array(event.data.uids, "int8")}) AND ${guard}`,
      });
      // A mailbox being deleted keeps no tombstones (QRESYNC has nothing to resynchronize there).
      if (!(event.type === "MessagesExpunged" && event.data.cause === "mailbox-deleted")) {
        ctes.push({
          name: "wm_tombstones",
          body: sql.fragment`
            INSERT INTO tombstones (mailbox_id, uid, modseq)
            SELECT ${mailboxId}, uid, ${event.data.modseq} FROM wm_change
            ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq`,
        });
      }
      ctes.push({ name: "wm_mailbox", body: headerAfter(mailboxId, event.data.modseq, null, guard) });
      return { ctes };
    }
    case "PrivateSeenChanged": {
      // The messages take the event's MODSEQ, so CONDSTORE sessions look at them again (the
      // owner's and other users' flags read unchanged); their counters do not move: the mailbox's
      // UNSEEN is the owner's.
      const { modseq, userId, uids } = event.data;
      const change = sql.fragment`
        UPDATE messages AS m SET modseq = ${modseq}
        WHERE m.mailbox_id = ${mailboxId} AND m.uid = ANY(${sql.array(uids, "int8")}) AND ${guard}
        RETURNING m.uid, 0 AS messages, 0 AS unseen, 0::int8 AS octets`;
      const seen = event.data.seen
        ? sql.fragment`
          INSERT INTO private_seen (mailbox_id, user_id, uid)
          SELECT ${mailboxId}, ${userId}, uid FROM wm_change
          ON CONFLICT DO NOTHING`
        : sql.fragment`
          DELETE FROM private_seen
          WHERE mailbox_id = ${mailboxId} AND user_id = ${userId} AND uid IN (SELECT uid FROM wm_change)`;
      return {
        ctes: [
          { name: "wm_change", body: change },
          { name: "wm_private_seen", body: seen },
          { name: "wm_mailbox", body: headerAfter(mailboxId, modseq, null, guard) },
        ],
      };
    }
    case "MessagesCopiedIn":
    case "MessagesMovedIn": {
      const highestUid = Math.max(...event.data.messages.map((message) => message.uid));
      return {
        ctes: [
          {
            name: "wm_change",
            body: sql.fragment`
              INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_digest, header_summary,
                                    arrival_modseq)
              SELECT ${mailboxId}, r.uid, ${event.data.modseq}, r.flags, r."internalDate"::timestamptz, r.size,
                     r."blobDigest", r."headerSummary", ${event.data.modseq}
              FROM jsonb_to_recordset(${sql.jsonb(event.data.messages)})
                   AS r(uid bigint, flags text[], "internalDate" text, size bigint, "blobDigest" text, "headerSummary" jsonb)
              WHERE ${guard}
              RETURNING ${added}`,
          },
          {
            name: "wm_mailbox",
            body: headerAfter(mailboxId, event.data.modseq, uidNextAbove(highestUid), guard),
          },
        ],
      };
    }
    default: {
      const unknown: never = event;
      throw new Error(`no index rule for ${(unknown as { type: string }).type}`);
    }
  }
}
