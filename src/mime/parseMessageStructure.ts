import { envelopeFromFields } from "./buildEnvelope.ts";
import {
  countLines,
  firstFieldValue,
  lineEnd,
  paramValue,
  parseLanguageList,
  parseParameterized,
  readHeaderBlock,
} from "./headerBlock.ts";
import type { BodyPart, ByteRange, ContentDisposition, MessageStructure, MimeParam } from "./types.ts";

/**
 * Deeper structures are cut off: a part at this depth is reported as a leaf, so a hostile
 * message of thousands of nested multiparts costs neither stack nor storage.
 */
export const MAX_MIME_DEPTH = 64;
/** Past this many parts a message's remaining bytes stay in its last part (bounds the jsonb row). */
export const MAX_MIME_PARTS = 10_000;

/** Content transfer encodings under which the blob bytes ARE the encapsulated message. */
const IDENTITY_ENCODINGS = new Set(["7bit", "8bit", "binary"]);

interface ParseBudget {
  parts: number;
}

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;

/**
 * Is the line at [pos, next) a delimiter of this boundary? "--boundary" followed by an optional
 * "--" (the close delimiter) and transport padding (RFC 2046 5.1.1). Returns "close", "next" or null.
 */
function delimiterKind(buf: Buffer, pos: number, next: number, marker: Buffer): "next" | "close" | null {
  let i = pos + marker.length;
  if (i > next) return null;
  let close = false;
  if (i + 1 < next && buf[i] === DASH && buf[i + 1] === DASH) {
    close = true;
    i += 2;
  }
  for (; i < next; i++) {
    const c = buf[i];
    if (c !== 0x20 && c !== 0x09 && c !== CR && c !== LF) return null;
  }
  return close ? "close" : "next";
}

/**
 * The byte ranges of the parts of a multipart body: each starts after a delimiter line and ends
 * before the line break in front of the next delimiter. Without a close delimiter the last part
 * runs to the end; without any delimiter there are no parts.
 */
function splitMultipart(
  buf: Buffer,
  start: number,
  end: number,
  boundary: string,
  maxParts: number,
): ByteRange[] {
  const marker = Buffer.from(`--${boundary}`, "utf8");
  // A view that ends at the part's end keeps indexOf from searching the rest of the blob.
  const view = buf.subarray(0, end);
  const parts: ByteRange[] = [];
  let partStart = -1;
  let pos = start;
  while (pos < end) {
    const hit = view.indexOf(marker, pos);
    if (hit === -1) break;
    if (hit !== start && buf[hit - 1] !== LF) {
      // Not at a line start: the boundary string inside body text, not a delimiter.
      pos = hit + 1;
      continue;
    }
    const next = lineEnd(view, hit, end);
    const kind = delimiterKind(buf, hit, next, marker);
    if (kind === null) {
      pos = hit + 1;
      continue;
    }
    if (partStart !== -1) {
      // The line break before a delimiter belongs to the delimiter.
      let partEnd = hit;
      if (partEnd > partStart && buf[partEnd - 1] === LF) partEnd--;
      if (partEnd > partStart && buf[partEnd - 1] === CR) partEnd--;
      parts.push({ start: partStart, end: partEnd });
      partStart = -1;
    }
    if (kind === "close" || parts.length >= maxParts) return parts;
    partStart = next;
    pos = next;
  }
  if (partStart !== -1) parts.push({ start: partStart, end });
  return parts;
}

function parseEntity(
  buf: Buffer,
  start: number,
  end: number,
  depth: number,
  inDigest: boolean,
  budget: ParseBudget,
): BodyPart {
  budget.parts++;
  const block = readHeaderBlock(buf, start, end);
  const value = (name: string) => firstFieldValue(buf, block.fields, name);

  // RFC 2045 5.2 / RFC 2046 5.1.5: text/plain by default (message/rfc822 inside a digest), and
  // the same default for a syntactically invalid Content-Type.
  let type = inDigest ? "message" : "text";
  let subtype = inDigest ? "rfc822" : "plain";
  let params: MimeParam[] = [];
  const contentType = value("content-type");
  if (contentType !== null) {
    const parsed = parseParameterized(contentType);
    const m = /^([^\s/]+)\s*\/\s*([^\s/]+)$/.exec(parsed.value);
    if (m) {
      type = m[1]!.toLowerCase();
      subtype = m[2]!.toLowerCase();
      params = parsed.params;
    }
  }

  let disposition: ContentDisposition | null = null;
  const dispositionValue = value("content-disposition");
  if (dispositionValue !== null) {
    const parsed = parseParameterized(dispositionValue);
    if (parsed.value !== "") disposition = { type: parsed.value.toLowerCase(), params: parsed.params };
  }

  const languageValue = value("content-language");
  const encoding = (value("content-transfer-encoding") ?? "").toLowerCase();
  const part: BodyPart = {
    type,
    subtype,
    params,
    id: value("content-id"),
    description: value("content-description"),
    encoding: encoding === "" ? "7bit" : encoding,
    md5: value("content-md5"),
    disposition,
    language: languageValue === null ? null : parseLanguageList(languageValue),
    location: value("content-location"),
    headerStart: start,
    headerEnd: block.headerEnd,
    bodyStart: block.bodyStart,
    bodyEnd: end,
    size: end - block.bodyStart,
    lines: null,
    boundary: null,
    children: [],
    message: null,
  };

  const canDescend = depth < MAX_MIME_DEPTH && budget.parts < MAX_MIME_PARTS;
  if (type === "multipart") {
    part.boundary = paramValue(params, "boundary");
    if (part.boundary !== null && part.boundary !== "" && canDescend) {
      const ranges = splitMultipart(buf, part.bodyStart, end, part.boundary, MAX_MIME_PARTS - budget.parts);
      for (const range of ranges) {
        part.children.push(parseEntity(buf, range.start, range.end, depth + 1, subtype === "digest", budget));
      }
    }
  } else if (type === "message" && subtype === "rfc822") {
    part.lines = countLines(buf, part.bodyStart, end);
    // A base64-encoded message/rfc822 has no byte ranges in the blob to point at; it stays a leaf.
    if (canDescend && IDENTITY_ENCODINGS.has(part.encoding)) {
      const body = parseEntity(buf, part.bodyStart, end, depth + 1, false, budget);
      const inner = readHeaderBlock(buf, part.bodyStart, end);
      part.message = { envelope: envelopeFromFields(buf, inner.fields), body };
    }
  } else if (type === "text") {
    part.lines = countLines(buf, part.bodyStart, end);
  }
  return part;
}

/**
 * The MIME structure of a stored message with the byte offsets of every part. Never throws:
 * malformed input yields the best structure that can be recognised, since RFC 3501 has the
 * server return what it was given.
 */
export function parseMessageStructure(raw: Buffer): MessageStructure {
  const body = parseEntity(raw, 0, raw.length, 0, false, { parts: 0 });
  const header = readHeaderBlock(raw, 0, raw.length);
  return { version: 1, size: raw.length, envelope: envelopeFromFields(raw, header.fields), body };
}
