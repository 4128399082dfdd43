// The sort keys of SORT (RFC 5256 section 3) made in the gateway: the base subject (section 2.1)
// and the i;ascii-casemap comparator (a-z as A-Z, then octet order of the UTF-8).
import { decodeEncodedWords } from "../../mime/index.ts";

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
