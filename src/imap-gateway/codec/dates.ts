// RFC 3501 date (SEARCH) and date-time (APPEND, INTERNALDATE).

import type { ImapDate } from "./commands.ts";
import type { Scanner } from "./scanner.ts";

export const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
] as const;

function monthIndex(name: string): number {
  const lower = name.toLowerCase();
  return MONTHS.findIndex((m) => m.toLowerCase() === lower);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const DATE_RE = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/;

export function dateFromString(text: string): ImapDate | undefined {
  const m = DATE_RE.exec(text);
  if (m === null) return undefined;
  const day = Number(m[1]);
  const month = monthIndex(m[2]!) + 1;
  const year = Number(m[3]);
  if (month === 0 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

/** date = date-text / DQUOTE date-text DQUOTE */
export function parseDate(s: Scanner): ImapDate {
  const text =
    s.peek() === 0x22 ? s.quotedBytes().toString("latin1") : s.takeWhile((b) => b !== 0x20 && b !== 0x29);
  const date = dateFromString(text);
  return date ?? s.fail(`invalid date ${JSON.stringify(text.slice(0, 30))} (expected d-Mon-yyyy)`);
}

// date-day-fixed is (SP DIGIT) / 2DIGIT; zone is +/-hhmm.
const DATE_TIME_RE = /^([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

export function dateTimeFromString(text: string): Date | undefined {
  const m = DATE_TIME_RE.exec(text);
  if (m === null) return undefined;
  const day = Number(m[1]!.trim());
  const month = monthIndex(m[2]!) + 1;
  const year = Number(m[3]);
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6])];
  const zoneHours = Number(m[8]);
  const zoneMinutes = Number(m[9]);
  if (month === 0 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60 || zoneMinutes > 59) return undefined;
  const offset = (m[7] === "-" ? -1 : 1) * (zoneHours * 60 + zoneMinutes);
  // A leap second is folded into the next second: Date has no representation for :60.
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second) - offset * 60_000);
}

/** date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE */
export function parseDateTime(s: Scanner): Date {
  const text = s.quotedBytes().toString("latin1");
  return dateTimeFromString(text) ?? s.fail(`invalid date-time ${JSON.stringify(text.slice(0, 40))}`);
}
