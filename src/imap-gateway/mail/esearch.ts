// The ESEARCH response (RFC 4731) of SEARCH and of ESORT's SORT (RFC 5267 3), with RFC 9394
// PARTIAL. Pure: the caller hands in the results in the order they answer (ascending for
// SEARCH, sort order for SORT) and the numbers it wants on the wire.
import type { ResultWindow, SearchReturnOption } from "../codec/index.ts";

/**
 * The results a window names: positions counted from 1 at the first result, or from -1 at the
 * last (RFC 9394 partial-range-last), in the order of `results`.
 */
export function resultWindow<T>(results: readonly T[], window: ResultWindow): T[] {
  if (!window.fromEnd) return results.slice(window.first - 1, window.last);
  const end = results.length - window.first + 1;
  const start = Math.max(0, results.length - window.last);
  return end <= 0 ? [] : results.slice(start, end);
}

/**
 * A sequence-set that keeps the order of `numbers`: runs going up by one become ranges, the rest
 * is listed as it comes (RFC 5267 3: ESORT's ALL is in sort order, e.g. "5,3:4,2,1").
 */
export function encodeOrderedSet(numbers: readonly number[]): string {
  const parts: string[] = [];
  let start = numbers[0];
  let previous = start;
  for (let i = 1; i <= numbers.length; i += 1) {
    const current = numbers[i];
    if (current !== undefined && previous !== undefined && current === previous + 1) {
      previous = current;
      continue;
    }
    if (start !== undefined) parts.push(start === previous ? `${start}` : `${start}:${previous}`);
    start = current;
    previous = current;
  }
  return parts.join(",");
}

export interface EsearchAnswer {
  readonly tag: string;
  readonly uid: boolean;
  /** Every result, in the order the command answers them, as the numbers sent. */
  readonly results: readonly number[];
  readonly returnOptions: readonly SearchReturnOption[];
  readonly partial: ResultWindow | undefined;
  /** RFC 7162 MODSEQ of the messages returned, when the criteria named MODSEQ. */
  readonly modseq?: number | null;
}

/**
 * `ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [ALL set] [PARTIAL (range set/NIL)] [COUNT n]
 * [MODSEQ n]`, without `* `. An empty RETURN () means ALL (RFC 4731 3.1); MIN and MAX are the first
 * and last result in answer order (RFC 5267 3: "lowest/highest sorted message").
 */
export function esearchLine(answer: EsearchAnswer): string {
  const { results, partial } = answer;
  const options = answer.returnOptions.length === 0 && partial === undefined ? ["ALL"] : answer.returnOptions;
  const parts = [`(TAG "${answer.tag}")`];
  if (answer.uid) parts.push("UID");
  if (results.length > 0) {
    if (options.includes("MIN")) parts.push(`MIN ${results[0]}`);
    if (options.includes("MAX")) parts.push(`MAX ${results.at(-1)}`);
    if (options.includes("ALL")) parts.push(`ALL ${encodeOrderedSet(results)}`);
  }
  if (partial !== undefined) {
    const page = resultWindow(results, partial);
    const sign = partial.fromEnd ? "-" : "";
    const range = `${sign}${partial.first}:${sign}${partial.last}`;
    parts.push(`PARTIAL (${range} ${page.length === 0 ? "NIL" : encodeOrderedSet(page)})`);
  }
  if (options.includes("COUNT")) parts.push(`COUNT ${results.length}`);
  if (answer.modseq !== undefined && answer.modseq !== null) parts.push(`MODSEQ ${answer.modseq}`);
  return `ESEARCH ${parts.join(" ")}`;
}

/**
 * The results an ESEARCH returns, for the MODSEQ it reports (RFC 4731 3.2 with RFC 7162 3.1.5)
 * and for what SAVE keeps (RFC 5182 2.4): every result with ALL or COUNT, else those MIN, MAX and
 * PARTIAL name, else (SAVE alone) every result.
 */
export function returnedResults<T>(
  results: readonly T[],
  returnOptions: readonly SearchReturnOption[],
  partial: ResultWindow | undefined,
): T[] {
  if (returnOptions.includes("ALL") || returnOptions.includes("COUNT")) return [...results];
  const picked = new Set<T>();
  if (results.length > 0 && returnOptions.includes("MIN")) picked.add(results[0]!);
  if (results.length > 0 && returnOptions.includes("MAX")) picked.add(results.at(-1)!);
  if (partial !== undefined) for (const result of resultWindow(results, partial)) picked.add(result);
  if (picked.size === 0 && !returnOptions.includes("MIN") && !returnOptions.includes("MAX") && !partial) {
    return [...results];
  }
  return results.filter((result) => picked.has(result));
}
