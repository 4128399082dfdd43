import { readHeaderBlock } from "./headerBlock.ts";
import type { BodyPart, ByteRange, MessageStructure } from "./types.ts";

type Specifier = "" | "HEADER" | "TEXT" | "MIME";

/**
 * Parses a section spec into part numbers and a specifier. HEADER.FIELDS and HEADER.FIELDS.NOT
 * address the header (the field filtering happens in filterHeaderFields), so they map to HEADER;
 * a trailing field list "(...)" is ignored. Returns null for a malformed spec.
 */
function parseSection(section: string): { path: number[]; specifier: Specifier } | null {
  const spec = section
    .replace(/\s*\(.*$/s, "")
    .trim()
    .toUpperCase();
  if (spec === "") return { path: [], specifier: "" };
  const pieces = spec.split(".");
  const path: number[] = [];
  while (pieces.length > 0 && /^[1-9][0-9]*$/.test(pieces[0]!)) {
    path.push(Number(pieces.shift()));
  }
  const rest = pieces.join(".");
  switch (rest) {
    case "":
      return { path, specifier: "" };
    case "HEADER":
    case "HEADER.FIELDS":
    case "HEADER.FIELDS.NOT":
      return { path, specifier: "HEADER" };
    case "TEXT":
      return { path, specifier: "TEXT" };
    case "MIME":
      // RFC 3501 6.4.5: MIME must be prefixed by a part number.
      return path.length > 0 ? { path, specifier: "MIME" } : null;
    default:
      return null;
  }
}

/** The entity whose body is a message: the message itself, or a message/rfc822 part's content. */
function encapsulated(part: BodyPart): BodyPart | null {
  return part.type === "message" && part.subtype === "rfc822" ? (part.message?.body ?? null) : null;
}

/**
 * Resolves part numbers (RFC 3501 6.4.5). The parts of a message are the children of its body
 * when that is multipart, else its body alone is part 1. A message/rfc822 part's subparts are
 * the parts of the message it encapsulates; a multipart's are its children; other parts have none.
 */
export function resolvePart(root: BodyPart, path: readonly number[]): BodyPart | null {
  let node = null as BodyPart | null;
  for (const n of path) {
    const message: BodyPart | null = node === null ? root : encapsulated(node);
    const container: BodyPart | null = message ?? (node?.type === "multipart" ? node : null);
    if (container === null) return null;
    if (container.type === "multipart") {
      const child: BodyPart | undefined = container.children[n - 1];
      if (child === undefined) return null;
      node = child;
    } else if (n === 1 && message !== null) {
      // A non-multipart message has exactly one part: its body.
      node = message;
    } else {
      return null;
    }
  }
  return node;
}

/**
 * The byte range of an IMAP section (BODY[section]) in the stored blob, or null when the message
 * has no such part. Partial ranges (<origin.octets>) are applied by the caller.
 */
export function sectionRange(structure: MessageStructure, section: string): ByteRange | null {
  const parsed = parseSection(section);
  if (parsed === null) return null;
  const { path, specifier } = parsed;
  let message: BodyPart | null = structure.body;
  if (path.length > 0) {
    const part = resolvePart(structure.body, path);
    if (part === null) return null;
    if (specifier === "") return { start: part.bodyStart, end: part.bodyEnd };
    if (specifier === "MIME") return { start: part.headerStart, end: part.headerEnd };
    // HEADER and TEXT after a part number are only defined for a message/rfc822 part.
    message = encapsulated(part);
    if (message === null) return null;
  }
  switch (specifier) {
    case "":
      return { start: 0, end: structure.size };
    case "HEADER":
      return { start: message.headerStart, end: message.headerEnd };
    case "TEXT":
      return { start: message.bodyStart, end: message.bodyEnd };
    default:
      return null;
  }
}

/**
 * BODY[HEADER.FIELDS (...)] and BODY[HEADER.FIELDS.NOT (...)]: the matching fields of a header,
 * each with its folded continuation lines, followed by the blank line RFC 3501 6.4.5 requires.
 */
export function filterHeaderFields(headerBytes: Buffer, fields: string[], not: boolean): Buffer {
  const wanted = new Set(fields.map((f) => f.toLowerCase()));
  const block = readHeaderBlock(headerBytes, 0, headerBytes.length);
  const chunks: Buffer[] = [];
  for (const field of block.fields) {
    if (wanted.has(field.name) === not) continue;
    const bytes = headerBytes.subarray(field.start, field.end);
    chunks.push(bytes);
    // The last field of a header cut off without a line break still needs one.
    if (bytes.at(-1) !== 0x0a) chunks.push(Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from("\r\n"));
  return Buffer.concat(chunks);
}
