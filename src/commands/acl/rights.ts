// RFC 4314 rights: parsing a client's rights string, and the canonical form stored and shown.
// Pure. The RFC 2086 rights "c" and "d" are read as the RFC 4314 rights that replaced them
// (2.1.1: "c" is "k" and "x", "d" is "t" and "e"); they are never stored.
import { DomainError } from "../errors.ts";

/** Every right in canonical order (RFC 4314 2.1); the owner holds all of them. */
export const ALL_RIGHTS = "lrswipkxtea";

/** The identifier that grants to every authenticated user (RFC 4314 2). */
export const ANYONE = "anyone";

const OBSOLETE: Readonly<Record<string, string>> = { c: "kx", d: "te" };

/** The rights of `text` in canonical order; a letter no RFC defines is BADNAME. */
export function parseRights(text: string): string {
  const wanted = new Set<string>();
  for (const letter of text) {
    const expanded = OBSOLETE[letter] ?? letter;
    for (const right of expanded) {
      if (!ALL_RIGHTS.includes(right)) {
        throw new DomainError(
          "BADNAME",
          `"${letter}" is not a right this server knows (RFC 4314: ${ALL_RIGHTS})`,
        );
      }
      wanted.add(right);
    }
  }
  return canonicalRights(wanted);
}

export function canonicalRights(rights: Iterable<string>): string {
  const set = new Set(rights);
  return [...ALL_RIGHTS].filter((right) => set.has(right)).join("");
}

export type RightsChange = { mode: "replace" | "add" | "remove"; rights: string };

/** SETACL's rights argument: a leading "+" adds, "-" removes, none replaces (RFC 4314 3.1). */
export function parseRightsChange(text: string): RightsChange {
  if (text.startsWith("+")) return { mode: "add", rights: parseRights(text.slice(1)) };
  if (text.startsWith("-")) return { mode: "remove", rights: parseRights(text.slice(1)) };
  return { mode: "replace", rights: parseRights(text) };
}

export function applyRightsChange(current: string, change: RightsChange): string {
  switch (change.mode) {
    case "replace":
      return change.rights;
    case "add":
      return canonicalRights([...current, ...change.rights]);
    case "remove":
      return canonicalRights([...current].filter((right) => !change.rights.includes(right)));
    default: {
      const unknown: never = change.mode;
      throw new Error(`unknown rights change ${String(unknown)}`);
    }
  }
}

export function hasRights(held: string, needed: string): boolean {
  return [...needed].every((right) => held.includes(right));
}
