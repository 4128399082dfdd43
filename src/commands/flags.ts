// Message flags as stored: the system flags of RFC 3501 2.3.2 in canonical case, keywords
// as first written, no duplicates (flags compare case-insensitively), sorted for stable events.
// \Recent is the session's business (RFC 3501: it cannot be set by STORE or APPEND) and is
// never stored.
import { DomainError } from "./errors.ts";

const SYSTEM_FLAGS = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"] as const;
const systemByLower = new Map<string, string>(SYSTEM_FLAGS.map((flag) => [flag.toLowerCase(), flag]));

export const DELETED = "\\Deleted";
/** RFC 3501 atom-specials (and "\" outside the leading position) cannot appear in a keyword. */
const KEYWORD = /^[^\p{Cc}(){ %*"\\\]]+$/u;
export const MAX_FLAG_LENGTH = 255;
export const MAX_FLAGS_PER_MESSAGE = 100;

export function canonicalFlags(flags: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const raw of flags) {
    const lower = raw.toLowerCase();
    if (lower === "\\recent") continue;
    if (raw.startsWith("\\")) {
      const system = systemByLower.get(lower);
      if (!system) throw new DomainError("CANNOT", `${raw} is not a flag a message can carry`);
      seen.set(lower, system);
      continue;
    }
    if (raw.length === 0 || raw.length > MAX_FLAG_LENGTH || !KEYWORD.test(raw)) {
      throw new DomainError("BADNAME", `"${raw.slice(0, 40)}" is not a valid keyword`);
    }
    if (!seen.has(lower)) seen.set(lower, raw);
  }
  if (seen.size > MAX_FLAGS_PER_MESSAGE) {
    throw new DomainError("LIMIT", `a message carries at most ${MAX_FLAGS_PER_MESSAGE} flags`);
  }
  return [...seen.values()].sort();
}

export type FlagOperation = "add" | "remove" | "replace";

/** The flags a message has after a STORE (both lists canonical). */
export function applyFlagOperation(
  current: readonly string[],
  operation: FlagOperation,
  flags: readonly string[],
) {
  const lower = new Set(flags.map((flag) => flag.toLowerCase()));
  switch (operation) {
    case "replace":
      return [...flags];
    case "add":
      return canonicalFlags([...current, ...flags]);
    case "remove":
      return current.filter((flag) => !lower.has(flag.toLowerCase()));
    default: {
      const unknown: never = operation;
      throw new Error(`unknown flag operation ${String(unknown)}`);
    }
  }
}

export const sameFlags = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((flag, index) => flag === b[index]);

export const hasDeletedFlag = (flags: readonly string[]) => flags.includes(DELETED);
