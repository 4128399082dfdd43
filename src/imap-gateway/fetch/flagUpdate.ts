// The one writer of a message's flags in FETCH responses: FETCH's FLAGS item, STORE's answers,
// the unilateral flag changes of the selected mailbox (another session's STORE) and QRESYNC's
// changes at SELECT all write `FLAGS (...)` here, with \Recent added for a message recent to this
// session (RFC 3501 2.3.2) and `MODSEQ (n)` where CONDSTORE asks for it (RFC 7162 3.1.4).
import { encodeFlagList } from "../codec/index.ts";

/** `FLAGS (...)` of flags already valid atoms; `recent`: the message is \Recent to this session. */
export function flagsItem(flags: readonly string[], recent: boolean): string {
  return `FLAGS ${encodeFlagList(recent ? [...flags, "\\Recent"] : flags)}`;
}

/** `FLAGS (...)` of flags already joined by spaces (as the index's fast reads return them). */
export function flagsItemFromText(flagsText: string, recent: boolean): string {
  if (!recent) return `FLAGS (${flagsText})`;
  return `FLAGS (${flagsText === "" ? "\\Recent" : `${flagsText} \\Recent`})`;
}

/** What a flag update says of one message. */
export interface FlagUpdate {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly recent: boolean;
  readonly modSeq: number;
}

export interface FlagUpdateOptions {
  /** Include `UID n` (UID STORE, unilateral updates, QRESYNC). */
  readonly uid: boolean;
  /** Include `FLAGS (...)` (not for STORE .SILENT). */
  readonly flags: boolean;
  /** Include `MODSEQ (n)` (CONDSTORE or QRESYNC enabled). */
  readonly modSeq: boolean;
}

/** `<seq> FETCH (UID n FLAGS (...) MODSEQ (m))`, the items the options ask for, in that order. */
export function flagUpdateLine(seq: number, update: FlagUpdate, options: FlagUpdateOptions): string {
  const items: string[] = [];
  if (options.uid) items.push(`UID ${update.uid}`);
  if (options.flags) items.push(flagsItem(update.flags, update.recent));
  if (options.modSeq) items.push(`MODSEQ (${update.modSeq})`);
  return `${seq} FETCH (${items.join(" ")})`;
}
