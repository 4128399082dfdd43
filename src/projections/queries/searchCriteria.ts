// The search criteria the gateway hands to the query module: RFC 3501 6.4.4 SEARCH keys (and
// RFC 7162 MODSEQ) as a neutral tree. Sequence numbers and \Recent belong to the session: the
// gateway turns message sequence sets into UID sets, RECENT into a UID set, NEW into
// and(RECENT's UID set, UNSEEN) and OLD into not(RECENT's UID set) before calling search.

/** Inclusive UID ranges; `end` may be 4294967295 for "*". */
export interface UidRange {
  start: number;
  end: number;
}
export type UidSet = readonly UidRange[];

/** The ranges of UIDs in ascending order: 1,2,3,5 → 1:3,5. */
export function toUidSet(uids: readonly number[]): UidSet {
  const ranges: { start: number; end: number }[] = [];
  for (const uid of uids) {
    const last = ranges.at(-1);
    if (last && uid === last.end + 1) last.end = uid;
    else ranges.push({ start: uid, end: uid });
  }
  return ranges;
}

/** A calendar day, "YYYY-MM-DD", compared in UTC disregarding time (RFC 3501 BEFORE/ON/SINCE). */
export type SearchDate = string;
export type DateComparison = "before" | "on" | "since";

export type SearchKey =
  | { type: "all" }
  | { type: "uid"; uids: UidSet }
  /** ANSWERED, DELETED, DRAFT, FLAGGED, SEEN, KEYWORD (set: true) and their UN- forms (set: false). */
  | { type: "flag"; flag: string; set: boolean }
  /** BEFORE / ON / SINCE: on the INTERNALDATE. */
  | { type: "internalDate"; comparison: DateComparison; date: SearchDate }
  /**
   * OLDER / YOUNGER (RFC 5032 WITHIN): the INTERNALDATE more than / at most `seconds` before the
   * database's now.
   */
  | { type: "age"; comparison: "older" | "younger"; seconds: number }
  /** RFC 8474 EMAILID: the messages whose body digest starts with these hex digits. */
  | { type: "digestPrefix"; prefix: string }
  /** RFC 8514 SAVEDBEFORE / SAVEDON / SAVEDSINCE: on the save date (none: no match). */
  | { type: "saveDate"; comparison: DateComparison; date: SearchDate }
  /** SENTBEFORE / SENTON / SENTSINCE: on the Date header. */
  | { type: "sentDate"; comparison: DateComparison; date: SearchDate }
  | { type: "size"; comparison: "larger" | "smaller"; octets: number }
  /** HEADER field-name string; an empty string matches every message that has the field. */
  | { type: "header"; field: string; value: string }
  | { type: "address"; field: "from" | "to" | "cc" | "bcc"; value: string }
  | { type: "subject"; value: string }
  | { type: "body"; value: string }
  /** Header and body. */
  | { type: "text"; value: string }
  /** RFC 7162 MODSEQ: messages whose MODSEQ is at least this. */
  | { type: "modseq"; modseq: number }
  | { type: "not"; key: SearchKey }
  | { type: "or"; left: SearchKey; right: SearchKey }
  | { type: "and"; keys: readonly SearchKey[] };

/** Deeper trees are refused: a hostile SEARCH must not blow the stack or the planner. */
export const MAX_SEARCH_DEPTH = 64;
