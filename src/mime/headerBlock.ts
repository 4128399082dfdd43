import { isUtf8 } from "node:buffer";
import type { MimeParam } from "./types.ts";

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** One header field as found in the blob: [start, end) covers its name, value and folded lines. */
export interface HeaderField {
  /** Lower-cased field name. */
  name: string;
  start: number;
  /** First byte after the colon. */
  valueStart: number;
  /** End of the field including its final line break. */
  end: number;
}

export interface HeaderBlock {
  fields: HeaderField[];
  /** End of the header, including the blank line that closes it when there is one. */
  headerEnd: number;
  bodyStart: number;
}

/** End of the line that starts at pos: the index after its LF, or limit. */
export function lineEnd(buf: Buffer, pos: number, limit: number): number {
  const lf = buf.indexOf(LF, pos);
  return lf === -1 || lf >= limit ? limit : lf + 1;
}

/** Length of the content of [start, end) without its trailing CRLF or LF. */
function contentEnd(buf: Buffer, start: number, end: number): number {
  let e = end;
  if (e > start && buf[e - 1] === LF) e--;
  if (e > start && buf[e - 1] === CR) e--;
  return e;
}

/**
 * Returns the index of the colon if the line looks like a header field ("Name:" with
 * printable US-ASCII name characters; RFC 822's obsolete "Name :" is accepted), else -1.
 */
function fieldColon(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = buf[i]!;
    if (c === COLON) break;
    if (c <= SP || c > 0x7e) break;
    i++;
  }
  if (i === start) return -1;
  let j = i;
  while (j < end && (buf[j] === SP || buf[j] === HTAB)) j++;
  return j < end && buf[j] === COLON ? j : -1;
}

/**
 * Splits the header of the entity starting at start (ending at limit at the latest). Tolerant:
 * a header without a blank line ends at the first line that is neither a field nor a folded
 * continuation, or at limit; a line that is not a field right at the start means an empty header.
 */
export function readHeaderBlock(buf: Buffer, start: number, limit: number): HeaderBlock {
  const fields: HeaderField[] = [];
  let current: HeaderField | null = null;
  let pos = start;
  while (pos < limit) {
    const next = lineEnd(buf, pos, limit);
    const cEnd = contentEnd(buf, pos, next);
    if (cEnd === pos) {
      // The blank line: it belongs to the header (BODY[HEADER] includes it).
      return { fields, headerEnd: next, bodyStart: next };
    }
    const first = buf[pos]!;
    if (first === SP || first === HTAB) {
      // A folded continuation; before any field it is stray whitespace we keep in the header.
      if (current) current.end = next;
      pos = next;
      continue;
    }
    const colon = fieldColon(buf, pos, cEnd);
    if (colon === -1) {
      // Not a header line: the header ended without the blank line (malformed but common in
      // broken generators); the body starts here.
      return { fields, headerEnd: pos, bodyStart: pos };
    }
    current = {
      name: buf.toString("latin1", pos, colon).trimEnd().toLowerCase(),
      start: pos,
      valueStart: colon + 1,
      end: next,
    };
    fields.push(current);
    pos = next;
  }
  return { fields, headerEnd: limit, bodyStart: limit };
}

/**
 * Header bytes as a string: UTF-8 when they are valid UTF-8 (RFC 6532 headers), else Latin-1
 * so that no byte is lost. NUL becomes U+FFFD because jsonb cannot store "\u0000".
 */
export function decodeHeaderBytes(bytes: Buffer): string {
  const text = isUtf8(bytes) ? bytes.toString("utf8") : bytes.toString("latin1");
  return text.includes("\0") ? text.replaceAll("\0", "\uFFFD") : text;
}

/** The field's value, unfolded (RFC 5322 2.2.3: remove the CRLF before WSP) and trimmed. */
export function fieldValue(buf: Buffer, field: HeaderField): string {
  const raw = decodeHeaderBytes(buf.subarray(field.valueStart, field.end));
  return raw
    .replace(/\r?\n(?=[ \t])/g, "")
    .replace(/[\r\n]+/g, "")
    .trim();
}

/** The value of the first field with this (lower-case) name, or null when absent. */
export function firstFieldValue(buf: Buffer, fields: readonly HeaderField[], name: string): string | null {
  const field = fields.find((f) => f.name === name);
  return field ? fieldValue(buf, field) : null;
}

/** Removes RFC 5322 comments, honouring nesting, quoted strings and quoted pairs. */
function stripComments(value: string): string {
  let out = "";
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\" && (quoted || depth > 0)) {
      if (depth === 0) out += c + (value[i + 1] ?? "");
      i++;
      continue;
    }
    if (depth === 0 && c === '"') quoted = !quoted;
    if (!quoted) {
      if (c === "(") {
        depth++;
        continue;
      }
      if (c === ")" && depth > 0) {
        depth--;
        continue;
      }
    }
    if (depth === 0) out += c;
  }
  return out;
}

/** Splits on ";" outside quoted strings. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted && c === "\\") {
      cur += c + (value[i + 1] ?? "");
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ";" && !quoted) {
      out.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    return v.slice(1, -1).replace(/\\(.)/g, "$1");
  }
  if (v.startsWith('"')) return v.slice(1).replace(/\\(.)/g, "$1");
  return v;
}

/**
 * Merges RFC 2231 continuations (name*0, name*1*, ...) into one parameter. As Dovecot does, the
 * merged value keeps its extended encoding ("name*" = "charset'lang'pct-encoded") because IMAP
 * BODYSTRUCTURE reports parameters, not decoded file names.
 */
function mergeContinuations(params: MimeParam[]): MimeParam[] {
  const out: MimeParam[] = [];
  const groups = new Map<string, { index: number; segments: { n: number; value: string; ext: boolean }[] }>();
  for (const p of params) {
    const m = /^(.+?)\*(\d+)(\*?)$/.exec(p.name);
    if (!m) {
      out.push(p);
      continue;
    }
    const base = m[1]!;
    let group = groups.get(base);
    if (!group) {
      group = { index: out.length, segments: [] };
      groups.set(base, group);
      out.push({ name: base, value: "" });
    }
    group.segments.push({ n: Number(m[2]), value: p.value, ext: m[3] === "*" });
  }
  for (const [base, group] of groups) {
    group.segments.sort((a, b) => a.n - b.n);
    const extended = group.segments[0]?.ext ?? false;
    out[group.index] = {
      name: extended ? `${base}*` : base,
      value: group.segments.map((s) => s.value).join(""),
    };
  }
  return out;
}

/** Parses "value; a=b; c=\"d\"" (Content-Type, Content-Disposition): never throws. */
export function parseParameterized(raw: string): { value: string; params: MimeParam[] } {
  const [head = "", ...rest] = splitParams(stripComments(raw));
  const params: MimeParam[] = [];
  for (const piece of rest) {
    const eq = piece.indexOf("=");
    if (eq === -1) continue;
    const name = piece.slice(0, eq).trim().toLowerCase();
    if (name === "") continue;
    params.push({ name, value: unquote(piece.slice(eq + 1)) });
  }
  return { value: head.trim(), params: mergeContinuations(params) };
}

/** Content-Language is a comma-separated list of tags (RFC 3282). */
export function parseLanguageList(raw: string): string[] | null {
  const tags = stripComments(raw)
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  return tags.length > 0 ? tags : null;
}

export function paramValue(params: readonly MimeParam[], name: string): string | null {
  return params.find((p) => p.name === name)?.value ?? null;
}

/** Counts lines as IMAP clients expect: line breaks, plus a final line without one. */
export function countLines(buf: Buffer, start: number, end: number): number {
  let lines = 0;
  let pos = start;
  while (pos < end) {
    const lf = buf.indexOf(LF, pos);
    if (lf === -1 || lf >= end) return lines + 1;
    lines++;
    pos = lf + 1;
  }
  return lines;
}
