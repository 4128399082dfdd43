// Compiles a SearchKey tree to a SQL condition over proj_mailbox.messages (alias m). Every
// value the client sent is a bound parameter; identifiers come from fixed tables below, never
// from input. Substring matches are case-insensitive: the projector stored the search columns
// lowercased and the needle is lowercased the same way (JavaScript toLowerCase on both sides).
import { type FragmentSqlToken, sql } from "slonik";
import { MAX_SEARCH_DEPTH, type SearchKey, type UidSet } from "./searchCriteria.ts";

const ADDRESS_COLUMNS = {
  from: sql.identifier(["m", "search_from"]),
  to: sql.identifier(["m", "search_to"]),
  cc: sql.identifier(["m", "search_cc"]),
  bcc: sql.identifier(["m", "search_bcc"]),
} as const;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The system flags, by lower case, as the index stores them (canonical case, src/commands/flags.ts)
 * and written as the partial indexes state them (0040, 0043: messages_unseen_idx,
 * messages_deleted_idx, messages_flagged_idx), so the planner can use those: a fixed literal, not
 * a parameter, and an exact comparison, not lower() over every flag of every message.
 */
const SYSTEM_FLAG_TESTS: ReadonlyMap<string, FragmentSqlToken> = new Map([
  ["\\seen", sql.fragment`('\\Seen' = ANY (m.flags))`],
  ["\\deleted", sql.fragment`('\\Deleted' = ANY (m.flags))`],
  ["\\flagged", sql.fragment`('\\Flagged' = ANY (m.flags))`],
  ["\\answered", sql.fragment`('\\Answered' = ANY (m.flags))`],
  ["\\draft", sql.fragment`('\\Draft' = ANY (m.flags))`],
]);

export class SearchCriteriaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SearchCriteriaError";
  }
}

/** The multirange literal of a UID set, e.g. {[1,5],[9,9]}, bound as one parameter. */
export function uidMultirange(uids: UidSet): string {
  return `{${uids.map((range) => `[${Math.min(range.start, range.end)},${Math.max(range.start, range.end)}]`).join(",")}}`;
}

function checkUidSet(uids: UidSet) {
  for (const range of uids) {
    if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end)) {
      throw new SearchCriteriaError("a UID range bound is not an integer");
    }
  }
}

function contains(column: FragmentSqlToken, value: string): FragmentSqlToken {
  return sql.fragment`strpos(${column}, ${value.toLowerCase()}) > 0`;
}

/**
 * FROM, TO, CC and BCC match "the envelope structure's" field (RFC 3501 6.4.4): each parsed
 * address as `name <mailbox@host>`, so an address written with comments or folding inside it
 * (`<user (c)@ (c) example.org>`) matches as the address it is. The header text, decoded, is
 * searched too, for names in encoded words, which ENVELOPE keeps encoded.
 */
function addressCondition(field: keyof typeof ADDRESS_COLUMNS, value: string): FragmentSqlToken {
  const addresses = sql.fragment`m.envelope -> ${field}`;
  return sql.fragment`(${contains(sql.fragment`${ADDRESS_COLUMNS[field]}`, value)} OR EXISTS (
    SELECT 1 FROM jsonb_array_elements(
      CASE jsonb_typeof(${addresses}) WHEN 'array' THEN ${addresses} ELSE '[]'::jsonb END) AS a
    WHERE strpos(lower(concat(a ->> 'name', ' <', a ->> 'mailbox', '@', a ->> 'host', '>')),
      ${value.toLowerCase()}) > 0))`;
}

/** The calendar day of an instant column, in UTC. */
function utcDay(column: FragmentSqlToken): FragmentSqlToken {
  return sql.fragment`(${column} AT TIME ZONE 'UTC')::date`;
}

/**
 * The day the Date header names, as written: RFC 3501 SENTBEFORE/SENTON/SENTSINCE compare it
 * "disregarding time and timezone", so 25 Mar 2007 00:00 +0200 is sent on the 25th, although it
 * is the 24th in UTC. Read from the first Date field (as SEARCH HEADER sees it, lowercased), with
 * RFC 5322 4.3 two- and three-digit years; the UTC day of the parsed date when the field is not
 * of that form, or when the message's body could not be read.
 */
const SENT_DAY = sql.fragment`coalesce(
  (SELECT make_date(x.y, x.mo, 1) + (x.d - 1)
   FROM (
     SELECT (p[1])::int AS d,
       array_position(
         ARRAY['jan','feb','mar','apr','may','jun','jul','aug','sep','oct','nov','dec'], p[2]) AS mo,
       CASE length(p[3])
         WHEN 2 THEN (p[3])::int + CASE WHEN (p[3])::int < 50 THEN 2000 ELSE 1900 END
         WHEN 3 THEN (p[3])::int + 1900
         ELSE (p[3])::int
       END AS y
     FROM (
       SELECT regexp_match(h ->> 1,
         '(\\d{1,2})\\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\\.?\\s+(\\d{2,4})(\\D|$)') AS p
       FROM jsonb_array_elements(m.search_headers) WITH ORDINALITY AS f(h, n)
       WHERE h ->> 0 = 'date'
       ORDER BY n
       LIMIT 1
     ) AS first_date
     WHERE p IS NOT NULL
   ) AS x
   WHERE x.d BETWEEN 1 AND 31 AND x.y BETWEEN 1 AND 9999),
  ${utcDay(sql.fragment`m.sent_date`)})`;

/**
 * How far the day a Date header names can be from its UTC day: a zone offset is at most 99:59
 * (RFC 5322 3.3), real ones at most 14 hours. Beyond it the UTC day decides on its own.
 */
const WRITTEN_DAY_MARGIN_DAYS = 5;

/**
 * SENTBEFORE/SENTON/SENTSINCE. Reading the written day is a regular expression over the header
 * fields of each message; the UTC day in the row settles every message more than a few days
 * from the date asked, so only the few near it pay for the exact answer.
 */
function sentDateCondition(comparison: string, date: string): FragmentSqlToken {
  const exact = dateCondition(SENT_DAY, comparison, date);
  const utc = utcDay(sql.fragment`m.sent_date`);
  const margin = WRITTEN_DAY_MARGIN_DAYS;
  const farBefore = comparison === "before" ? sql.fragment`true` : sql.fragment`false`;
  const farAfter = comparison === "since" ? sql.fragment`true` : sql.fragment`false`;
  return sql.fragment`CASE
    WHEN ${utc} < ${date}::date - ${margin}::int THEN ${farBefore}
    WHEN ${utc} > ${date}::date + ${margin}::int THEN ${farAfter}
    ELSE ${exact} END`;
}

function dateCondition(day: FragmentSqlToken, comparison: string, date: string): FragmentSqlToken {
  if (!DAY.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
    throw new SearchCriteriaError(`not a date: ${date}`);
  }
  switch (comparison) {
    case "before":
      return sql.fragment`${day} < ${date}::date`;
    case "on":
      return sql.fragment`${day} = ${date}::date`;
    case "since":
      return sql.fragment`${day} >= ${date}::date`;
    default:
      throw new SearchCriteriaError(`unknown date comparison ${comparison}`);
  }
}

/** A condition that is true or false, never NULL, so NOT behaves as the RFC means. */
export function compileSearchKey(key: SearchKey, depth = 0): FragmentSqlToken {
  if (depth > MAX_SEARCH_DEPTH)
    throw new SearchCriteriaError(`search criteria nested deeper than ${MAX_SEARCH_DEPTH}`);
  const leaf = (condition: FragmentSqlToken) => sql.fragment`coalesce(${condition}, false)`;
  switch (key.type) {
    case "all":
      return sql.fragment`true`;
    case "uid":
      checkUidSet(key.uids);
      if (key.uids.length === 0) return sql.fragment`false`;
      return sql.fragment`(${uidMultirange(key.uids)}::int8multirange @> m.uid)`;
    case "flag": {
      const system = SYSTEM_FLAG_TESTS.get(key.flag.toLowerCase());
      if (system !== undefined) return key.set ? system : sql.fragment`NOT ${system}`;
      const has = sql.fragment`EXISTS (SELECT 1 FROM unnest(m.flags) AS f WHERE lower(f) = ${key.flag.toLowerCase()})`;
      return key.set ? has : sql.fragment`NOT ${has}`;
    }
    case "internalDate":
      return leaf(dateCondition(utcDay(sql.fragment`m.internal_date`), key.comparison, key.date));
    case "age": {
      if (!Number.isSafeInteger(key.seconds) || key.seconds < 0)
        throw new SearchCriteriaError("an OLDER/YOUNGER interval must be a whole number of seconds");
      const cutoff = sql.fragment`now() - make_interval(secs => ${key.seconds})`;
      return key.comparison === "older"
        ? sql.fragment`m.internal_date < ${cutoff}`
        : sql.fragment`m.internal_date >= ${cutoff}`;
    }
    case "digestPrefix":
      if (!/^[0-9a-f]{1,64}$/.test(key.prefix))
        throw new SearchCriteriaError("a digest prefix is hex digits");
      return sql.fragment`starts_with(m.blob_digest, ${key.prefix})`;
    case "sentDate":
      return leaf(sentDateCondition(key.comparison, key.date));
    case "saveDate":
      return leaf(dateCondition(utcDay(sql.fragment`m.save_date`), key.comparison, key.date));
    case "size":
      if (!Number.isSafeInteger(key.octets) || key.octets < 0)
        throw new SearchCriteriaError("size must be a number");
      return key.comparison === "larger"
        ? sql.fragment`m.size > ${key.octets}`
        : sql.fragment`m.size < ${key.octets}`;
    case "header":
      return sql.fragment`EXISTS (
        SELECT 1 FROM jsonb_array_elements(m.search_headers) AS h
        WHERE h ->> 0 = ${key.field.toLowerCase()} AND strpos(h ->> 1, ${key.value.toLowerCase()}) > 0)`;
    case "address":
      return addressCondition(key.field, key.value);
    case "subject":
      return contains(sql.fragment`m.search_subject`, key.value);
    case "body":
      return contains(sql.fragment`m.search_body`, key.value);
    case "text":
      return sql.fragment`(${contains(sql.fragment`m.search_header_text`, key.value)} OR ${contains(
        sql.fragment`m.search_body`,
        key.value,
      )})`;
    case "modseq":
      if (!Number.isSafeInteger(key.modseq)) throw new SearchCriteriaError("modseq must be a number");
      return sql.fragment`m.modseq >= ${key.modseq}`;
    case "not":
      return sql.fragment`NOT (${compileSearchKey(key.key, depth + 1)})`;
    case "or":
      return sql.fragment`((${compileSearchKey(key.left, depth + 1)}) OR (${compileSearchKey(key.right, depth + 1)}))`;
    case "and":
      if (key.keys.length === 0) return sql.fragment`true`;
      return sql.fragment`(${sql.join(
        key.keys.map((k) => sql.fragment`(${compileSearchKey(k, depth + 1)})`),
        sql.fragment` AND `,
      )})`;
    default: {
      const unknown: never = key;
      throw new SearchCriteriaError(`unknown search key ${(unknown as { type: string }).type}`);
    }
  }
}
