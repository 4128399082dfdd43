// A message's header as named fields, for the header summary of events and for search keys: the
// header bytes found, the fields unfolded and grouped by lower-case name. Never throws.
import { decodeHeaderBytes } from "./headerBlock.ts";

/** The header is looked for in this many first bytes (a larger header is summarized up to here). */
export const MAX_HEADER_BYTES = 256 * 1024;
/** A field value is kept up to this many characters while unfolding (a summary, not a copy). */
const MAX_FIELD_CHARS = 998 * 4;

/** The header part of a message: up to the first empty line (CRLF or bare LF), or all of it. */
export function headerBytes(message: Buffer): Buffer {
  const limit = Math.min(message.length, MAX_HEADER_BYTES);
  for (let i = 0; i < limit; i++) {
    if (message[i] !== 0x0a) continue;
    if (message[i + 1] === 0x0a) return message.subarray(0, i + 1);
    if (message[i + 1] === 0x0d && message[i + 2] === 0x0a) return message.subarray(0, i + 1);
  }
  return message.subarray(0, limit);
}

/**
 * Field name (lowercased) to its unfolded values, in order. Header bytes are read as UTF-8 when
 * they are valid UTF-8 (RFC 6532), else as Latin-1 so that no byte is lost (as ENVELOPE reads
 * them); lines that are not fields are skipped.
 */
export function parseHeaderFields(header: Buffer): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  const lines = decodeHeaderBytes(header).split(/\r?\n/);
  let current: { name: string; value: string } | undefined;
  const flush = () => {
    if (!current) return;
    const values = fields.get(current.name) ?? [];
    values.push(current.value);
    fields.set(current.name, values);
    current = undefined;
  };
  for (const line of lines) {
    if ((line.startsWith(" ") || line.startsWith("\t")) && current) {
      // RFC 5322 2.2.3: unfolding removes the CRLF, the whitespace stays.
      if (current.value.length < MAX_FIELD_CHARS) current.value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    current = { name, value: line.slice(colon + 1) };
  }
  flush();
  return fields;
}

/**
 * Splits an address list at the commas that separate its members: not inside quotes, angle
 * brackets, comments or a group's member list ("team: a@x, b@y;" stays one member).
 */
export function splitAddressList(value: string): string[] {
  const members: string[] = [];
  let depthComment = 0;
  let inQuote = false;
  let inAngle = false;
  let inGroup = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (inQuote) {
      if (char === "\\") i++;
      else if (char === '"') inQuote = false;
      continue;
    }
    if (char === "\\") i++;
    else if (char === '"') inQuote = true;
    else if (char === "(") depthComment++;
    else if (char === ")" && depthComment > 0) depthComment--;
    else if (depthComment > 0) continue;
    else if (char === "<") inAngle = true;
    else if (char === ">") inAngle = false;
    else if (char === ":" && !inAngle) inGroup = true;
    else if (char === ";" && inGroup) inGroup = false;
    else if (char === "," && !inAngle && !inGroup) {
      members.push(value.slice(start, i));
      start = i + 1;
    }
  }
  members.push(value.slice(start));
  return members.map((member) => member.trim()).filter((member) => member.length > 0);
}
