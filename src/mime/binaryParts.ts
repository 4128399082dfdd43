// Binary content appended with a literal8 (RFC 3516 4.3) made safe to store. BODY[...] answers in
// a literal, which may not carry NUL (RFC 3501 4.3, 9: CHAR8), and literal8 is for BINARY[...]
// only, so a message kept as it came could not be fetched whole. Its binary parts are stored in
// base64 instead, the change of content-transfer-encoding RFC 3516 4.3 allows: BODY[...] and
// BODYSTRUCTURE show base64, BINARY[...] still gives the client back the bytes it sent.
import { readHeaderBlock } from "./headerBlock.ts";
import { parseMessageStructure } from "./parseMessageStructure.ts";
import type { BodyPart } from "./types.ts";

/** RFC 2045 6.8: encoded lines are at most 76 characters. */
const BASE64_LINE = 76;
const CRLF = "\r\n";

/** Encodings under which a part's bytes are its content, so a NUL among them is a NUL sent. */
const IDENTITY_ENCODINGS = new Set(["7bit", "8bit", "binary"]);

interface Edit {
  start: number;
  end: number;
  replacement: Buffer;
}

function needsEncoding(raw: Buffer, part: BodyPart): boolean {
  if (!IDENTITY_ENCODINGS.has(part.encoding)) return false;
  if (part.encoding === "binary") return true;
  const nul = raw.indexOf(0, part.bodyStart);
  return nul !== -1 && nul < part.bodyEnd;
}

function base64Lines(content: Buffer): string {
  const encoded = content.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < encoded.length; i += BASE64_LINE) lines.push(encoded.slice(i, i + BASE64_LINE));
  return lines.join(CRLF);
}

/** The part's header without its Content-Transfer-Encoding fields, and base64 declared instead. */
function rewrittenHeader(raw: Buffer, part: BodyPart): Buffer {
  const block = readHeaderBlock(raw, part.headerStart, part.headerEnd);
  const kept: Buffer[] = [];
  let pos = part.headerStart;
  for (const field of block.fields) {
    if (field.name !== "content-transfer-encoding") continue;
    kept.push(raw.subarray(pos, field.start));
    pos = field.end;
  }
  // Where the fields end: before the blank line that closes the header, if it has one.
  const lastField = block.fields.at(-1);
  const fieldsEnd = Math.max(pos, lastField?.end ?? part.headerStart);
  kept.push(raw.subarray(pos, fieldsEnd));
  const fieldsText = Buffer.concat(kept);
  const endsInLineBreak = fieldsText.length === 0 || fieldsText.at(-1) === 0x0a;
  return Buffer.concat([
    fieldsText,
    Buffer.from(`${endsInLineBreak ? "" : CRLF}Content-Transfer-Encoding: base64${CRLF}`),
    fieldsEnd < part.headerEnd ? raw.subarray(fieldsEnd, part.headerEnd) : Buffer.from(CRLF),
  ]);
}

function collectEdits(raw: Buffer, part: BodyPart, edits: Edit[]): void {
  if (part.children.length > 0) {
    for (const child of part.children) collectEdits(raw, child, edits);
    return;
  }
  if (part.message !== null && IDENTITY_ENCODINGS.has(part.encoding)) {
    collectEdits(raw, part.message.body, edits);
    return;
  }
  if (!needsEncoding(raw, part)) return;
  const content = raw.subarray(part.bodyStart, part.bodyEnd);
  // A part that runs to the end of the message ends with a line break of its own; one inside a
  // multipart has the delimiter's in front of the next boundary.
  const trailer = part.bodyEnd === raw.length ? CRLF : "";
  edits.push({ start: part.headerStart, end: part.headerEnd, replacement: rewrittenHeader(raw, part) });
  edits.push({
    start: part.bodyStart,
    end: part.bodyEnd,
    replacement: Buffer.from(content.length === 0 ? "" : base64Lines(content) + trailer),
  });
}

/**
 * The message with every part whose content is binary (Content-Transfer-Encoding: binary, or a
 * NUL in a 7bit/8bit part) re-encoded in base64; the message itself when there is none.
 */
export function encodeBinaryParts(raw: Buffer): Buffer {
  const edits: Edit[] = [];
  collectEdits(raw, parseMessageStructure(raw).body, edits);
  if (edits.length === 0) return raw;
  edits.sort((a, b) => a.start - b.start);
  const pieces: Buffer[] = [];
  let pos = 0;
  for (const edit of edits) {
    pieces.push(raw.subarray(pos, edit.start), edit.replacement);
    pos = edit.end;
  }
  pieces.push(raw.subarray(pos));
  return Buffer.concat(pieces);
}
