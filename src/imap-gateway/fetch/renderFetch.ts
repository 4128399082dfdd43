// Renders one message's FETCH response (RFC 3501 7.4.2) from its projected data and ranged
// reads of its blob. Pure apart from the reads; the FETCH module decides which messages and
// sets \Seen before rendering.

import {
  type BodyPart,
  decodeTransferEncoding,
  filterHeaderFields,
  type MessageStructure,
  resolvePart,
  sectionRange,
} from "../../mime/index.ts";
import {
  type BodySection,
  encodeBodyStructure,
  encodeDateTime,
  encodeEnvelope,
  encodeNString,
  type FetchItem,
  type ResponsePart,
  streamedLiteral,
} from "../codec/index.ts";
import { flagsItem, flagsItemFromText } from "./flagUpdate.ts";

export interface FetchableMessage {
  uid: number;
  flags: readonly string[];
  internalDate: Date;
  size: number;
  modSeq: number;
  /** Needed for ENVELOPE, BODY, BODYSTRUCTURE, sections and BINARY. */
  structure: MessageStructure | undefined;
  /** The body's digest, for EMAILID (RFC 8474). */
  blobDigest?: string | undefined;
  /** RFC 8514 SAVEDATE; null when the index does not know it (NIL). */
  saveDate?: Date | null | undefined;
  /** RFC 8970 PREVIEW text; null: not computed yet (PREVIEW (LAZY) answers NIL). */
  preview?: string | null | undefined;
}

/**
 * RFC 8474 EMAILID: "M" and the first 32 hex digits of the body's SHA-256. Content-addressed, as
 * the RFC allows: copies and moves of a message keep it, identical bodies share it.
 */
export function emailIdOf(blobDigest: string): string {
  return `M${blobDigest.slice(0, 32)}`;
}

/** Ranged reads of the message's stored bytes (end exclusive). */
export interface MessageBytes {
  read(start: number, end: number): AsyncIterable<Uint8Array>;
}

export interface RenderOptions {
  /** \Recent for this session (RFC 3501 2.3.2): shown in FLAGS. */
  recent: boolean;
  /** Literals up to this size are built in memory; larger ones are streamed from the blob. */
  inlineLiteralLimit?: number;
}

const DEFAULT_INLINE_LITERAL_LIMIT = 64 * 1024;

export function sectionLabel(section: BodySection): string {
  const path = section.part.join(".");
  let text = section.text ?? "";
  if (section.text === "HEADER.FIELDS" || section.text === "HEADER.FIELDS.NOT") {
    text += ` (${section.fields.map((field) => field.toUpperCase()).join(" ")})`;
  }
  return path && text ? `${path}.${text}` : path || text;
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function literalOf(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{${bytes.length}}\r\n`, "latin1"), bytes]);
}

/** Applies <origin.octets> to a byte range (RFC 3501 6.4.5: an origin past the end gives ""). */
function clampPartial(start: number, end: number, partial: { offset: number; count: number } | undefined) {
  if (!partial) return { start, end };
  const from = Math.min(end, start + partial.offset);
  return { start: from, end: Math.min(end, from + partial.count) };
}

/**
 * Where BODY[section]<partial> lies: a byte range of the blob, or (HEADER.FIELDS) bytes made from
 * one; null for a part that does not exist.
 */
async function locateSection(
  structure: MessageStructure,
  bytes: MessageBytes,
  section: BodySection,
  partial: { offset: number; count: number } | undefined,
): Promise<{ start: number; end: number } | Buffer | null> {
  const isFields = section.text === "HEADER.FIELDS" || section.text === "HEADER.FIELDS.NOT";
  const specifier = isFields ? "HEADER" : (section.text ?? "");
  const sectionText = [section.part.join("."), specifier].filter((s) => s !== "").join(".");
  const range = sectionRange(structure, sectionText);
  if (range === null) return null;
  if (isFields) {
    const header = await collect(bytes.read(range.start, range.end));
    const filtered = filterHeaderFields(header, [...section.fields], section.text === "HEADER.FIELDS.NOT");
    const { start, end } = clampPartial(0, filtered.length, partial);
    return filtered.subarray(start, end);
  }
  return clampPartial(range.start, range.end, partial);
}

/**
 * The bytes of BODY[section]<partial>, as a response part: inline for small ranges, streamed
 * from the blob for large ones. A part that does not exist is the empty string.
 */
async function renderSection(
  message: FetchableMessage,
  bytes: MessageBytes,
  section: BodySection,
  partial: { offset: number; count: number } | undefined,
  inlineLimit: number,
): Promise<ResponsePart[]> {
  const located = await locateSection(message.structure!, bytes, section, partial);
  if (located === null) return ['""'];
  if (Buffer.isBuffer(located)) return [literalOf(located)];
  const { start, end } = located;
  if (end - start <= inlineLimit) return [literalOf(await collect(bytes.read(start, end)))];
  return [streamedLiteral(end - start, bytes.read(start, end))];
}

/**
 * The bytes BODY[section]<partial> would give, in memory: what an IMAP URL's ;SECTION= and
 * ;PARTIAL= name (RFC 5092), which CATENATE joins into a new message (RFC 4469). Empty for a
 * part that does not exist, as FETCH answers it.
 */
export async function sectionContent(
  structure: MessageStructure,
  bytes: MessageBytes,
  section: BodySection,
  partial: { offset: number; count: number } | undefined,
): Promise<Buffer> {
  const located = await locateSection(structure, bytes, section, partial);
  if (located === null) return Buffer.alloc(0);
  return Buffer.isBuffer(located) ? located : collect(bytes.read(located.start, located.end));
}

async function renderBinary(
  message: FetchableMessage,
  bytes: MessageBytes,
  path: readonly number[],
): Promise<Buffer | null> {
  const structure = message.structure!;
  if (path.length === 0) return collect(bytes.read(0, structure.size));
  const part = resolvePart(structure.body, path);
  if (part === null || part.type === "multipart") return null;
  return decodeTransferEncoding(await collect(bytes.read(part.bodyStart, part.bodyEnd)), part.encoding);
}

/** Content-Transfer-Encodings whose content differs from the octets they carry. */
const ENCODED = new Set(["base64", "quoted-printable"]);

/** The leaf parts of an entity, nested messages' included, in the order their bytes come. */
function leavesOf(part: BodyPart): BodyPart[] {
  if (part.type === "multipart") return part.children.flatMap(leavesOf);
  if (part.message !== null) return leavesOf(part.message.body);
  return [part];
}

/** A header with its Content-Transfer-Encoding field (and its folded lines) saying binary. */
function binaryHeader(header: Buffer): Buffer {
  const text = header
    .toString("latin1")
    .replace(/^(Content-Transfer-Encoding:)[^\r\n]*(\r?\n[ \t][^\r\n]*)*/gim, "$1 binary");
  return Buffer.from(text, "latin1");
}

/**
 * The content of a part with every transfer encoding undone (RFC 3516, RFC 5524 BINARY): a leaf's
 * body decoded; for a message (a message/rfc822 part, or the whole message at path []) or a
 * multipart, its octets with each encoded leaf's body decoded and its Content-Transfer-Encoding
 * made binary, as Dovecot does. null when there is no such part.
 */
export async function binaryContent(
  structure: MessageStructure,
  bytes: MessageBytes,
  path: readonly number[],
): Promise<Buffer | null> {
  const part = path.length === 0 ? structure.body : resolvePart(structure.body, path);
  if (part === null) return null;
  // A message/rfc822 part's content is the message in it; the whole message is its own.
  const entity = path.length === 0 ? structure.body : (part.message?.body ?? part);
  const from = path.length === 0 ? 0 : part.bodyStart;
  const to = path.length === 0 ? structure.size : part.bodyEnd;
  if (entity === part && part.type !== "multipart") {
    return decodeTransferEncoding(await collect(bytes.read(part.bodyStart, part.bodyEnd)), part.encoding);
  }
  const chunks: Buffer[] = [];
  let cursor = from;
  for (const leaf of leavesOf(entity)) {
    if (!ENCODED.has(leaf.encoding)) continue;
    chunks.push(await collect(bytes.read(cursor, leaf.headerStart)));
    chunks.push(binaryHeader(await collect(bytes.read(leaf.headerStart, leaf.headerEnd))));
    chunks.push(
      decodeTransferEncoding(await collect(bytes.read(leaf.bodyStart, leaf.bodyEnd)), leaf.encoding),
    );
    cursor = leaf.bodyEnd;
  }
  chunks.push(await collect(bytes.read(cursor, to)));
  return Buffer.concat(chunks);
}

/** Items answered from the message's row alone, without its structure or bytes. */
const METADATA_ITEMS = new Set(["UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "MODSEQ"]);

export function isMetadataOnly(items: readonly FetchItem[]): boolean {
  return items.every((item) => METADATA_ITEMS.has(item.type));
}

/**
 * `<seq> FETCH (...)`'s inside for metadata-only items, synchronously: the common
 * `FETCH 1:* (UID FLAGS)` of a client's resync renders thousands of these per command.
 */
export function renderMetadataItems(
  message: FetchableMessage,
  items: readonly FetchItem[],
  recent: boolean,
): string {
  const out: string[] = [];
  let uidDone = false;
  for (const item of items) {
    switch (item.type) {
      case "UID":
        if (!uidDone) out.push(`UID ${message.uid}`);
        uidDone = true;
        break;
      case "FLAGS":
        out.push(flagsItem(message.flags, recent));
        break;
      case "INTERNALDATE":
        out.push(`INTERNALDATE ${encodeDateTime(message.internalDate)}`);
        break;
      case "RFC822.SIZE":
        out.push(`RFC822.SIZE ${message.size}`);
        break;
      case "MODSEQ":
        out.push(`MODSEQ (${message.modSeq})`);
        break;
      default:
        throw new Error(`${item.type} is not a metadata item`);
    }
  }
  return out.join(" ");
}

/** Items answered from the index's columns and the bodies view's ENVELOPE, without a MIME tree. */
const INDEXED_ITEMS = new Set([...METADATA_ITEMS, "ENVELOPE", "EMAILID", "THREADID"]);

export function isIndexedOnly(items: readonly FetchItem[]): boolean {
  return items.every((item) => INDEXED_ITEMS.has(item.type));
}

/** One message as FETCH of indexed items reads it: flags joined by spaces, the date in ms. */
export interface IndexedMessage {
  uid: number;
  flagsText: string;
  modSeq: number;
  internalDate: number;
  size: number;
  /** The ENVELOPE as IMAP text (encodeEnvelope), when asked. */
  envelope: string;
  blobDigest: string;
}

/**
 * `<seq> FETCH (...)`'s inside for indexed items (isIndexedOnly), synchronously and as one
 * string: a FETCH 1:* of a large mailbox renders hundreds of thousands of these.
 */
export function renderIndexedItems(
  message: IndexedMessage,
  items: readonly FetchItem[],
  recent: boolean,
): string {
  let out = "";
  let uidDone = false;
  for (const item of items) {
    let part: string;
    switch (item.type) {
      case "UID":
        if (uidDone) continue;
        uidDone = true;
        part = `UID ${message.uid}`;
        break;
      case "FLAGS":
        part = flagsItemFromText(message.flagsText, recent);
        break;
      case "INTERNALDATE":
        part = `INTERNALDATE ${encodeDateTime(new Date(message.internalDate))}`;
        break;
      case "RFC822.SIZE":
        part = `RFC822.SIZE ${message.size}`;
        break;
      case "MODSEQ":
        part = `MODSEQ (${message.modSeq})`;
        break;
      case "ENVELOPE":
        part = `ENVELOPE ${message.envelope}`;
        break;
      case "EMAILID":
        part = `EMAILID (${emailIdOf(message.blobDigest)})`;
        break;
      case "THREADID":
        part = "THREADID NIL";
        break;
      default:
        throw new Error(`${item.type} is not an indexed item`);
    }
    out = out === "" ? part : `${out} ${part}`;
  }
  return out;
}

/**
 * The parts of `<seq> FETCH (...)` after the sequence number, items in the order asked, with
 * UID first when `includeUid` (UID FETCH always returns it).
 */
export async function renderFetchItems(
  message: FetchableMessage,
  items: readonly FetchItem[],
  bytes: MessageBytes,
  options: RenderOptions,
): Promise<ResponsePart[]> {
  const inlineLimit = options.inlineLiteralLimit ?? DEFAULT_INLINE_LITERAL_LIMIT;
  const out: ResponsePart[] = [];
  const push = (...parts: ResponsePart[]) => {
    if (out.length > 0) out.push(" ");
    out.push(...parts);
  };
  let uidDone = false;
  for (const item of items) {
    switch (item.type) {
      case "UID":
        if (uidDone) break;
        uidDone = true;
        push(renderMetadataItems(message, [item], options.recent));
        break;
      case "FLAGS":
      case "INTERNALDATE":
      case "RFC822.SIZE":
      case "MODSEQ":
        push(renderMetadataItems(message, [item], options.recent));
        break;
      case "ENVELOPE":
        push("ENVELOPE ", Buffer.from(encodeEnvelope(message.structure!.envelope), "utf8"));
        break;
      case "BODY":
        push("BODY ", Buffer.from(encodeBodyStructure(message.structure!, { extensible: false }), "utf8"));
        break;
      case "BODYSTRUCTURE":
        push(
          "BODYSTRUCTURE ",
          Buffer.from(encodeBodyStructure(message.structure!, { extensible: true }), "utf8"),
        );
        break;
      case "RFC822":
        push(
          "RFC822 ",
          ...(await renderSection(
            message,
            bytes,
            { part: [], text: undefined, fields: [] },
            undefined,
            inlineLimit,
          )),
        );
        break;
      case "RFC822.HEADER":
        push(
          "RFC822.HEADER ",
          ...(await renderSection(
            message,
            bytes,
            { part: [], text: "HEADER", fields: [] },
            undefined,
            inlineLimit,
          )),
        );
        break;
      case "RFC822.TEXT":
        push(
          "RFC822.TEXT ",
          ...(await renderSection(
            message,
            bytes,
            { part: [], text: "TEXT", fields: [] },
            undefined,
            inlineLimit,
          )),
        );
        break;
      case "BODY[]": {
        const origin = item.partial ? `<${item.partial.offset}>` : "";
        push(
          `BODY[${sectionLabel(item.section)}]${origin} `,
          ...(await renderSection(message, bytes, item.section, item.partial, inlineLimit)),
        );
        break;
      }
      case "BINARY[]": {
        const decoded = await renderBinary(message, bytes, item.part);
        const origin = item.partial ? `<${item.partial.offset}>` : "";
        const label = `BINARY[${item.part.join(".")}]${origin} `;
        if (decoded === null) {
          push(label, "NIL");
        } else {
          const { start, end } = clampPartial(0, decoded.length, item.partial);
          // RFC 3516 4.3: literal8 (~{n}) because decoded content may hold NUL bytes.
          const slice = decoded.subarray(start, end);
          push(label, Buffer.concat([Buffer.from(`~{${slice.length}}\r\n`, "latin1"), slice]));
        }
        break;
      }
      case "BINARY.SIZE": {
        const decoded = await renderBinary(message, bytes, item.part);
        // RFC 3516: BINARY.SIZE is a number, never NIL; a part the message lacks has none (0).
        push(`BINARY.SIZE[${item.part.join(".")}] ${decoded === null ? 0 : decoded.length}`);
        break;
      }
      case "EMAILID":
        push(`EMAILID (${emailIdOf(message.blobDigest ?? "")})`);
        break;
      case "PREVIEW":
        push("PREVIEW ", encodeNString(message.preview ?? null));
        break;
      case "SAVEDATE":
        push(`SAVEDATE ${message.saveDate ? encodeDateTime(message.saveDate) : "NIL"}`);
        break;
      case "THREADID":
        // RFC 8474 5.2: NIL from a server that does not keep thread ids (THREAD builds them per call).
        push("THREADID NIL");
        break;
      default: {
        const exhaustive: never = item;
        throw new Error(`unhandled FETCH item ${JSON.stringify(exhaustive)}`);
      }
    }
  }
  return out;
}

/**
 * The byte ranges of the message that rendering `items` reads (end exclusive), null when an item
 * reads the whole message: what a FETCH of many messages reads in one batch beforehand.
 */
export function byteRangesOf(
  structure: MessageStructure,
  items: readonly FetchItem[],
): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  const whole = { start: 0, end: structure.size };
  const section = (text: string) => {
    const range = sectionRange(structure, text);
    if (range !== null) ranges.push(range);
  };
  for (const item of items) {
    switch (item.type) {
      case "RFC822":
        ranges.push(whole);
        break;
      case "RFC822.HEADER":
        section("HEADER");
        break;
      case "RFC822.TEXT":
        section("TEXT");
        break;
      case "BODY[]": {
        const fields = item.section.text === "HEADER.FIELDS" || item.section.text === "HEADER.FIELDS.NOT";
        const specifier = fields ? "HEADER" : (item.section.text ?? "");
        section([item.section.part.join("."), specifier].filter((s) => s !== "").join("."));
        break;
      }
      case "BINARY[]":
      case "BINARY.SIZE": {
        if (item.part.length === 0) {
          ranges.push(whole);
          break;
        }
        const part = resolvePart(structure.body, item.part);
        if (part !== null) ranges.push({ start: part.headerStart, end: part.bodyEnd });
        break;
      }
      default:
        break;
    }
  }
  return ranges;
}

/**
 * A message's bytes from a range read beforehand (`from`, starting at `offset`), the rest from
 * `fallback`: a FETCH of many messages reads each one's ranges in one batch, not a round trip each.
 */
export function prefetchedBytes(offset: number, from: Buffer, fallback: MessageBytes): MessageBytes {
  return {
    read(start, end) {
      if (start >= offset && end <= offset + from.length) {
        return (async function* () {
          yield from.subarray(start - offset, end - offset);
        })();
      }
      return fallback.read(start, end);
    },
  };
}

/** Items that need the parsed structure (and so the projection's structure column). */
export function needsStructure(items: readonly FetchItem[]): boolean {
  return items.some((item) =>
    [
      "ENVELOPE",
      "BODY",
      "BODYSTRUCTURE",
      "RFC822",
      "RFC822.HEADER",
      "RFC822.TEXT",
      "BODY[]",
      "BINARY[]",
      "BINARY.SIZE",
    ].includes(item.type),
  );
}

/** Items that set \Seen implicitly (RFC 3501 6.4.5): BODY[...] without PEEK, RFC822, RFC822.TEXT. */
export function setsSeen(items: readonly FetchItem[]): boolean {
  return items.some(
    (item) =>
      item.type === "RFC822" ||
      item.type === "RFC822.TEXT" ||
      ((item.type === "BODY[]" || item.type === "BINARY[]") && !item.peek),
  );
}
