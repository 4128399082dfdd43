// RFC 3501 sequence-set (with RFC 5182 `$`), parsed from the scanner.

import type { SeqBound, SeqRange, SequenceSet } from "./commands.ts";
import { MAX_UINT32 } from "./limits.ts";
import type { Scanner } from "./scanner.ts";

function isSequenceSetChar(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || b === 0x2a || b === 0x3a || b === 0x2c || b === 0x24; // digits * : , $
}

export function looksLikeSequenceSet(s: Scanner): boolean {
  const b = s.peek();
  return (b >= 0x30 && b <= 0x39) || b === 0x2a || b === 0x24;
}

export function parseSequenceSet(s: Scanner, what = "sequence set"): SequenceSet {
  const text = s.takeWhile(isSequenceSetChar);
  const result = sequenceSetFromString(text);
  if (typeof result === "string")
    return s.fail(`invalid ${what} ${JSON.stringify(text.slice(0, 40))}: ${result}`);
  return result;
}

/** Parses sequence-set text; returns an error message on failure. */
export function sequenceSetFromString(text: string): SequenceSet | string {
  if (text === "$") return { kind: "saved" };
  if (text.length === 0) return "empty";
  const ranges: SeqRange[] = [];
  for (const part of text.split(",")) {
    const bounds = part.split(":");
    if (bounds.length > 2) return "too many ':'";
    const start = parseSeqNumber(bounds[0]!);
    if (typeof start === "object") return start.error;
    if (bounds.length === 1) {
      ranges.push({ start, stop: start });
      continue;
    }
    const stop = parseSeqNumber(bounds[1]!);
    if (typeof stop === "object") return stop.error;
    // A range and its reverse are the same set (RFC 3501 seq-range); keep `*` last.
    if (start === "*" || (stop !== "*" && start > stop)) ranges.push({ start: stop, stop: start });
    else ranges.push({ start, stop });
  }
  return { kind: "ranges", ranges };
}

function parseSeqNumber(text: string): SeqBound | { error: string } {
  if (text === "*") return "*";
  if (!/^[1-9][0-9]*$/.test(text)) {
    return {
      error: text === "" ? "missing number" : `${JSON.stringify(text.slice(0, 20))} is not a non-zero number`,
    };
  }
  const n = text.length > 10 ? Number.POSITIVE_INFINITY : Number(text);
  if (n > MAX_UINT32) return { error: "number exceeds 4294967295" };
  return n;
}
