// The read queries the gateway serves from: the only way it reads a view (DESIGN.md, Folders).
// Every query reads the stable schema proj_mailbox, which points at the active version of the
// views, and is scoped to one user: a mailbox of another user is never found (contract 7).
import { type CommonQueryMethods, type FragmentSqlToken, sql } from "slonik";
import { z } from "zod";
import { MAILBOX_HIERARCHY_SEPARATOR } from "../../events/domain/common.ts";
import type { Envelope, MessageStructure } from "../mime/index.ts";
import { compileSearchKey, uidMultirange } from "./compileSearch.ts";
import type { SearchKey, UidSet } from "./searchCriteria.ts";

// Row schemas are built once: building one costs tens of microseconds, more than a parse.
const nameRow = z.object({ name: z.string() });
const packedUidsRow = z.object({ uids: z.instanceof(Buffer).nullable() });
const uidModseqRow = z.object({ uid: z.number(), modseq: z.number() });
const packedSortRow = z.object({
  rows: z.array(z.array(z.union([z.number(), z.string(), z.null()]))).nullable(),
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
  internalDate: sql.fragment`(extract(epoch FROM m.internal_date) * 1000)::float8`,
  sentDate: sql.fragment`(extract(epoch FROM m.sent_date) * 1000)::float8`,
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
  | "structure";

export interface FetchedMessage {
  uid: number;
  flags?: string[];
  modseq?: number;
  internalDate?: Date;
  size?: number;
  blobDigest?: string;
  envelope?: Envelope | null;
  structure?: MessageStructure | null;
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
const packedMetadataRow = z.object({
  uids: z.instanceof(Buffer).nullable(),
  flags: z.string().nullable(),
  modseqs: z.instanceof(Buffer).nullable(),
  internal_dates: z.instanceof(Buffer).nullable(),
  sizes: z.instanceof(Buffer).nullable(),
});

const mailboxColumns = sql.fragment`
  mailbox_id, name, status, uid_validity, uid_next, highest_modseq, message_count, unseen_count, total_size,
  special_use, append_limit`;

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

/** INBOX is case-insensitive (RFC 3501 5.1): its spellings become the stored "INBOX". */
export function canonicalMailboxName(name: string): string {
  const head = name.slice(0, 5);
  if (head.toUpperCase() === "INBOX" && (name.length === 5 || name[5] === MAILBOX_HIERARCHY_SEPARATOR)) {
    return `INBOX${name.slice(5)}`;
  }
  return name;
}

/** A LIST pattern as a regular expression: `*` any characters, `%` any but the separator. */
export function listPatternRegExp(reference: string, pattern: string): RegExp {
  const full = canonicalMailboxName(reference + pattern);
  const escaped = [...full]
    .map((char) => {
      if (char === "*") return ".*";
      if (char === "%") return `[^${MAILBOX_HIERARCHY_SEPARATOR}]*`;
      return char.replace(/[\\^$.|?+()[\]{}]/g, "\\$&");
    })
    .join("");
  return new RegExp(`^${escaped}$`, "su");
}

const SEEN = "\\Seen";

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
};
const FETCH_ALIASES: Record<FetchItem, string> = {
  flags: "flags",
  modseq: "modseq",
  internalDate: "internal_date",
  size: "size",
  blobDigest: "blob_digest",
  envelope: "envelope",
  structure: "structure",
};

const fetchedRow = z.object({
  uid: z.number(),
  flags: z.array(z.string()).optional(),
  modseq: z.number().optional(),
  internal_date: z.number().optional(),
  size: z.number().optional(),
  blob_digest: z.string().optional(),
  envelope: z.custom<Envelope>().nullable().optional(),
  structure: z.custom<MessageStructure>().nullable().optional(),
});

export interface OpenedMailbox {
  status: MailboxStatus;
  uids: Uint32Array;
  firstUnseenUid: number | null;
}

export interface ProjectionQueries {
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
  ): Promise<FetchedMessage[]>;
  /**
   * FLAGS, MODSEQ, INTERNALDATE and RFC822.SIZE of the messages, ascending by UID: what a client's
   * resync asks of every message. One packed row per call instead of a row per message.
   */
  fetchMetadata(userId: string, mailboxId: string, uids: UidSet): Promise<FetchedMessage[]>;
  changesSince(userId: string, mailboxId: string, modseq: number): Promise<Changes>;
  /** The octets all the user's messages take (RFC 9208 STORAGE usage), from the view's counters. */
  storageUsed(userId: string): Promise<number>;
  /** The messages matching `criteria`, ascending by UID, with the `fields` SORT orders them by. */
  sortFields(
    userId: string,
    mailboxId: string,
    criteria: SearchKey,
    fields: readonly SortField[],
  ): Promise<SortFields[]>;
  /** UIDs matching `criteria`, ascending, and the highest MODSEQ among them (RFC 7162 SEARCH). */
  search(
    userId: string,
    mailboxId: string,
    criteria: SearchKey,
  ): Promise<{ uids: number[]; highestModSeq: number | null }>;
}

export function createProjectionQueries(connection: CommonQueryMethods): ProjectionQueries {
  /** The mailbox, if it is this user's: every message query goes through it. */
  const ownedMailbox = sql.fragment`(SELECT mailbox_id FROM proj_mailbox.mailboxes WHERE mailbox_id = `;
  const owned = (userId: string, mailboxId: string) =>
    sql.fragment`${ownedMailbox}${mailboxId} AND user_id = ${userId} AND name IS NOT NULL)`;

  return {
    async listMailboxes(userId, options) {
      const matcher = listPatternRegExp(options.reference ?? "", options.pattern);
      const rows = await connection.any(sql.type(listedMailboxRow)`
        SELECT ${mailboxColumns},
          EXISTS (SELECT 1 FROM proj_mailbox.subscriptions AS s WHERE s.user_id = ${userId} AND s.name = mb.name)
            AS subscribed
        FROM proj_mailbox.mailboxes AS mb
        WHERE user_id = ${userId} AND name IS NOT NULL
        ORDER BY name`);
      const names = new Set(rows.map((row) => row.name));
      const hasChildren = (name: string) => {
        const prefix = name + MAILBOX_HIERARCHY_SEPARATOR;
        for (const other of names) if (other.startsWith(prefix)) return true;
        return false;
      };
      const listed: ListedMailbox[] = [];
      for (const row of rows) {
        if (!matcher.test(row.name)) continue;
        if (options.subscribedOnly && !row.subscribed) continue;
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
      if (options.subscribedOnly) {
        const subscribed = await connection.anyFirst(sql.type(nameRow)`
          SELECT name FROM proj_mailbox.subscriptions WHERE user_id = ${userId} ORDER BY name`);
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
        SELECT ${mailboxColumns} FROM proj_mailbox.mailboxes
        WHERE user_id = ${userId} AND name = ${canonicalMailboxName(name)}`);
      return row ? toStatus(row) : null;
    },

    async mailboxStatusById(userId, mailboxId) {
      const row = await connection.maybeOne(sql.type(mailboxRow)`
        SELECT ${mailboxColumns} FROM proj_mailbox.mailboxes
        WHERE user_id = ${userId} AND mailbox_id = ${mailboxId} AND name IS NOT NULL`);
      return row ? toStatus(row) : null;
    },

    async uidList(userId, mailboxId) {
      // One row holding 4 bytes per UID, in index order (an index-only scan, no sort): far
      // cheaper than 100,000 rows or their decimal text through the driver.
      const packed = await connection.oneFirst(sql.type(packedUidsRow)`
        SELECT string_agg(int4send((uid - ${UID_BIAS})::int4), '') AS uids
        FROM (
          SELECT uid FROM proj_mailbox.messages WHERE mailbox_id = ${owned(userId, mailboxId)} ORDER BY uid
        ) AS ordered`);
      return unpackUids(packed);
    },

    async openMailbox(userId, name) {
      const row = await connection.maybeOne(sql.type(openedMailboxRow)`
        SELECT ${mailboxColumns},
          (SELECT string_agg(int4send((o.uid - ${UID_BIAS})::int4), '')
             FROM (SELECT m.uid FROM proj_mailbox.messages AS m WHERE m.mailbox_id = mb.mailbox_id ORDER BY m.uid)
               AS o) AS uids,
          (SELECT m.uid FROM proj_mailbox.messages AS m
             WHERE m.mailbox_id = mb.mailbox_id AND NOT (${SEEN} = ANY (m.flags))
             ORDER BY m.uid LIMIT 1) AS first_unseen_uid
        FROM proj_mailbox.mailboxes AS mb
        WHERE mb.user_id = ${userId} AND mb.name = ${canonicalMailboxName(name)}`);
      if (row === null) return null;
      return { status: toStatus(row), uids: unpackUids(row.uids), firstUnseenUid: row.first_unseen_uid };
    },

    async fetchMetadata(userId, mailboxId, uids) {
      if (uids.length === 0) return [];
      const { lowest, highest } = boundsOf(uids);
      // Flags are atoms (no space, no line break): one text of lines, a line of flags per message.
      const row = await connection.one(sql.type(packedMetadataRow)`
        SELECT string_agg(int4send((o.uid - ${UID_BIAS})::int4), '') AS uids,
          string_agg(array_to_string(o.flags, ' '), E'\n') AS flags,
          string_agg(float8send(o.modseq::float8), '') AS modseqs,
          string_agg(float8send(extract(epoch FROM o.internal_date)::float8 * 1000), '') AS internal_dates,
          string_agg(float8send(o.size::float8), '') AS sizes
        FROM (
          SELECT m.uid, m.flags, m.modseq, m.internal_date, m.size
          FROM proj_mailbox.messages AS m
          WHERE m.mailbox_id = ${owned(userId, mailboxId)}
            AND m.uid BETWEEN ${lowest} AND ${highest}
            AND ${uidMultirange(uids)}::int8multirange @> m.uid
          ORDER BY m.uid
        ) AS o`);
      const found = unpackUids(row.uids);
      if (found.length === 0) return [];
      const flagLines = row.flags!.split("\n");
      const messages: FetchedMessage[] = new Array(found.length);
      for (let i = 0; i < found.length; i++) {
        const line = flagLines[i]!;
        messages[i] = {
          uid: found[i]!,
          flags: line === "" ? [] : line.split(" "),
          modseq: row.modseqs!.readDoubleBE(i * 8),
          internalDate: new Date(row.internal_dates!.readDoubleBE(i * 8)),
          size: row.sizes!.readDoubleBE(i * 8),
        };
      }
      return messages;
    },

    async fetchMessages(userId, mailboxId, uids, items) {
      if (uids.length === 0) return [];
      const wanted = [...new Set(items)];
      const { lowest, highest } = boundsOf(uids);
      const columns = [
        sql.fragment`m.uid`,
        ...wanted.map(
          (item) => sql.fragment`${FETCH_COLUMNS[item]} AS ${sql.identifier([FETCH_ALIASES[item]])}`,
        ),
      ];
      const rows = await connection.any(sql.type(fetchedRow)`
        SELECT ${sql.join(columns, sql.fragment`, `)}
        FROM proj_mailbox.messages AS m
        WHERE m.mailbox_id = ${owned(userId, mailboxId)}
          AND m.uid BETWEEN ${lowest} AND ${highest}
          AND ${uidMultirange(uids)}::int8multirange @> m.uid
        ORDER BY m.uid`);
      return rows.map((row) => {
        const message: FetchedMessage = { uid: row.uid };
        if (row.flags !== undefined) message.flags = row.flags;
        if (row.modseq !== undefined) message.modseq = row.modseq;
        if (row.internal_date !== undefined) message.internalDate = new Date(row.internal_date);
        if (row.size !== undefined) message.size = row.size;
        if (row.blob_digest !== undefined) message.blobDigest = row.blob_digest;
        if (row.envelope !== undefined) message.envelope = row.envelope;
        if (row.structure !== undefined) message.structure = row.structure;
        return message;
      });
    },

    async changesSince(userId, mailboxId, modseq) {
      // One round trip: the session asks this before answering whenever its mailbox changed.
      const row = await connection.maybeOne(sql.type(changesRow)`
        SELECT mb.highest_modseq,
          (SELECT coalesce(json_agg(json_build_array(m.uid, m.modseq, m.flags) ORDER BY m.uid), '[]'::json)
             FROM proj_mailbox.messages AS m WHERE m.mailbox_id = mb.mailbox_id AND m.modseq > ${modseq}) AS changed,
          (SELECT coalesce(json_agg(t.uid ORDER BY t.uid), '[]'::json)
             FROM proj_mailbox.tombstones AS t WHERE t.mailbox_id = mb.mailbox_id AND t.modseq > ${modseq}) AS vanished
        FROM proj_mailbox.mailboxes AS mb
        WHERE mb.mailbox_id = ${mailboxId} AND mb.user_id = ${userId} AND mb.name IS NOT NULL`);
      if (row === null) return { changed: [], vanished: [], highestModSeq: modseq };
      return {
        changed: row.changed.map(([uid, changedModseq, flags]) => ({ uid, modseq: changedModseq, flags })),
        vanished: row.vanished,
        highestModSeq: row.highest_modseq,
      };
    },

    async search(userId, mailboxId, criteria) {
      const condition = compileSearchKey(criteria);
      const rows = await connection.any(sql.type(uidModseqRow)`
        SELECT m.uid, m.modseq FROM proj_mailbox.messages AS m
        WHERE m.mailbox_id = ${owned(userId, mailboxId)} AND (${condition})
        ORDER BY m.uid`);
      let highestModSeq: number | null = null;
      for (const row of rows) highestModSeq = Math.max(highestModSeq ?? 0, row.modseq);
      return { uids: rows.map((row) => row.uid), highestModSeq };
    },

    async storageUsed(userId) {
      return connection.oneFirst(sql.type(z.object({ used: z.number() }))`
        SELECT coalesce(sum(total_size), 0)::float8 AS used FROM proj_mailbox.mailboxes
        WHERE user_id = ${userId} AND name IS NOT NULL`);
    },

    async sortFields(userId, mailboxId, criteria, fields) {
      const condition = compileSearchKey(criteria);
      const wanted = [...new Set(fields)];
      // One packed row (a JSON array per message), and only the columns asked for: reading and
      // checking a row per message cost more than the sort itself.
      const row = await connection.one(sql.type(packedSortRow)`
        SELECT json_agg(json_build_array(m.uid, ${sql.join(
          wanted.map((field) => SORT_COLUMNS[field]),
          sql.fragment`, `,
        )}) ORDER BY m.uid) AS rows
        FROM proj_mailbox.messages AS m
        WHERE m.mailbox_id = ${owned(userId, mailboxId)} AND (${condition})`);
      return (row.rows ?? []).map((values) => {
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
  };
}
