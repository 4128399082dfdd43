import type { EnvelopeAddress } from "./types.ts";

// An RFC 5322 address-list parser that yields IMAP ENVELOPE entries. It is tolerant by design:
// whatever a sender wrote, it returns the addresses it can recognise and never throws. Encoded
// words are left as they are, since ENVELOPE returns names undecoded (RFC 3501 7.4.2).

type TokenKind = "atom" | "quoted" | "comment" | "literal" | "special";

interface Token {
  kind: TokenKind;
  text: string;
  /** Whether whitespace (or a comment) separated this token from the previous one. */
  spaced: boolean;
}

const SPECIALS = new Set(["<", ">", ",", ":", ";", "@", "."]);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let spaced = false;
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      spaced = true;
      i++;
    } else if (c === '"') {
      let text = "";
      i++;
      while (i < input.length && input[i] !== '"') {
        if (input[i] === "\\" && i + 1 < input.length) i++;
        text += input[i];
        i++;
      }
      i++;
      tokens.push({ kind: "quoted", text, spaced });
      spaced = false;
    } else if (c === "(") {
      let depth = 1;
      let text = "";
      i++;
      while (i < input.length && depth > 0) {
        const d = input[i]!;
        if (d === "\\" && i + 1 < input.length) {
          text += input[i + 1];
          i += 2;
          continue;
        }
        if (d === "(") depth++;
        if (d === ")") depth--;
        if (depth > 0) text += d;
        i++;
      }
      tokens.push({ kind: "comment", text: text.trim(), spaced });
      spaced = true;
    } else if (c === "[") {
      const close = input.indexOf("]", i);
      const end = close === -1 ? input.length : close + 1;
      tokens.push({ kind: "literal", text: input.slice(i, end), spaced });
      spaced = false;
      i = end;
    } else if (SPECIALS.has(c)) {
      tokens.push({ kind: "special", text: c, spaced });
      spaced = false;
      i++;
    } else {
      let j = i;
      while (j < input.length && !/[\s"(<>,:;@.[]/.test(input[j]!)) j++;
      if (j === i) j++; // a lone ")" or "]": take it as an atom rather than loop forever
      tokens.push({ kind: "atom", text: input.slice(i, j), spaced });
      spaced = false;
      i = j;
    }
  }
  return tokens;
}

function isSpecial(t: Token | undefined, text: string): boolean {
  return t?.kind === "special" && t.text === text;
}

/** A display name: words joined as written (one space where there was whitespace). */
function phrase(tokens: readonly Token[]): string | null {
  let out = "";
  for (const t of tokens) {
    if (t.kind === "comment") continue;
    if (out !== "" && t.spaced) out += " ";
    out += t.text;
  }
  return out === "" ? null : out;
}

/** A dot-atom or domain: tokens concatenated, whitespace and comments dropped. */
function joinTight(tokens: readonly Token[]): string {
  return tokens
    .filter((t) => t.kind !== "comment")
    .map((t) => t.text)
    .join("");
}

function lastComment(tokens: readonly Token[]): string | null {
  for (let i = tokens.length - 1; i >= 0; i--) {
    const t = tokens[i]!;
    if (t.kind === "comment" && t.text !== "") return t.text;
  }
  return null;
}

/** Parses "local@domain" tokens (no angle brackets) into mailbox and host. */
function addrSpec(tokens: readonly Token[]): { mailbox: string | null; host: string | null } {
  let at = -1;
  for (let i = tokens.length - 1; i >= 0; i--) {
    if (isSpecial(tokens[i], "@")) {
      at = i;
      break;
    }
  }
  if (at === -1) {
    const local = joinTight(tokens);
    // No domain: "" rather than NIL, because a NIL host would mean group syntax to the client.
    return { mailbox: local === "" ? null : local, host: "" };
  }
  const local = joinTight(tokens.slice(0, at));
  return { mailbox: local === "" ? null : local, host: joinTight(tokens.slice(at + 1)) };
}

/** Parses one mailbox: either "phrase <route:local@domain>" or "local@domain (comment)". */
function mailbox(tokens: readonly Token[]): EnvelopeAddress | null {
  if (tokens.every((t) => t.kind === "comment")) return null;
  const open = tokens.findIndex((t) => isSpecial(t, "<"));
  if (open === -1) {
    const { mailbox: mb, host } = addrSpec(tokens);
    if (mb === null && host === "") return null;
    return { name: lastComment(tokens), adl: null, mailbox: mb, host };
  }
  let close = tokens.findIndex((t, i) => i > open && isSpecial(t, ">"));
  if (close === -1) close = tokens.length;
  let inner = tokens.slice(open + 1, close);
  let adl: string | null = null;
  // An obsolete source route "@a,@b:" (RFC 5322 4.4) goes to the adl field.
  const colon = inner.findIndex((t) => isSpecial(t, ":"));
  if (colon !== -1 && isSpecial(inner[0], "@")) {
    adl = joinTight(inner.slice(0, colon));
    inner = inner.slice(colon + 1);
  }
  const { mailbox: mb, host } = addrSpec(inner);
  const name = phrase(tokens.slice(0, open)) ?? lastComment(tokens.slice(close));
  if (mb === null && host === "" && name === null) return null;
  return { name, adl, mailbox: mb, host };
}

/**
 * Splits tokens at top-level commas (not inside "<...>"), stopping at ";" when inside a group.
 * Returns the pieces and the index where it stopped.
 */
function splitMailboxes(
  tokens: readonly Token[],
  from: number,
  inGroup: boolean,
): { pieces: Token[][]; next: number } {
  const pieces: Token[][] = [];
  let cur: Token[] = [];
  let angle = false;
  let i = from;
  for (; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (isSpecial(t, "<")) angle = true;
    if (isSpecial(t, ">")) angle = false;
    if (!angle && isSpecial(t, ",")) {
      pieces.push(cur);
      cur = [];
      continue;
    }
    if (!angle && inGroup && isSpecial(t, ";")) {
      i++;
      break;
    }
    if (!angle && !inGroup && isSpecial(t, ":")) {
      // A group starts inside what we took for a mailbox: hand back to the caller.
      break;
    }
    cur.push(t);
  }
  pieces.push(cur);
  return { pieces, next: i };
}

/** Parses an address-list header value into ENVELOPE entries; null for an empty list (NIL). */
export function parseAddressList(value: string | null): EnvelopeAddress[] | null {
  if (value === null) return null;
  const tokens = tokenize(value);
  const out: EnvelopeAddress[] = [];
  let i = 0;
  while (i < tokens.length) {
    // Find the next group start ("phrase :") before any comma or "<" at top level.
    let j = i;
    let groupColon = -1;
    while (j < tokens.length) {
      const t = tokens[j]!;
      if (isSpecial(t, ",") || isSpecial(t, "<") || isSpecial(t, ";")) break;
      if (isSpecial(t, ":")) {
        groupColon = j;
        break;
      }
      j++;
    }
    if (groupColon !== -1) {
      // Group: start marker (mailbox = group name, host NIL), members, end marker (all NIL).
      out.push({ name: null, adl: null, mailbox: phrase(tokens.slice(i, groupColon)) ?? "", host: null });
      const { pieces, next } = splitMailboxes(tokens, groupColon + 1, true);
      for (const piece of pieces) {
        const addr = mailbox(piece);
        if (addr) out.push(addr);
      }
      out.push({ name: null, adl: null, mailbox: null, host: null });
      i = next;
      while (i < tokens.length && (isSpecial(tokens[i], ",") || isSpecial(tokens[i], ";"))) i++;
      continue;
    }
    const { pieces, next } = splitMailboxes(tokens, i, false);
    // splitMailboxes stopped at a ":" means the last piece is really a group's name: rewind.
    const stoppedAtGroup = next < tokens.length && isSpecial(tokens[next], ":");
    const complete = stoppedAtGroup ? pieces.slice(0, -1) : pieces;
    for (const piece of complete) {
      const addr = mailbox(piece);
      if (addr) out.push(addr);
    }
    if (stoppedAtGroup) {
      const groupPieceLength = pieces.at(-1)?.length ?? 0;
      const groupStart = next - groupPieceLength;
      if (groupStart > i) {
        i = groupStart;
      } else {
        // The ":" cannot start a group here ("a <b@c> x: ..." or a bare ":"): skip it so that
        // the loop always advances.
        const addr = mailbox(pieces.at(-1) ?? []);
        if (addr) out.push(addr);
        i = next + 1;
      }
    } else {
      i = next === i ? i + 1 : next;
    }
    while (i < tokens.length && isSpecial(tokens[i], ";")) i++;
  }
  return out.length > 0 ? out : null;
}
