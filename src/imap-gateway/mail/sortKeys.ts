// The sort keys of SORT (RFC 5256 section 3) made in the gateway: the base subject (section 2.1)
// and the i;ascii-casemap comparator (a-z as A-Z, then octet order of the UTF-8).
import { decodeEncodedWords } from "../../mime/index.ts";
import type { SortField, SortFields } from "../../projections/queries/index.ts";
import type { SortArgs, SortKey } from "../codec/index.ts";

const TRAILER = /(?:\(fwd\)|[ \t])$/i;
/** subj-leader: *subj-blob subj-refwd, or one WSP. subj-refwd = ("re" / "fw" ["d"]) *WSP [subj-blob] ":". */
const LEADER = /^(?:(?:\[[^[\]]*\][ \t]*)*(?:re|fwd?)[ \t]*(?:\[[^[\]]*\][ \t]*)?:|[ \t])/i;
const BLOB = /^\[[^[\]]*\][ \t]*/;
const FWD = /^\[fwd:([\s\S]*)\]$/i;

/**
 * How much of a subject is looked at, before and after decoding: the marker removal goes over the
 * text once per marker, so a subject of a million "[x]" (anyone can mail one) must not reach it
 * whole. Subjects that agree this far sort as equal.
 */
const MAX_RAW_SUBJECT = 8_192;
const MAX_SUBJECT = 1_024;

/** RFC 5256 2.1: the subject without reply and forward markers, list tags and trailing "(fwd)". */
export function baseSubject(raw: string): string {
  return subjectOf(raw).base;
}

/**
 * The base subject, and whether the subject marked a reply or forward (a "Re:", "Fwd:", "(fwd)"
 * or "[fwd: ...]" was removed): THREAD=REFERENCES prefers an original over its replies.
 */
export function subjectOf(raw: string): { base: string; replyOrForward: boolean } {
  // (1) Encoded words decoded; tabs and folding as spaces; runs of spaces as one.
  let subject = decodeEncodedWords(raw.slice(0, MAX_RAW_SUBJECT))
    .slice(0, MAX_SUBJECT)
    .replace(/\r?\n[ \t]/g, " ")
    .replace(/[\t\r\n]/g, " ")
    .replace(/ {2,}/g, " ");
  let replyOrForward = false;
  for (;;) {
    // (2) Trailers.
    for (let trailer = TRAILER.exec(subject); trailer; trailer = TRAILER.exec(subject)) {
      if (trailer[0] !== " " && trailer[0] !== "\t") replyOrForward = true;
      subject = subject.slice(0, subject.length - trailer[0].length);
    }
    // (3)-(5) Leaders, and a leading blob when something is left after it.
    for (;;) {
      const leader = LEADER.exec(subject);
      if (leader) {
        if (leader[0].endsWith(":")) replyOrForward = true;
        subject = subject.slice(leader[0].length);
        continue;
      }
      const blob = BLOB.exec(subject);
      if (blob && blob[0].length < subject.length) {
        subject = subject.slice(blob[0].length);
        continue;
      }
      break;
    }
    // (6) "[fwd: ...]" around the whole: unwrap and start again.
    const forwarded = FWD.exec(subject);
    if (!forwarded) return { base: subject, replyOrForward };
    replyOrForward = true;
    subject = forwarded[1]!;
  }
}

/** i;ascii-casemap (RFC 4790): ASCII letters folded to upper case, compared as UTF-8 octets. */
export function asciiCasemapKey(value: string): Buffer {
  return Buffer.from(
    value.replace(/[a-z]+/g, (letters) => letters.toUpperCase()),
    "utf8",
  );
}

type Comparable = number | Buffer;

/** What each sort key is made of. */
const FIELDS: Record<SortKey, readonly SortField[]> = {
  ARRIVAL: ["internalDate"],
  DATE: ["sentDate", "internalDate"],
  SIZE: ["size"],
  SUBJECT: ["subject"],
  FROM: ["from"],
  TO: ["to"],
  CC: ["cc"],
  DISPLAYFROM: ["displayFrom"],
  DISPLAYTO: ["displayTo"],
};

export function sortFieldsOf(criteria: SortArgs["criteria"]): SortField[] {
  return [...new Set(criteria.flatMap((criterion) => FIELDS[criterion.key]))];
}

function compare(a: Comparable, b: Comparable): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return Buffer.compare(a as Buffer, b as Buffer);
}

/** Each message's sort keys (RFC 5256, RFC 5957), in the order of `criteria`. */
export function sortKeysOf(
  messages: readonly SortFields[],
  criteria: SortArgs["criteria"],
): Map<number, Comparable[]> {
  // Many messages share a subject (a thread) or a sender: each distinct text is keyed once.
  const subjects = new Map<string, Buffer>();
  const texts = new Map<string, Buffer>();
  const displays = new Map<string, Buffer>();
  const cached = (cache: Map<string, Buffer>, text: string, make: (text: string) => Buffer) => {
    let key = cache.get(text);
    if (key === undefined) {
      key = make(text);
      cache.set(text, key);
    }
    return key;
  };
  const keyOf = (key: SortKey, message: SortFields): Comparable => {
    switch (key) {
      case "ARRIVAL":
        return message.internalDate;
      case "DATE":
        // RFC 5256: the INTERNALDATE stands in for a Date header that is missing or unparsable.
        return message.sentDate ?? message.internalDate;
      case "SIZE":
        return message.size;
      case "SUBJECT":
        return cached(subjects, message.subject, (subject) => asciiCasemapKey(baseSubject(subject)));
      case "FROM":
        return cached(texts, message.from, asciiCasemapKey);
      case "TO":
        return cached(texts, message.to, asciiCasemapKey);
      case "CC":
        return cached(texts, message.cc, asciiCasemapKey);
      // RFC 5957: the display name, decoded, else the address.
      case "DISPLAYFROM":
        return cached(displays, message.displayFrom, (name) =>
          asciiCasemapKey(decodeEncodedWords(name).trim()),
        );
      case "DISPLAYTO":
        return cached(displays, message.displayTo, (name) =>
          asciiCasemapKey(decodeEncodedWords(name).trim()),
        );
    }
  };
  return new Map(
    messages.map((message) => [message.uid, criteria.map((criterion) => keyOf(criterion.key, message))]),
  );
}

/** The order of `criteria` over keys made by sortKeysOf; 0 for exactly equal keys. */
export function compareSortKeys(
  criteria: SortArgs["criteria"],
): (a: readonly Comparable[], b: readonly Comparable[]) => number {
  return (a, b) => {
    for (let i = 0; i < criteria.length; i += 1) {
      const order = compare(a[i]!, b[i]!);
      if (order !== 0) return criteria[i]!.reverse ? -order : order;
    }
    return 0;
  };
}

/** The UIDs of `messages` (ascending by UID) in the order of `criteria`. */
export function sortMessages(messages: readonly SortFields[], criteria: SortArgs["criteria"]): number[] {
  const keys = sortKeysOf(messages, criteria);
  const byKeys = compareSortKeys(criteria);
  // Exactly equal: in the order they have in the mailbox (REVERSE does not apply).
  return messages.map((message) => message.uid).sort((x, y) => byKeys(keys.get(x)!, keys.get(y)!) || x - y);
}
