// The read queries the gateway serves from: the only way it reads (DESIGN.md, Folders).
// Mailboxes, messages, flags, dates, sizes, MODSEQs and tombstones come from the mailbox index,
// committed with the events, so every read sees every acknowledged write (contract 2). What is
// derived from a body (ENVELOPE, BODYSTRUCTURE, search text, thread keys) comes from the bodies
// view (proj_bodies, fed by Kafka); where that view has not reached a mailbox yet, the missing
// bodies are derived on demand with the projector's own code, never waited for and never stored.
// Every query is scoped to one user: a mailbox of another user is never found (contract 7).
import { type CommonQueryMethods, type DatabasePool, type FragmentSqlToken, sql } from "slonik";
import { z } from "zod";
import { DEFAULT_FLAGS_CACHE_BYTES } from "../../config.ts";
import { MAILBOX_HIERARCHY_SEPARATOR, mailboxLookupName } from "../../events/domain/common.ts";
// The ENVELOPE texts this read model caches are IMAP wire text: written by the codec's encoder.
import { encodeEnvelope } from "../../imap-gateway/codec/mimeEncode.ts";
import type { Envelope, MessageStructure } from "../../mime/index.ts";
import { DERIVED_ROW_COLUMNS, type DerivedRow, derivedRowOf } from "../bodiesView/apply.ts";
import { type BlobSource, MessageDeriver, type MessageDeriverOptions } from "../bodiesView/derive.ts";
import { compileSearchKey, uidMultirange } from "./compileSearch.ts";
import { CachedMailboxFlags } from "./flagsCache.ts";
import type { SearchKey, UidSet } from "./searchCriteria.ts";

// Row schemas are built once: building one costs tens of microseconds, more than a parse.
const nameRow = z.object({ name: z.string() });
const packedUidsRow = z.object({ uids: z.instanceof(Buffer).nullable() });
/** A query over a mailbox's messages, packed in one row, and whether the bodies view had reached it. */
const packedRowsRow = z.object({
  /** The mailbox's HIGHESTMODSEQ in the statement's snapshot. */
  mailbox_modseq: z.number().nullable(),
  rows: z.array(z.array(z.union([z.number(), z.string(), z.null()]))).nullable(),
  /** Set when the bodies view has not reached the mailbox: the digests it may lack. */
  lacking: z.array(z.string()).nullable(),
});

/** What the SORT keys of one message (RFC 5256) are made of; a field not asked for is its zero. */
export interface SortFields {
  uid: number;
  /** INTERNALDATE, ms since the epoch. */
  internalDate: number;
  /** The Date header, ms since the epoch; null when missing or unparsable. */
  sentDate: number | null;
  size: number;
  /** The Subject as sent (encoded words kept); lower-cased and decoded when the body could not be read. */
  subject: string;
  /** The mailbox (local) part of the first From, To and Cc address, "" when there is none. */
  from: string;
  to: string;
  cc: string;
  /**
   * For SORT=DISPLAY (RFC 5957): the first From and To address's display name as sent (encoded
   * words kept), or its addr-spec when it has none; "" when there is no address.
   */
  displayFrom: string;
  displayTo: string;
  /** For THREAD: the Message-ID, In-Reply-To and References header values ("" when absent). */
  messageId: string;
  inReplyTo: string;
  references: string;
}

export type SortField = Exclude<keyof SortFields, "uid">;

// The first ENVELOPE entry of the field, as RFC 5256 and RFC 5957 say: for a group that is its
// start marker, whose mailbox is the group's name (RFC 3501 7.4.2).
const firstMailbox = (field: string) => sql.fragment`(m.envelope -> ${field} -> 0 ->> 'mailbox')`;

const firstDisplay = (field: string) =>
  sql.fragment`(SELECT coalesce(nullif(a ->> 'name', ''), (a ->> 'mailbox') || coalesce('@' || (a ->> 'host'), ''))
    FROM (SELECT m.envelope -> ${field} -> 0 AS a) AS first)`;

const SORT_COLUMNS: Record<SortField, FragmentSqlToken> = {
  // Whole ms from date_part (float8): extract() is numeric since PostgreSQL 14, far slower.
  internalDate: sql.fragment`round(date_part('epoch', m.internal_date) * 1000)`,
  sentDate: sql.fragment`round(date_part('epoch', m.sent_date) * 1000)`,
  size: sql.fragment`m.size`,
  subject: sql.fragment`coalesce(m.envelope ->> 'subject', m.search_subject)`,
  from: firstMailbox("from"),
  to: firstMailbox("to"),
  cc: firstMailbox("cc"),
  displayFrom: firstDisplay("from"),
  displayTo: firstDisplay("to"),
  messageId: sql.fragment`coalesce(m.envelope ->> 'messageId', m.message_id)`,
  inReplyTo: sql.fragment`m.envelope ->> 'inReplyTo'`,
  // Kept lower-cased for SEARCH HEADER; THREAD compares message ids case-insensitively anyway.
  references: sql.fragment`(SELECT string_agg(h ->> 1, ' ') FROM jsonb_array_elements(m.search_headers) AS h
    WHERE h ->> 0 = 'references')`,
};
const changesRow = z.object({
  highest_modseq: z.number(),
  changed: z.array(z.tuple([z.number(), z.number(), z.array(z.string())])),
  vanished: z.array(z.number()),
});

export * from "./compileSearch.ts";
export { CachedMailboxFlags, type FlagsSnapshot } from "./flagsCache.ts";
export * from "./searchCriteria.ts";

export interface MailboxStatus {
  mailboxId: string;
  name: string;
  selectable: boolean;
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  messages: number;
  unseen: number;
  /** Total size of the mailbox's messages in octets (RFC 8438 STATUS SIZE). */
  size: number;
  specialUse: string | null;
  appendLimit: number | null;
}

export interface AccessKeyMaterial {
  userId: string;
  mailboxId: string;
  uidValidity: number;
  /** RESETKEY without a mailbox changes this one. */
  userSalt: string;
  /** RESETKEY of the mailbox changes this one. */
  mailboxSalt: string;
}

export interface NamespaceSnapshot {
  /** Not deleted ones, by name. */
  mailboxes: MailboxStatus[];
  subscriptions: string[];
}

export interface ListedMailbox {
  name: string;
  delimiter: string;
  /** \Noselect, \HasChildren or \HasNoChildren, special-use, \Subscribed, \NonExistent. */
  attributes: string[];
  mailboxId: string | null;
}

export interface ListOptions {
  reference?: string;
  pattern: string;
  /** LSUB / LIST (SUBSCRIBED): subscribed names, existing or not. */
  subscribedOnly?: boolean;
}

export type FetchItem =
  | "flags"
  | "modseq"
  | "internalDate"
  | "size"
  | "blobDigest"
  | "envelope"
  /** The MIME tree with byte offsets: BODYSTRUCTURE via encodeBodyStructure, BODY[section] via sectionRange. */
  | "structure"
  /** RFC 8514 SAVEDATE: when the message came into this mailbox. */
  | "saveDate"
  /** RFC 8970 PREVIEW: from the bodies view, derived on demand where it lacks one. */
  | "preview"
  /** PREVIEW (LAZY): from the bodies view only, null where it lacks one. */
  | "previewLazy";

export interface FetchedMessage {
  uid: number;
  flags?: string[];
  modseq?: number;
  internalDate?: Date;
  size?: number;
  blobDigest?: string;
  envelope?: Envelope | null;
  structure?: MessageStructure | null;
  /** null for a row the index has no arrival for (written before SAVEDATE was kept). */
  saveDate?: Date | null;
  /** null only for "previewLazy" when the view has none yet. */
  preview?: string | null;
}

/** Messages read from the index, and the mailbox's HIGHESTMODSEQ in the same snapshot (null: no row to tell). */
export interface FetchedBatch {
  messages: FetchedMessage[];
  highestModSeq: number | null;
}

/** A column of the index FETCH reads packed, a chunk of messages at a time (fetchIndex). */
export type IndexColumn = "flags" | "modseq" | "internalDate" | "size" | "blobDigest" | "envelope";

/**
 * Messages read from the index in one packed row, ascending by UID, column by column: only the
 * columns asked for are read and sent. `flags` holds each message's flags joined by spaces.
 */
export interface IndexBatch {
  uids: Uint32Array;
  flags?: string[];
  modseqs?: Float64Array;
  /** INTERNALDATE, whole ms since the epoch. */
  internalDates?: Float64Array;
  sizes?: Float64Array;
  blobDigests?: string[];
  /**
   * Each ENVELOPE as IMAP text (RFC 3501 7.4.2), from the bodies view or derived on demand where
   * it lacks the body; every field NIL where there is no body to read.
   */
  envelopes?: string[];
  /** The mailbox's HIGHESTMODSEQ in the same snapshot (null: no such mailbox of the user). */
  highestModSeq: number | null;
}

export interface Changes {
  /** Messages whose MODSEQ is above the given one. */
  changed: { uid: number; modseq: number; flags: string[] }[];
  /** UIDs expunged at a MODSEQ above the given one (QRESYNC VANISHED). */
  vanished: number[];
  /** The mailbox's HIGHESTMODSEQ as the view has it now. */
  highestModSeq: number;
}

const mailboxRow = z.object({
  mailbox_id: z.string(),
  name: z.string(),
  status: z.string(),
  uid_validity: z.number().nullable(),
  uid_next: z.number(),
  highest_modseq: z.number(),
  message_count: z.number(),
  unseen_count: z.number(),
  total_size: z.number(),
  special_use: z.string().nullable(),
  append_limit: z.number().nullable(),
});
type MailboxRow = z.infer<typeof mailboxRow>;

const openedMailboxRow = mailboxRow.extend({
  uids: z.instanceof(Buffer).nullable(),
  first_unseen_uid: z.number().nullable(),
});
const listedMailboxRow = mailboxRow.extend({ subscribed: z.boolean() });
const accessKeyRow = z.object({
  user_id: z.string(),
  user_salt: z.string(),
  mailbox_id: z.string(),
  uid_validity: z.number().nullable(),
  mailbox_salt: z.string(),
});
const namespaceSnapshotRow = z.object({ mailboxes: z.array(mailboxRow), subscriptions: z.array(z.string()) });
const packedSearchRow = z.object({
  mailbox_modseq: z.number().nullable(),
  uids: z.instanceof(Buffer).nullable(),
  highest_modseq: z.number().nullable(),
});
const packedIndexRow = z.object({
  mailbox_modseq: z.number().nullable(),
  uids: z.instanceof(Buffer).nullable(),
  flags: z.string().nullable().optional(),
  modseqs: z.instanceof(Buffer).nullable().optional(),
  internal_dates: z.instanceof(Buffer).nullable().optional(),
  sizes: z.instanceof(Buffer).nullable().optional(),
  blob_digests: z.string().nullable().optional(),
});
const envelopeRow = z.object({ blob_digest: z.string(), envelope: z.custom<Envelope>() });

/** ENVELOPE of a message whose body could not be read: every field NIL. */
export const NIL_ENVELOPE = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";

/** Octets of ENVELOPE texts a node keeps by body digest (MailboxQueriesOptions.envelopeCacheBytes). */
export const ENVELOPE_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Each index column packed over a chunk (alias o, ascending by UID): fixed-width binary for
 * numbers, one text for flags (atoms: no space, no line break, RFC 3501 9) and digests (64 hex
 * digits each). INTERNALDATE is whole milliseconds from date_part, a float8: extract() is
 * numeric since PostgreSQL 14, several times slower over 100,000 rows.
 */
const PACKED_INDEX_COLUMNS: Record<Exclude<IndexColumn, "envelope">, FragmentSqlToken> = {
  flags: sql.fragment`string_agg(array_to_string(o.flags, ' '), E'\n') AS flags`,
  modseq: sql.fragment`string_agg(float8send(o.modseq::float8), '') AS modseqs`,
  internalDate: sql.fragment`string_agg(float8send(round(date_part('epoch', o.internal_date) * 1000)), '') AS internal_dates`,
  size: sql.fragment`string_agg(float8send(o.size::float8), '') AS sizes`,
  blobDigest: sql.fragment`string_agg(o.blob_digest, '') AS blob_digests`,
};

/** Big-endian float8s, as float8send packs them, into numbers. */
function unpackDoubles(packed: Buffer | null | undefined, count: number): Float64Array {
  const values = new Float64Array(count);
  if (packed == null) return values;
  for (let i = 0; i < count; i++) values[i] = packed.readDoubleBE(i * 8);
  return values;
}

const SEEN_FLAG = "\\Seen";

/**
 * The one place a message's flags are read for a session (alias.flags otherwise): a user other
 * than the owner of a shared mailbox (`reader`) sees his own \Seen (0061_private_seen.sql), never
 * the owner's. FETCH FLAGS, STORE's and the doorbell's FETCH, SEARCH SEEN/UNSEEN (through the
 * messages relation), SELECT's first unseen message all read this.
 */
export function flagsSeenBy(alias: string, reader: string | null): FragmentSqlToken {
  const flags = sql.identifier([alias, "flags"]);
  if (reader === null) return sql.fragment`${flags}`;
  return sql.fragment`(array_remove(${flags}, ${SEEN_FLAG}::text) || CASE WHEN EXISTS (
      SELECT 1 FROM private_seen AS ps
      WHERE ps.mailbox_id = ${sql.identifier([alias, "mailbox_id"])} AND ps.user_id = ${reader}
        AND ps.uid = ${sql.identifier([alias, "uid"])}) THEN ARRAY[${SEEN_FLAG}::text] ELSE ARRAY[]::text[] END)`;
}

/** A mailbox's columns; its UNSEEN is the reader's own on a shared mailbox (flagsSeenBy). */
function mailboxColumnsFor(reader: string | null): FragmentSqlToken {
  const unseen =
    reader === null
      ? sql.fragment`mb.unseen_count`
      : sql.fragment`(mb.message_count - (SELECT count(*) FROM private_seen AS ps
           WHERE ps.mailbox_id = mb.id AND ps.user_id = ${reader}))::int8 AS unseen_count`;
  return sql.fragment`
  mb.id AS mailbox_id, mb.name, mb.status, mb.uid_validity, mb.uid_next, mb.highest_modseq, mb.message_count,
  ${unseen}, mb.total_size, mb.special_use, mb.append_limit`;
}

/**
 * The lowest and highest UID of a set: with them the primary key finds a chunk's rows; the
 * multirange alone is a filter over every message of the mailbox (9 against 1.5 ms per 5,000
 * of 100,000 here).
 */
function boundsOf(uids: UidSet): { lowest: number; highest: number } {
  let lowest = Number.POSITIVE_INFINITY;
  let highest = 0;
  for (const range of uids) {
    lowest = Math.min(lowest, range.start, range.end);
    highest = Math.max(highest, range.start, range.end);
  }
  return { lowest, highest };
}

/** UIDs packed 4 bytes each, biased into int4 range (string_agg of int4send). */
function unpackUids(packed: Buffer | null): Uint32Array {
  if (packed === null) return new Uint32Array(0);
  const uids = new Uint32Array(packed.length / 4);
  for (let i = 0; i < uids.length; i++) uids[i] = packed.readInt32BE(i * 4) + UID_BIAS;
  return uids;
}

function toStatus(row: MailboxRow): MailboxStatus {
  return {
    mailboxId: row.mailbox_id,
    name: row.name,
    selectable: row.status === "selectable",
    uidValidity: row.uid_validity ?? 0,
    uidNext: row.uid_next,
    highestModSeq: row.highest_modseq,
    messages: row.message_count,
    unseen: row.unseen_count,
    size: row.total_size,
    specialUse: row.special_use,
    appendLimit: row.append_limit,
  };
}

/**
 * A LIST pattern with INBOX's spellings as the stored "INBOX" (RFC 3501 5.1). Only that: a
 * pattern is not a name (a trailing separator or "%" means something in it).
 */
function inboxCaseFolded(name: string): string {
  const head = name.slice(0, 5);
  if (head.toUpperCase() === "INBOX" && (name.length === 5 || name[5] === MAILBOX_HIERARCHY_SEPARATOR)) {
    return `INBOX${name.slice(5)}`;
  }
  return name;
}

/** A LIST pattern as a regular expression: `*` any characters, `%` any but the separator. */
export function listPatternRegExp(reference: string, pattern: string): RegExp {
  const full = inboxCaseFolded(reference + pattern);
  const escaped = [...full]
    .map((char) => {
      if (char === "*") return ".*";
      if (char === "%") return `[^${MAILBOX_HIERARCHY_SEPARATOR}]*`;
      return char.replace(/[\\^$.|?+()[\]{}]/g, "\\$&");
    })
    .join("");
  return new RegExp(`^${escaped}$`, "su");
}

/** UIDs (1..2^32-1) shifted into int4's range, so each travels in 4 bytes. */
const UID_BIAS = 2_147_483_648;

const FETCH_COLUMNS: Record<FetchItem, ReturnType<typeof sql.fragment>> = {
  flags: sql.fragment`m.flags`,
  modseq: sql.fragment`m.modseq`,
  internalDate: sql.fragment`m.internal_date`,
  size: sql.fragment`m.size`,
  blobDigest: sql.fragment`m.blob_digest`,
  envelope: sql.fragment`m.envelope`,
  structure: sql.fragment`m.structure`,
  saveDate: sql.fragment`m.save_date`,
  preview: sql.fragment`m.preview`,
  previewLazy: sql.fragment`m.preview`,
};
const FETCH_ALIASES: Record<FetchItem, string> = {
  flags: "flags",
  modseq: "modseq",
  internalDate: "internal_date",
  size: "size",
  blobDigest: "blob_digest",
  envelope: "envelope",
  structure: "structure",
  saveDate: "save_date",
  preview: "preview",
  previewLazy: "preview",
};

const fetchedRow = z.object({
  uid: z.number(),
  mailbox_modseq: z.number(),
  flags: z.array(z.string()).optional(),
  modseq: z.number().optional(),
  internal_date: z.number().optional(),
  size: z.number().optional(),
  blob_digest: z.string().optional(),
  envelope: z.custom<Envelope>().nullable().optional(),
  structure: z.custom<MessageStructure>().nullable().optional(),
  save_date: z.number().nullable().optional(),
  preview: z.string().nullable().optional(),
});

export interface OpenedMailbox {
  status: MailboxStatus;
  uids: Uint32Array;
  firstUnseenUid: number | null;
}

export interface MailboxQueries {
  /**
   * These queries as `readerId`, a user other than the owner, sees a mailbox shared with him:
   * \Seen (FLAGS, SEARCH SEEN and UNSEEN, UNSEEN counts, the first unseen message) is his own
   * (flagsSeenBy). The owner's are these.
   */
  forReader(readerId: string): MailboxQueries;
  listMailboxes(userId: string, options: ListOptions): Promise<ListedMailbox[]>;
  /** STATUS / SELECT data of a mailbox by name, or null when the user has no such mailbox. */
  mailboxStatus(userId: string, name: string): Promise<MailboxStatus | null>;
  mailboxStatusById(userId: string, mailboxId: string): Promise<MailboxStatus | null>;
  /** Every UID of the mailbox in ascending order (the session's sequence-number map). */
  uidList(userId: string, mailboxId: string): Promise<Uint32Array>;
  /**
   * What SELECT needs, in one round trip and one snapshot: the mailbox by name (null when the
   * user has none), its UIDs ascending and its lowest UID without \Seen.
   */
  openMailbox(userId: string, name: string): Promise<OpenedMailbox | null>;
  fetchMessages(
    userId: string,
    mailboxId: string,
    uids: UidSet,
    items: readonly FetchItem[],
  ): Promise<FetchedBatch>;
  /**
   * FLAGS, MODSEQ, INTERNALDATE and RFC822.SIZE of the messages, ascending by UID: what a client's
   * resync asks of every message. One packed row per call instead of a row per message.
   */
  fetchMetadata(userId: string, mailboxId: string, uids: UidSet): Promise<FetchedBatch>;
  /**
   * The messages' `columns` (and UIDs), ascending by UID, packed in one row: what FETCH reads a
   * chunk of a large mailbox with, without a row, or a column, it does not answer from.
   */
  fetchIndex(
    userId: string,
    mailboxId: string,
    uids: UidSet,
    columns: readonly IndexColumn[],
  ): Promise<IndexBatch>;
  changesSince(userId: string, mailboxId: string, modseq: number): Promise<Changes>;
  /**
   * The node's copy of the mailbox's FLAGS and MODSEQ, brought to its HIGHESTMODSEQ by this call
   * (flagsCache.ts): what `FETCH 1:* (FLAGS)` of a large mailbox answers from. `knownUids`, the
   * UIDs the caller knows ascending, cut the first read into chunks. Null when the mailbox is
   * gone or the node keeps no copy (MailboxQueriesOptions.flagsCacheBytes 0).
   */
  cachedFlags(
    userId: string,
    mailboxId: string,
    knownUids: readonly number[],
  ): Promise<CachedMailboxFlags | null>;
  /** The octets all the user's messages take (RFC 9208 STORAGE usage), from the index's counters. */
  storageUsed(userId: string): Promise<number>;
  /**
   * Every mailbox of the user with its counters, and the names the user subscribed to, in one
   * snapshot: what a NOTIFY session compares with what it last reported (RFC 5465).
   */
  namespaceSnapshot(userId: string): Promise<NamespaceSnapshot>;
  /**
   * What a URLAUTH URL's token is checked with (RFC 4467): the mailbox `mailboxName` of the user
   * named `username` (lower-cased, as user names are kept), and the salts of its access key.
   * This one query reads across users: URLFETCH may fetch another user's message with a valid
   * token, and only then is that message read.
   */
  accessKeyOf(username: string, mailboxName: string): Promise<AccessKeyMaterial | null>;
  /** Does a message below UID `belowUid` have a MODSEQ above `modseq` (its flags changed)? */
  flagsChangedSince(userId: string, mailboxId: string, modseq: number, belowUid: number): Promise<boolean>;
  /** The messages matching `criteria`, ascending by UID, with the `fields` SORT orders them by. */
  sortFields(
    userId: string,
    mailboxId: string,
    criteria: SearchKey,
    fields: readonly SortField[],
  ): Promise<SortFields[]>;
  /**
   * UIDs matching `criteria`, ascending, the highest MODSEQ among them (RFC 7162 SEARCH), and the
   * mailbox's HIGHESTMODSEQ the search saw (contract 9: whether it moved since the session looked).
   */
  search(
    userId: string,
    mailboxId: string,
    criteria: SearchKey,
  ): Promise<{ uids: number[]; highestModSeq: number | null; mailboxHighestModSeq: number | null }>;
}

export interface MailboxQueriesOptions {
  /** Where bodies are read when the bodies view lacks one (the blob store). */
  blobs: BlobSource;
  /** Bounds of the on-demand derivations remembered. */
  derivations?: MessageDeriverOptions;
  /** Octets of ENVELOPE texts kept by body digest (default ENVELOPE_CACHE_BYTES; 0: none). */
  envelopeCacheBytes?: number;
  /** Bodies derived on demand per pass of one query (default ON_DEMAND_BATCH). */
  onDemandBatch?: number;
  /** Octets of FLAGS and MODSEQ copies of large mailboxes kept (FLAGS_CACHE; 0: none). */
  flagsCacheBytes?: number;
  /** Messages per read of a new copy (default FLAGS_LOAD_CHUNK); tests use few. */
  flagsLoadChunk?: number;
}

/** Messages per read when a mailbox's copy is first made: bounds that read's memory. */
const FLAGS_LOAD_CHUNK = 50_000;
/** Changes past which a copy is read again rather than brought up to date. */
const FLAGS_RELOAD_CHANGES = 20_000;
const HIGHEST_UID = 4_294_967_295;

/** Bodies derived on demand per pass of a query: bounds the memory of a search over a lagging view. */
export const ON_DEMAND_BATCH = 200;
/** ... and about this much derived text per pass. */
const ON_DEMAND_PASS_BYTES = 16 * 1024 * 1024;
/** Blobs read and derived at once for a pass. */
const DERIVE_CONCURRENCY = 8;

type DerivedColumn = Exclude<keyof DerivedRow, "blob_digest">;

/**
 * The derived columns a search key reads (none: the index alone answers). Rows derived on demand
 * carry only those: a body's search text can be megabytes.
 */
function derivedColumnsOf(key: SearchKey, into = new Set<DerivedColumn>()): Set<DerivedColumn> {
  switch (key.type) {
    case "header":
    // SENTON/SENTBEFORE/SENTSINCE compare the day the Date header names (compileSearch's SENT_DAY).
    case "sentDate":
      into.add("search_headers");
      break;
    case "address":
      // The header text, and the envelope's parsed addresses (compileSearch's addressCondition).
      into.add(`search_${key.field}`).add("envelope");
      break;
    case "subject":
      into.add("search_subject");
      break;
    case "body":
      into.add("search_body");
      break;
    case "text":
      into.add("search_header_text").add("search_body");
      break;
    case "not":
      derivedColumnsOf(key.key, into);
      break;
    case "or":
      derivedColumnsOf(key.left, into);
      derivedColumnsOf(key.right, into);
      break;
    case "and":
      for (const inner of key.keys) derivedColumnsOf(inner, into);
      break;
    default:
      break;
  }
  return into;
}

/** What each SORT field reads beyond the index (SORT_COLUMNS). */
const SORT_FIELD_COLUMNS: Record<SortField, readonly DerivedColumn[]> = {
  internalDate: [],
  sentDate: [],
  size: [],
  subject: ["envelope", "search_subject"],
  from: ["envelope"],
  to: ["envelope"],
  cc: ["envelope"],
  displayFrom: ["envelope"],
  displayTo: ["envelope"],
  messageId: ["envelope"],
  inReplyTo: ["envelope"],
  references: ["search_headers"],
};

/**
 * Where a query finds derived rows: the bodies view, plus rows derived on demand (those of
 * digests the view does not have in this statement's snapshot), or those rows alone.
 */
type BodiesSource = { view: boolean; extra: readonly Partial<DerivedRow>[] };
const VIEW_ONLY: BodiesSource = { view: true, extra: [] };

function bodiesRelation(source: BodiesSource): FragmentSqlToken {
  const viewColumns = sql.fragment`blob_digest, envelope, structure, search_from, search_to, search_cc, search_bcc,
    search_subject, search_headers, search_header_text, search_body, preview`;
  if (source.extra.length === 0) {
    return source.view
      ? sql.fragment`(SELECT ${viewColumns} FROM proj_bodies.message_bodies)`
      : sql.fragment`(SELECT ${viewColumns} FROM proj_bodies.message_bodies WHERE false)`;
  }
  const extra = sql.fragment`SELECT * FROM json_to_recordset(${JSON.stringify(source.extra)}::json) AS d(${DERIVED_ROW_COLUMNS})`;
  if (!source.view) return sql.fragment`(${extra})`;
  // A row the projector committed since the digests were listed is taken from the view alone.
  return sql.fragment`(
    SELECT ${viewColumns} FROM proj_bodies.message_bodies
    UNION ALL
    SELECT e.* FROM (${extra}) AS e
    WHERE NOT EXISTS (SELECT 1 FROM proj_bodies.message_bodies AS v WHERE v.blob_digest = e.blob_digest))`;
}

/** The event's header summary, lowercased: what FROM, TO, CC and SUBJECT search when no body was derived. */
const summaryText = (field: string) =>
  sql.fragment`lower(array_to_string(ARRAY(SELECT jsonb_array_elements_text(i.header_summary -> ${field})), E'\n'))`;

/**
 * RFC 8514 SAVEDATE: when the event that brought the message into its mailbox was recorded, read
 * from the log (the index keeps that event's MODSEQ, its version in the mailbox's stream).
 */
const SAVE_DATE = sql.fragment`(SELECT e.recorded_at FROM events AS e
  WHERE e.stream_id = 'mailbox-' || i.mailbox_id AND e.stream_version = i.arrival_modseq)`;

/**
 * The messages of one mailbox as alias m: the index's columns, and beside each what was derived
 * from its body (null where there is none). The planner drops the join when a query reads none
 * of the derived columns.
 */
function messagesRelation(
  mailbox: FragmentSqlToken,
  source: BodiesSource,
  reader: string | null,
): FragmentSqlToken {
  return sql.fragment`(
    SELECT i.mailbox_id, i.uid, i.modseq, ${flagsSeenBy("i", reader)} AS flags, i.internal_date, i.size, i.blob_digest,
      -- A Date header's year past 9999 (JavaScript writes it +YYYYYY-) is no date PostgreSQL reads.
      CASE WHEN (i.header_summary ->> 'date') ~ '^[0-9]{4}-' THEN (i.header_summary ->> 'date')::timestamptz END AS sent_date,
      ${SAVE_DATE} AS save_date,
      i.header_summary ->> 'messageId' AS message_id,
      b.envelope, b.structure, b.preview,
      coalesce(b.search_from, ${summaryText("from")}, '') AS search_from,
      coalesce(b.search_to, ${summaryText("to")}, '') AS search_to,
      coalesce(b.search_cc, ${summaryText("cc")}, '') AS search_cc,
      coalesce(b.search_bcc, '') AS search_bcc,
      coalesce(b.search_subject, lower(i.header_summary ->> 'subject'), '') AS search_subject,
      coalesce(b.search_headers, '[]'::jsonb) AS search_headers,
      coalesce(b.search_header_text, '') AS search_header_text,
      coalesce(b.search_body, '') AS search_body
    FROM messages AS i LEFT JOIN ${bodiesRelation(source)} AS b ON b.blob_digest = i.blob_digest
    WHERE i.mailbox_id = ${mailbox}) AS m`;
}

export function createMailboxQueries(pool: DatabasePool, options: MailboxQueriesOptions): MailboxQueries {
  const connection: CommonQueryMethods = pool;
  const deriver = new MessageDeriver(options.blobs, options.derivations);
  const batchSize = options.onDemandBatch ?? ON_DEMAND_BATCH;
  /** The mailbox, if it is this user's: every message query goes through it. */
  const owned = (userId: string, mailboxId: string) =>
    sql.fragment`(SELECT id FROM mailboxes WHERE id = ${mailboxId} AND user_id = ${userId} AND status <> 'deleted')`;
  /**
   * When the bodies view has not applied every event of the mailbox, the digests of the messages
   * changed since the MODSEQ it reached that it has no row for (an index range scan, however big
   * the mailbox); null when it has caught up, so it has every body the mailbox's messages have
   * (or will never have: a blob that could not be read).
   */
  const lackingDigests = (userId: string, mailboxId: string) => sql.fragment`
    (SELECT CASE WHEN applied.modseq >= mb.highest_modseq THEN NULL ELSE coalesce((
        SELECT json_agg(DISTINCT i.blob_digest) FROM messages AS i
        WHERE i.mailbox_id = mb.id AND i.modseq > applied.modseq
          AND NOT EXISTS (SELECT 1 FROM proj_bodies.message_bodies AS b WHERE b.blob_digest = i.blob_digest)
      ), '[]'::json) END
     FROM mailboxes AS mb,
       LATERAL (SELECT coalesce((SELECT v.highest_modseq FROM proj_bodies.mailboxes AS v
                                 WHERE v.mailbox_id = mb.id), 0) AS modseq) AS applied
     WHERE mb.id = ${mailboxId} AND mb.user_id = ${userId})`;

  /**
   * The digests' derived rows, carrying only `columns`, in passes of at most `batchSize` bodies
   * and about ON_DEMAND_PASS_BYTES of derived text (a body's search text can be megabytes), its
   * blobs read DERIVE_CONCURRENCY at a time: memory stays bounded however far the view lags.
   */
  async function* derivedPasses(
    digests: readonly string[],
    columns: ReadonlySet<DerivedColumn>,
  ): AsyncGenerator<{ digests: string[]; rows: Partial<DerivedRow>[] }> {
    let pass: { digests: string[]; rows: Partial<DerivedRow>[] } = { digests: [], rows: [] };
    let bytes = 0;
    for (let i = 0; i < digests.length; i += DERIVE_CONCURRENCY) {
      const derived = await deriver.deriveAll(digests.slice(i, i + DERIVE_CONCURRENCY));
      for (const [digest, message] of derived) {
        pass.digests.push(digest);
        const row = derivedRowOf(digest, message);
        if (row === null) continue;
        const pruned: Partial<DerivedRow> = { blob_digest: row.blob_digest };
        for (const column of columns) {
          const value = row[column];
          (pruned as Record<string, unknown>)[column] = value;
          bytes += typeof value === "string" ? value.length : 256;
        }
        pass.rows.push(pruned);
        if (pass.digests.length >= batchSize || bytes >= ON_DEMAND_PASS_BYTES) {
          yield pass;
          pass = { digests: [], rows: [] };
          bytes = 0;
        }
      }
    }
    if (pass.digests.length > 0) yield pass;
  }

  /**
   * One packed row per message (`columns`, a json array) of those matching `condition`, ascending
   * by UID. When the query reads derived columns and the bodies view has not reached the mailbox,
   * the bodies it lacks are derived on demand, in passes of `batchSize` bodies.
   */
  async function packedRows(
    userId: string,
    mailboxId: string,
    columns: FragmentSqlToken,
    condition: FragmentSqlToken,
    derived: ReadonlySet<DerivedColumn>,
    reader: string | null,
  ): Promise<{ rows: (number | string | null)[][]; mailboxHighestModSeq: number | null }> {
    const needsBodies = derived.size > 0;
    const mailbox = owned(userId, mailboxId);
    let mailboxHighestModSeq: number | null = null;
    const run = async (source: BodiesSource, restrict: FragmentSqlToken) => {
      const result = await connection.one(sql.type(packedRowsRow)`
        WITH lacking AS (SELECT ${needsBodies && source === VIEW_ONLY ? lackingDigests(userId, mailboxId) : sql.fragment`NULL::json`} AS digests)
        SELECT lacking.digests AS lacking,
          (SELECT highest_modseq FROM mailboxes WHERE id = ${mailboxId} AND user_id = ${userId}) AS mailbox_modseq,
          CASE WHEN lacking.digests IS NULL THEN (
            SELECT json_agg(${columns} ORDER BY m.uid) FROM ${messagesRelation(mailbox, source, reader)}
            WHERE (${condition}) AND ${restrict}) END AS rows
        FROM lacking`);
      mailboxHighestModSeq = Math.max(mailboxHighestModSeq ?? 0, result.mailbox_modseq ?? 0) || null;
      return result;
    };
    const fast = await run(VIEW_ONLY, sql.fragment`true`);
    if (fast.lacking === null) return { rows: fast.rows ?? [], mailboxHighestModSeq };
    // Not in one snapshot: the blobs are read between the statements (the blob store may be this
    // very database). Each statement is consistent in itself; a change concurrent with the
    // command may show in one pass and not another, which the UID union below absorbs.
    const missing = fast.lacking;
    const passes = derivedPasses(missing, derived);
    const first = await passes.next();
    const second = first.done ? first : await passes.next();
    if (second.done) {
      // One pass holds them all: the view's rows and these together, in one statement.
      const extra = first.done ? [] : first.value.rows;
      const rows = (await run({ view: true, extra }, sql.fragment`true`)).rows ?? [];
      return { rows, mailboxHighestModSeq };
    }
    // The messages with the bodies the view has, then those it lacks, a pass of bodies at a time.
    const byUid = new Map<number, (number | string | null)[]>();
    const others = sql.fragment`NOT (m.blob_digest = ANY(${sql.array(missing, "text")}))`;
    for (const row of (await run({ view: true, extra: [] }, others)).rows ?? [])
      byUid.set(row[0] as number, row);
    const passOver = async (pass: { digests: string[]; rows: Partial<DerivedRow>[] }) => {
      const restrict = sql.fragment`m.blob_digest = ANY(${sql.array(pass.digests, "text")})`;
      for (const row of (await run({ view: false, extra: pass.rows }, restrict)).rows ?? []) {
        byUid.set(row[0] as number, row);
      }
    };
    await passOver(first.value!);
    await passOver(second.value);
    for await (const pass of passes) await passOver(pass);
    const rows = [...byUid.values()].sort((a, b) => (a[0] as number) - (b[0] as number));
    return { rows, mailboxHighestModSeq };
  }

  /**
   * ENVELOPE texts by body digest, most recently used last: a body never changes, so neither
   * does its ENVELOPE (until a rebuild of the bodies view with a fixed parser, which a restart
   * of the node picks up). What Dovecot's cache file is to its FETCH ENVELOPE, in memory.
   */
  const envelopeCache = new Map<string, string>();
  let envelopeCacheBytes = 0;
  const envelopeCacheLimit = options.envelopeCacheBytes ?? ENVELOPE_CACHE_BYTES;

  /** The ENVELOPE text of each digest: cached, else read from the bodies view, else derived. */
  async function envelopeTexts(digests: readonly string[]): Promise<string[]> {
    const missing = new Set<string>();
    for (const digest of digests) if (!envelopeCache.has(digest)) missing.add(digest);
    const read = new Map<string, string>();
    if (missing.size > 0) {
      const rows = await connection.any(sql.type(envelopeRow)`
        SELECT blob_digest, envelope FROM proj_bodies.message_bodies
        WHERE blob_digest = ANY(${sql.array([...missing], "text")})`);
      for (const row of rows) read.set(row.blob_digest, encodeEnvelope(row.envelope));
      // Bodies the view has not derived yet (or whose blob is gone): derived here, not waited for.
      const lacking = [...missing].filter((digest) => !read.has(digest));
      if (lacking.length > 0) {
        for (const [digest, derived] of await deriver.deriveAll(lacking)) {
          read.set(digest, derived.envelope === null ? NIL_ENVELOPE : encodeEnvelope(derived.envelope));
        }
      }
      for (const [digest, text] of read) {
        if (envelopeCacheLimit <= 0 || envelopeCache.has(digest)) continue;
        envelopeCache.set(digest, text);
        envelopeCacheBytes += text.length + digest.length;
        for (const [oldest, old] of envelopeCache) {
          if (envelopeCacheBytes <= envelopeCacheLimit) break;
          envelopeCache.delete(oldest);
          envelopeCacheBytes -= old.length + oldest.length;
        }
      }
    }
    return digests.map((digest) => {
      const fresh = read.get(digest);
      if (fresh !== undefined) return fresh;
      const cached = envelopeCache.get(digest) ?? NIL_ENVELOPE;
      // Most recently used last: the first key is the one to forget.
      envelopeCache.delete(digest);
      envelopeCache.set(digest, cached);
      return cached;
    });
  }

  /**
   * The changes above `modseq` (one round trip, one snapshot), their flags as `reader` sees them
   * (flagsSeenBy); null when the mailbox is gone.
   */
  async function changesAbove(
    userId: string,
    mailboxId: string,
    modseq: number,
    reader: string | null,
  ): Promise<Changes | null> {
    const row = await connection.maybeOne(sql.type(changesRow)`
        SELECT mb.highest_modseq,
          (SELECT coalesce(json_agg(json_build_array(m.uid, m.modseq, ${flagsSeenBy("m", reader)}) ORDER BY m.uid), '[]'::json)
             FROM messages AS m WHERE m.mailbox_id = mb.id AND m.modseq > ${modseq}) AS changed,
          (SELECT coalesce(json_agg(t.uid ORDER BY t.uid), '[]'::json)
             FROM tombstones AS t WHERE t.mailbox_id = mb.id AND t.modseq > ${modseq}) AS vanished
        FROM mailboxes AS mb
        WHERE mb.id = ${mailboxId} AND mb.user_id = ${userId} AND mb.status <> 'deleted'`);
    if (row === null) return null;
    return {
      changed: row.changed.map(([uid, changedModseq, flags]) => ({ uid, modseq: changedModseq, flags })),
      vanished: row.vanished,
      highestModSeq: row.highest_modseq,
    };
  }

  const flagsCopies = new Map<string, { userId: string; copy: CachedMailboxFlags }>();
  const flagsCacheLimit = options.flagsCacheBytes ?? DEFAULT_FLAGS_CACHE_BYTES;
  /** One reader or updater of a mailbox's copy at a time. */
  const flagsLocks = new Map<string, Promise<unknown>>();

  async function cachedFlags(
    userId: string,
    mailboxId: string,
    knownUids: readonly number[],
  ): Promise<CachedMailboxFlags | null> {
    if (flagsCacheLimit <= 0) return null;
    const before = flagsLocks.get(mailboxId) ?? Promise.resolve();
    const turn = before.catch(() => {}).then(() => refreshFlags(userId, mailboxId, knownUids));
    flagsLocks.set(mailboxId, turn);
    try {
      return await turn;
    } finally {
      if (flagsLocks.get(mailboxId) === turn) flagsLocks.delete(mailboxId);
    }
  }

  async function refreshFlags(
    userId: string,
    mailboxId: string,
    knownUids: readonly number[],
  ): Promise<CachedMailboxFlags | null> {
    const entry = flagsCopies.get(mailboxId);
    if (entry !== undefined && entry.userId === userId) {
      const changes = await changesAbove(userId, mailboxId, entry.copy.modseq, null);
      if (changes === null) {
        flagsCopies.delete(mailboxId);
        return null;
      }
      if (
        changes.changed.length + changes.vanished.length <=
        Math.max(FLAGS_RELOAD_CHANGES, entry.copy.count / 4)
      ) {
        entry.copy.apply(changes.changed, changes.vanished, changes.highestModSeq);
        // Most recently used last: the first is the one to forget.
        flagsCopies.delete(mailboxId);
        flagsCopies.set(mailboxId, entry);
        return entry.copy;
      }
    }
    flagsCopies.delete(mailboxId);
    const copy = await loadFlags(userId, mailboxId, knownUids);
    if (copy === null) return null;
    flagsCopies.set(mailboxId, { userId, copy });
    let total = 0;
    for (const kept of flagsCopies.values()) total += kept.copy.bytes;
    for (const [id, kept] of flagsCopies) {
      if (total <= flagsCacheLimit) break;
      flagsCopies.delete(id);
      total -= kept.copy.bytes;
    }
    return copy;
  }

  /**
   * A new copy, read in chunks of about FLAGS_LOAD_CHUNK messages (cut at the known UIDs), each in
   * its own snapshot; then the changes above the first chunk's HIGHESTMODSEQ make the whole exact
   * at one MODSEQ (a change re-applied is harmless, an expunge removes, a new message is added).
   */
  async function loadFlags(
    userId: string,
    mailboxId: string,
    knownUids: readonly number[],
  ): Promise<CachedMailboxFlags | null> {
    const bounds = [1];
    const chunk = options.flagsLoadChunk ?? FLAGS_LOAD_CHUNK;
    for (let i = chunk; i < knownUids.length; i += chunk) bounds.push(knownUids[i]!);
    bounds.push(HIGHEST_UID + 1);
    let copy: CachedMailboxFlags | undefined;
    for (let i = 0; i + 1 < bounds.length; i++) {
      const start = bounds[i]!;
      const end = bounds[i + 1]! - 1;
      if (end < start) continue;
      const batch = await fetchIndex(userId, mailboxId, [{ start, end }], ["flags", "modseq"], null);
      if (batch.highestModSeq === null) return null;
      copy ??= new CachedMailboxFlags(batch.highestModSeq, knownUids.length);
      const changed = Array.from(batch.uids, (uid, row) => ({
        uid,
        modseq: batch.modseqs![row]!,
        flags: batch.flags![row]!,
      }));
      copy.apply(changed, [], copy.modseq);
    }
    if (copy === undefined) return null;
    const changes = await changesAbove(userId, mailboxId, copy.modseq, null);
    if (changes === null) return null;
    copy.apply(changes.changed, changes.vanished, changes.highestModSeq);
    return copy;
  }

  async function fetchIndex(
    userId: string,
    mailboxId: string,
    uids: UidSet,
    columns: readonly IndexColumn[],
    reader: string | null,
  ): Promise<IndexBatch> {
    if (uids.length === 0) return { uids: new Uint32Array(0), highestModSeq: null };
    const wanted = new Set(columns);
    // ENVELOPE comes by body digest.
    if (wanted.has("envelope")) wanted.add("blobDigest");
    const { lowest, highest } = boundsOf(uids);
    // ENVELOPE is read by digest beside the chunk, for the bodies not in the cache (envelopeTexts).
    const inner = [...wanted].flatMap((column) =>
      column === "envelope" ? [] : [PACKED_INDEX_COLUMNS[column]],
    );
    const row = await connection.one(sql.type(packedIndexRow)`
        SELECT (SELECT highest_modseq FROM mailboxes WHERE id = ${mailboxId} AND user_id = ${userId}) AS mailbox_modseq,
          string_agg(int4send((o.uid - ${UID_BIAS})::int4), '') AS uids
          ${inner.length > 0 ? sql.fragment`, ${sql.join(inner, sql.fragment`, `)}` : sql.fragment``}
        FROM (
          SELECT m.uid, ${flagsSeenBy("m", reader)} AS flags, m.modseq, m.internal_date, m.size, m.blob_digest
          FROM messages AS m
          WHERE m.mailbox_id = ${owned(userId, mailboxId)}
            AND m.uid BETWEEN ${lowest} AND ${highest}
            AND ${uidMultirange(uids)}::int8multirange @> m.uid
          ORDER BY m.uid
        ) AS o`);
    const found = unpackUids(row.uids);
    const count = found.length;
    const batch: IndexBatch = { uids: found, highestModSeq: row.mailbox_modseq };
    if (count === 0) return batch;
    if (wanted.has("flags")) batch.flags = row.flags!.split("\n");
    if (wanted.has("modseq")) batch.modseqs = unpackDoubles(row.modseqs, count);
    if (wanted.has("internalDate")) batch.internalDates = unpackDoubles(row.internal_dates, count);
    if (wanted.has("size")) batch.sizes = unpackDoubles(row.sizes, count);
    if (wanted.has("blobDigest")) {
      const packed = row.blob_digests ?? "";
      batch.blobDigests = Array.from({ length: count }, (_, i) => packed.slice(i * 64, i * 64 + 64));
    }
    if (wanted.has("envelope")) batch.envelopes = await envelopeTexts(batch.blobDigests!);
    return batch;
  }

  /** The queries as `reader` sees the mailboxes (null: their owner); see flagsSeenBy. */
  const queriesFor = (reader: string | null): MailboxQueries => ({
    forReader: (readerId) => queriesFor(readerId),

    async listMailboxes(userId, listOptions) {
      const matcher = listPatternRegExp(listOptions.reference ?? "", listOptions.pattern);
      const rows = await connection.any(sql.type(listedMailboxRow)`
        SELECT ${mailboxColumnsFor(reader)},
          EXISTS (SELECT 1 FROM subscriptions AS s WHERE s.user_id = ${userId} AND s.name = mb.name) AS subscribed
        FROM mailboxes AS mb
        WHERE mb.user_id = ${userId} AND mb.status <> 'deleted'
        ORDER BY mb.name`);
      const names = new Set(rows.map((row) => row.name));
      const hasChildren = (name: string) => {
        const prefix = name + MAILBOX_HIERARCHY_SEPARATOR;
        for (const other of names) if (other.startsWith(prefix)) return true;
        return false;
      };
      const listed: ListedMailbox[] = [];
      for (const row of rows) {
        if (!matcher.test(row.name)) continue;
        if (listOptions.subscribedOnly && !row.subscribed) continue;
        const attributes: string[] = [];
        if (row.status !== "selectable") attributes.push("\\Noselect");
        attributes.push(hasChildren(row.name) ? "\\HasChildren" : "\\HasNoChildren");
        if (row.special_use) attributes.push(row.special_use);
        if (row.subscribed) attributes.push("\\Subscribed");
        listed.push({
          name: row.name,
          delimiter: MAILBOX_HIERARCHY_SEPARATOR,
          attributes,
          mailboxId: row.mailbox_id,
        });
      }
      if (listOptions.subscribedOnly) {
        const subscribed = await connection.anyFirst(sql.type(nameRow)`
          SELECT name FROM subscriptions WHERE user_id = ${userId} ORDER BY name`);
        for (const name of subscribed) {
          if (names.has(name) || !matcher.test(name)) continue;
          listed.push({
            name,
            delimiter: MAILBOX_HIERARCHY_SEPARATOR,
            attributes: ["\\NonExistent", "\\Noselect", "\\Subscribed"],
            mailboxId: null,
          });
        }
        listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      }
      return listed;
    },

    async mailboxStatus(userId, name) {
      const row = await connection.maybeOne(sql.type(mailboxRow)`
        SELECT ${mailboxColumnsFor(reader)} FROM mailboxes AS mb
        WHERE mb.user_id = ${userId} AND mb.name = ${mailboxLookupName(name)} AND mb.status <> 'deleted'`);
      return row ? toStatus(row) : null;
    },

    async mailboxStatusById(userId, mailboxId) {
      const row = await connection.maybeOne(sql.type(mailboxRow)`
        SELECT ${mailboxColumnsFor(reader)} FROM mailboxes AS mb
        WHERE mb.user_id = ${userId} AND mb.id = ${mailboxId} AND mb.status <> 'deleted'`);
      return row ? toStatus(row) : null;
    },

    async uidList(userId, mailboxId) {
      // One row holding 4 bytes per UID, in index order (an index-only scan, no sort): far
      // cheaper than 100,000 rows or their decimal text through the driver.
      const packed = await connection.oneFirst(sql.type(packedUidsRow)`
        SELECT string_agg(int4send((uid - ${UID_BIAS})::int4), '') AS uids
        FROM (
          SELECT uid FROM messages WHERE mailbox_id = ${owned(userId, mailboxId)} ORDER BY uid
        ) AS ordered`);
      return unpackUids(packed);
    },

    async openMailbox(userId, name) {
      // The unseen test is written as the partial index messages_unseen_idx states it.
      const row = await connection.maybeOne(sql.type(openedMailboxRow)`
        SELECT ${mailboxColumnsFor(reader)},
          (SELECT string_agg(int4send((o.uid - ${UID_BIAS})::int4), '')
             FROM (SELECT m.uid FROM messages AS m WHERE m.mailbox_id = mb.id ORDER BY m.uid) AS o) AS uids,
          (SELECT m.uid FROM messages AS m
             WHERE m.mailbox_id = mb.id AND NOT ('\\Seen' = ANY (${flagsSeenBy("m", reader)}))
             ORDER BY m.uid LIMIT 1) AS first_unseen_uid
        FROM mailboxes AS mb
        WHERE mb.user_id = ${userId} AND mb.name = ${mailboxLookupName(name)} AND mb.status <> 'deleted'`);
      if (row === null) return null;
      return { status: toStatus(row), uids: unpackUids(row.uids), firstUnseenUid: row.first_unseen_uid };
    },

    async fetchMetadata(userId, mailboxId, uids) {
      const batch = await fetchIndex(
        userId,
        mailboxId,
        uids,
        ["flags", "modseq", "internalDate", "size"],
        reader,
      );
      const messages: FetchedMessage[] = new Array(batch.uids.length);
      for (let i = 0; i < batch.uids.length; i++) {
        const line = batch.flags![i]!;
        messages[i] = {
          uid: batch.uids[i]!,
          flags: line === "" ? [] : line.split(" "),
          modseq: batch.modseqs![i]!,
          internalDate: new Date(batch.internalDates![i]!),
          size: batch.sizes![i]!,
        };
      }
      return { messages, highestModSeq: batch.highestModSeq };
    },

    fetchIndex: (userId, mailboxId, uids, columns) => fetchIndex(userId, mailboxId, uids, columns, reader),

    async fetchMessages(userId, mailboxId, uids, items) {
      if (uids.length === 0) return { messages: [], highestModSeq: null };
      // PREVIEW (LAZY) takes what the view has; plain PREVIEW derives what it lacks (and wins).
      const wanted = [...new Set(items)].filter(
        (item) => item !== "previewLazy" || !items.includes("preview"),
      );
      const derived = wanted.includes("envelope") || wanted.includes("structure");
      const derivesPreview = wanted.includes("preview");
      // The digest is needed to derive what the view lacks.
      if ((derived || derivesPreview) && !wanted.includes("blobDigest")) wanted.push("blobDigest");
      const { lowest, highest } = boundsOf(uids);
      const columns = [
        sql.fragment`m.uid`,
        sql.fragment`(SELECT highest_modseq FROM mailboxes WHERE id = ${mailboxId}) AS mailbox_modseq`,
        ...wanted.map(
          (item) => sql.fragment`${FETCH_COLUMNS[item]} AS ${sql.identifier([FETCH_ALIASES[item]])}`,
        ),
      ];
      const rows = await connection.any(sql.type(fetchedRow)`
        SELECT ${sql.join(columns, sql.fragment`, `)}
        FROM ${messagesRelation(owned(userId, mailboxId), VIEW_ONLY, reader)}
        WHERE m.uid BETWEEN ${lowest} AND ${highest}
          AND ${uidMultirange(uids)}::int8multirange @> m.uid
        ORDER BY m.uid`);
      // Bodies the view has not derived yet (or whose blob is gone): derived here, not waited for.
      const lacking =
        derived || derivesPreview
          ? await deriver.deriveAll(
              rows
                .filter(
                  (row) => (derived && row.structure == null) || (derivesPreview && row.preview == null),
                )
                .map((row) => row.blob_digest!),
            )
          : new Map();
      const messages = rows.map((row) => {
        const message: FetchedMessage = { uid: row.uid };
        if (row.flags !== undefined) message.flags = row.flags;
        if (row.modseq !== undefined) message.modseq = row.modseq;
        if (row.internal_date !== undefined) message.internalDate = new Date(row.internal_date);
        if (row.size !== undefined) message.size = row.size;
        if (row.blob_digest !== undefined) message.blobDigest = row.blob_digest;
        const onDemand = row.structure == null ? lacking.get(row.blob_digest) : undefined;
        if (row.envelope !== undefined) message.envelope = onDemand ? onDemand.envelope : row.envelope;
        if (row.structure !== undefined) message.structure = onDemand ? onDemand.structure : row.structure;
        if (row.save_date !== undefined)
          message.saveDate = row.save_date === null ? null : new Date(row.save_date);
        if (row.preview !== undefined) {
          const onDemandPreview = derivesPreview ? (lacking.get(row.blob_digest)?.preview ?? "") : null;
          message.preview = row.preview ?? onDemandPreview;
        }
        return message;
      });
      return { messages, highestModSeq: rows[0]?.mailbox_modseq ?? null };
    },

    async changesSince(userId, mailboxId, modseq) {
      return (
        (await changesAbove(userId, mailboxId, modseq, reader)) ?? {
          changed: [],
          vanished: [],
          highestModSeq: modseq,
        }
      );
    },

    // The copy holds the owner's flags: none is kept of a reader's (his \Seen is his own).
    cachedFlags: reader === null ? cachedFlags : async () => null,

    async search(userId, mailboxId, criteria) {
      const derived = derivedColumnsOf(criteria);
      if (derived.size === 0) {
        // The index alone answers (flags, dates, sizes, UIDs, the header summary): the UIDs packed
        // 4 bytes each and the highest MODSEQ computed here, not a JSON array per message.
        const row = await connection.one(sql.type(packedSearchRow)`
          SELECT (SELECT highest_modseq FROM mailboxes WHERE id = ${mailboxId} AND user_id = ${userId}) AS mailbox_modseq,
            string_agg(int4send((o.uid - ${UID_BIAS})::int4), '') AS uids, max(o.modseq)::float8 AS highest_modseq
          FROM (
            SELECT m.uid, m.modseq FROM ${messagesRelation(owned(userId, mailboxId), VIEW_ONLY, reader)}
            WHERE ${compileSearchKey(criteria)}
            ORDER BY m.uid
          ) AS o`);
        return {
          uids: Array.from(unpackUids(row.uids)),
          highestModSeq: row.highest_modseq,
          mailboxHighestModSeq: row.mailbox_modseq,
        };
      }
      const { rows, mailboxHighestModSeq } = await packedRows(
        userId,
        mailboxId,
        sql.fragment`json_build_array(m.uid, m.modseq)`,
        compileSearchKey(criteria),
        derived,
        reader,
      );
      let highestModSeq: number | null = null;
      const uids = new Array<number>(rows.length);
      rows.forEach((row, i) => {
        uids[i] = row[0] as number;
        highestModSeq = Math.max(highestModSeq ?? 0, row[1] as number);
      });
      return { uids, highestModSeq, mailboxHighestModSeq };
    },

    async namespaceSnapshot(userId) {
      const row = await connection.one(sql.type(namespaceSnapshotRow)`
        SELECT
          (SELECT coalesce(json_agg(json_build_object(
              'mailbox_id', mb.id, 'name', mb.name, 'status', mb.status, 'uid_validity', mb.uid_validity,
              'uid_next', mb.uid_next, 'highest_modseq', mb.highest_modseq, 'message_count', mb.message_count,
              'unseen_count', mb.unseen_count, 'total_size', mb.total_size, 'special_use', mb.special_use,
              'append_limit', mb.append_limit) ORDER BY mb.name), '[]'::json)
             FROM mailboxes AS mb WHERE mb.user_id = ${userId} AND mb.status <> 'deleted') AS mailboxes,
          (SELECT coalesce(json_agg(s.name ORDER BY s.name), '[]'::json)
             FROM subscriptions AS s WHERE s.user_id = ${userId}) AS subscriptions`);
      return { mailboxes: row.mailboxes.map(toStatus), subscriptions: row.subscriptions };
    },

    async accessKeyOf(username, mailboxName) {
      const row = await connection.maybeOne(sql.type(accessKeyRow)`
        SELECT u.id AS user_id, u.urlauth_salt AS user_salt, mb.id AS mailbox_id, mb.uid_validity,
          mb.urlauth_salt AS mailbox_salt
        FROM users AS u JOIN mailboxes AS mb ON mb.user_id = u.id
        WHERE u.username = ${username} AND u.deleted_at IS NULL
          AND mb.name = ${mailboxLookupName(mailboxName)} AND mb.status = 'selectable'`);
      if (row === null) return null;
      return {
        userId: row.user_id,
        mailboxId: row.mailbox_id,
        uidValidity: row.uid_validity ?? 0,
        userSalt: row.user_salt,
        mailboxSalt: row.mailbox_salt,
      };
    },

    async flagsChangedSince(userId, mailboxId, modseq, belowUid) {
      return connection.oneFirst(sql.type(z.object({ changed: z.boolean() }))`
        SELECT EXISTS (
          SELECT 1 FROM messages AS m
          WHERE m.mailbox_id = ${owned(userId, mailboxId)} AND m.uid < ${belowUid} AND m.modseq > ${modseq}
        ) AS changed`);
    },

    async storageUsed(userId) {
      return connection.oneFirst(sql.type(z.object({ used: z.number() }))`
        SELECT coalesce(sum(total_size), 0)::float8 AS used FROM mailboxes
        WHERE user_id = ${userId} AND status <> 'deleted'`);
    },

    async sortFields(userId, mailboxId, criteria, fields) {
      const wanted = [...new Set(fields)];
      // One packed row (a JSON array per message), and only the columns asked for: reading and
      // checking a row per message cost more than the sort itself.
      const { rows } = await packedRows(
        userId,
        mailboxId,
        sql.fragment`json_build_array(m.uid, ${sql.join(
          wanted.map((field) => SORT_COLUMNS[field]),
          sql.fragment`, `,
        )})`,
        compileSearchKey(criteria),
        new Set([...derivedColumnsOf(criteria), ...wanted.flatMap((field) => SORT_FIELD_COLUMNS[field])]),
        reader,
      );
      return rows.map((values) => {
        const message: SortFields = {
          uid: values[0] as number,
          internalDate: 0,
          sentDate: null,
          size: 0,
          subject: "",
          from: "",
          to: "",
          cc: "",
          displayFrom: "",
          displayTo: "",
          messageId: "",
          inReplyTo: "",
          references: "",
        };
        wanted.forEach((field, i) => {
          const value = values[i + 1] ?? null;
          if (field === "sentDate") message.sentDate = value as number | null;
          else if (value !== null) (message as unknown as Record<string, unknown>)[field] = value;
        });
        return message;
      });
    },
  });
  return queriesFor(null);
}
