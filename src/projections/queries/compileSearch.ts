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

function dateCondition(column: FragmentSqlToken, comparison: string, date: string): FragmentSqlToken {
  if (!DAY.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
    throw new SearchCriteriaError(`not a date: ${date}`);
  }
  const day = sql.fragment`(${column} AT TIME ZONE 'UTC')::date`;
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
      const has = sql.fragment`EXISTS (SELECT 1 FROM unnest(m.flags) AS f WHERE lower(f) = ${key.flag.toLowerCase()})`;
      return key.set ? has : sql.fragment`NOT ${has}`;
    }
    case "internalDate":
      return leaf(dateCondition(sql.fragment`m.internal_date`, key.comparison, key.date));
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
      return leaf(dateCondition(sql.fragment`m.sent_date`, key.comparison, key.date));
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
      return contains(sql.fragment`${ADDRESS_COLUMNS[key.field]}`, key.value);
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
