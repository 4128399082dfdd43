// SEARCH [RETURN (...)] [CHARSET astring] search-key *(SP search-key), and SORT (RFC 5256).
// RFC 3501 keys, RFC 7162 MODSEQ, RFC 5032 OLDER/YOUNGER, RFC 4731 ESEARCH RETURN, RFC 5182 SAVE / `$`.

import type {
  ResultWindow,
  SearchArgs,
  SearchKey,
  SearchReturnOption,
  SortArgs,
  SortKey,
  ThreadArgs,
} from "./commands.ts";
import { parseDate } from "./dates.ts";
import type { Scanner } from "./scanner.ts";
import { looksLikeSequenceSet, parseSequenceSet } from "./sequenceSet.ts";

const SUPPORTED_CHARSETS = new Set(["US-ASCII", "UTF-8"]);
const RETURN_OPTIONS = new Set<string>(["MIN", "MAX", "ALL", "COUNT", "SAVE", "UPDATE"]);

const FLAG_KEYS: Readonly<Record<string, readonly [string, boolean]>> = {
  ANSWERED: ["\\Answered", true],
  DELETED: ["\\Deleted", true],
  DRAFT: ["\\Draft", true],
  FLAGGED: ["\\Flagged", true],
  SEEN: ["\\Seen", true],
  RECENT: ["\\Recent", true],
  OLD: ["\\Recent", false],
  UNANSWERED: ["\\Answered", false],
  UNDELETED: ["\\Deleted", false],
  UNDRAFT: ["\\Draft", false],
  UNFLAGGED: ["\\Flagged", false],
  UNSEEN: ["\\Seen", false],
};
const HEADER_KEYS = new Set(["BCC", "CC", "FROM", "SUBJECT", "TO"]);
const DATE_KEYS: Readonly<
  Record<string, readonly ["internal" | "sent" | "saved", "before" | "on" | "since"]>
> = {
  BEFORE: ["internal", "before"],
  ON: ["internal", "on"],
  SINCE: ["internal", "since"],
  SENTBEFORE: ["sent", "before"],
  SENTON: ["sent", "on"],
  SENTSINCE: ["sent", "since"],
  SAVEDBEFORE: ["saved", "before"],
  SAVEDON: ["saved", "on"],
  SAVEDSINCE: ["saved", "since"],
};

const MAX_NZ_NUMBER = 0xffff_ffff;

/**
 * partial-range = partial-range-first / partial-range-last (RFC 9394 4): "n:m" counts from the
 * first result, "-n:-m" from the last; no "*", no 0, one sign; 500:400 is 400:500.
 */
export function parseResultWindow(s: Scanner): ResultWindow {
  const text = s.atom("partial range");
  const match = /^(-?)([1-9][0-9]{0,9}):(-?)([1-9][0-9]{0,9})$/.exec(text);
  if (!match || match[1] !== match[3]) {
    s.fail(`invalid partial range ${JSON.stringify(text.slice(0, 40))} (n:m or -n:-m)`);
  }
  const a = Number(match[2]);
  const b = Number(match[4]);
  if (a > MAX_NZ_NUMBER || b > MAX_NZ_NUMBER) s.fail("partial range bound exceeds 4294967295");
  return { first: Math.min(a, b), last: Math.max(a, b), fromEnd: match[1] === "-" };
}

/**
 * RETURN (...) of SEARCH and ESORT's SORT: RFC 4731 MIN MAX ALL COUNT, RFC 5182 SAVE, RFC 9394
 * PARTIAL range (part of what ALL gives, so not with it) and RFC 5267 CONTEXT (a hint with no
 * effect here, dropped) and UPDATE (a live result: CONTEXT=SEARCH and CONTEXT=SORT).
 */
function parseReturnOptions(s: Scanner): {
  returnOptions: SearchReturnOption[];
  partial: ResultWindow | undefined;
} {
  let partial: ResultWindow | undefined;
  const returnOptions: SearchReturnOption[] = [];
  s.list(
    () => {
      const option = s.keyword("search return option");
      if (option === "PARTIAL") {
        if (partial !== undefined) s.fail("PARTIAL given twice");
        s.sp();
        partial = parseResultWindow(s);
      } else if (option === "CONTEXT") {
        // RFC 5267 4.1: the client may come back for more; nothing to keep for that here.
      } else if (option === "UPDATE" && returnOptions.includes("UPDATE")) {
        s.fail("UPDATE given twice");
      } else if (RETURN_OPTIONS.has(option)) {
        returnOptions.push(option as SearchReturnOption);
      } else {
        s.fail(`unknown search return option ${option}`);
      }
    },
    "search return options",
    true,
  );
  if (partial !== undefined && returnOptions.includes("ALL")) s.fail("PARTIAL and ALL cannot both be asked");
  return { returnOptions, partial };
}

export function parseSearch(s: Scanner): SearchArgs {
  s.sp();
  let returned: ReturnType<typeof parseReturnOptions> | undefined;
  if (s.tryKeyword("RETURN")) {
    s.sp();
    returned = parseReturnOptions(s);
    s.sp();
  }
  let charset: string | undefined;
  if (s.tryKeyword("CHARSET")) {
    s.sp();
    charset = parseCharset(s);
    s.sp();
  }
  return {
    charset,
    criteria: parseSearchKeys(s),
    returnOptions: returned?.returnOptions,
    partial: returned?.partial,
  };
}

function parseCharset(s: Scanner): string {
  const charset = s.astring("charset").toUpperCase();
  if (!SUPPORTED_CHARSETS.has(charset))
    s.fail(`unsupported charset ${charset}`, "BADCHARSET (US-ASCII UTF-8)");
  return charset;
}

/** search-key *(SP search-key), as one key (an AND of several). */
function parseSearchKeys(s: Scanner): SearchKey {
  const keys: SearchKey[] = [parseSearchKey(s, 0)];
  while (s.trySp()) keys.push(parseSearchKey(s, 0));
  return keys.length === 1 ? keys[0]! : { type: "and", keys };
}

const SORT_KEYS = new Set<string>([
  "ARRIVAL",
  "CC",
  "DATE",
  "FROM",
  "SIZE",
  "SUBJECT",
  "TO",
  "DISPLAYFROM",
  "DISPLAYTO",
]);

/**
 * SORT [SP "RETURN" SP sort-return-opts] SP sort-criteria SP search-criteria  (RFC 5256, RFC 5267
 * ESORT): the charset is required.
 */
export function parseSort(s: Scanner): SortArgs {
  s.sp();
  let returned: ReturnType<typeof parseReturnOptions> | undefined;
  if (s.tryKeyword("RETURN")) {
    s.sp();
    returned = parseReturnOptions(s);
    s.sp();
  }
  const criteria = s.list(() => {
    const reverse = s.tryKeyword("REVERSE");
    if (reverse) s.sp();
    const key = s.keyword("sort key");
    if (!SORT_KEYS.has(key)) s.fail(`unknown sort key ${key}`);
    return { key: key as SortKey, reverse };
  }, "sort criteria");
  s.sp();
  const charset = parseCharset(s);
  s.sp();
  return {
    criteria,
    charset,
    search: parseSearchKeys(s),
    returnOptions: returned?.returnOptions,
    partial: returned?.partial,
  };
}

/** One search key; `depth` counts enclosing groups, NOT and OR so nesting is bounded. */
function parseSearchKey(s: Scanner, depth: number): SearchKey {
  if (s.peek() === 0x28) {
    return s.nested(depth, () => ({
      type: "and",
      keys: s.list(() => parseSearchKey(s, depth + 1), "search key group"),
    }));
  }
  if (looksLikeSequenceSet(s)) return { type: "seq", set: parseSequenceSet(s) };
  const key = s.keyword("search key");
  const flag = FLAG_KEYS[key];
  if (flag !== undefined) return { type: "flag", flag: flag[0], present: flag[1] };
  if (HEADER_KEYS.has(key)) {
    s.sp();
    return { type: "header", field: key[0] + key.slice(1).toLowerCase(), value: s.astring("search string") };
  }
  const dateKey = DATE_KEYS[key];
  if (dateKey !== undefined) {
    s.sp();
    return { type: "date", field: dateKey[0], op: dateKey[1], date: parseDate(s) };
  }
  switch (key) {
    case "ALL":
      return { type: "all" };
    case "SAVEDATESUPPORTED":
      return { type: "savedatesupported" };
    case "NEW":
      // RFC 3501: NEW is RECENT UNSEEN.
      return {
        type: "and",
        keys: [
          { type: "flag", flag: "\\Recent", present: true },
          { type: "flag", flag: "\\Seen", present: false },
        ],
      };
    case "KEYWORD":
    case "UNKEYWORD":
      s.sp();
      return { type: "flag", flag: s.atom("keyword"), present: key === "KEYWORD" };
    case "BODY":
    case "TEXT":
      s.sp();
      return { type: key === "BODY" ? "body" : "text", value: s.astring("search string") };
    case "HEADER": {
      s.sp();
      const field = s.astring("header field name");
      s.sp();
      return { type: "header", field, value: s.astring("search string") };
    }
    case "LARGER":
    case "SMALLER":
      s.sp();
      return { type: "size", op: key === "LARGER" ? "larger" : "smaller", size: s.number("size") };
    case "OLDER":
    case "YOUNGER":
      s.sp();
      return { type: "age", op: key === "OLDER" ? "older" : "younger", seconds: s.nzNumber("interval") };
    case "UID":
      s.sp();
      return { type: "uid", set: parseSequenceSet(s, "UID set") };
    case "NOT":
      s.sp();
      return s.nested(depth, () => ({ type: "not", key: parseSearchKey(s, depth + 1) }));
    case "OR":
      return s.nested(depth, () => {
        s.sp();
        const left = parseSearchKey(s, depth + 1);
        s.sp();
        const right = parseSearchKey(s, depth + 1);
        return { type: "or", left, right };
      });
    case "MODSEQ":
      return parseModSeqKey(s);
    case "EMAILID":
    case "THREADID": {
      s.sp();
      const id = s.atom("object id");
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) s.fail(`invalid object id ${JSON.stringify(id.slice(0, 40))}`);
      return { type: "objectid", kind: key === "EMAILID" ? "email" : "thread", id };
    }
    default:
      return s.fail(`unknown search key ${key}`);
  }
}

/** MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer  (RFC 7162 3.1.5) */
function parseModSeqKey(s: Scanner): SearchKey {
  s.sp();
  let entry: { name: string; kind: "priv" | "shared" | "all" } | undefined;
  if (s.peek() === 0x22) {
    const name = s.quotedBytes().toString("latin1");
    if (!name.toLowerCase().startsWith("/flags/"))
      s.fail(`invalid MODSEQ entry name ${JSON.stringify(name)}`);
    s.sp();
    const kind = s.keyword("entry type").toLowerCase();
    if (kind !== "priv" && kind !== "shared" && kind !== "all") s.fail(`invalid MODSEQ entry type ${kind}`);
    entry = { name, kind };
    s.sp();
  }
  return { type: "modseq", modSeq: s.modSeq(true, "MODSEQ value"), entry };
}

/** THREAD SP thread-alg SP search-charset 1*(SP search-key)  (RFC 5256). */
export function parseThread(s: Scanner): ThreadArgs {
  s.sp();
  const algorithm = s.keyword("threading algorithm");
  s.sp();
  const charset = parseCharset(s);
  s.sp();
  return { algorithm, charset, search: parseSearchKeys(s) };
}
