import { decodeCharset, decodeTransferEncoding } from "./charset.ts";
import { htmlToSearchText } from "./htmlText.ts";
import { parseMessageStructure } from "./parseMessageStructure.ts";
import type { BodyPart, MessageStructure } from "./types.ts";

/** Default cap on the text indexed for SEARCH BODY/TEXT, so one huge message cannot bloat the index. */
export const DEFAULT_SEARCH_TEXT_BYTES = 1024 * 1024;

export interface SearchTextOptions {
  /** Cap on the UTF-8 size of the result. */
  maxBytes?: number;
  /** Reuse an already parsed structure of the same blob. */
  structure?: MessageStructure;
}

/** Delivery and read reports are message/* but plain text a user may search for (RFC 3464, RFC 8098). */
const TEXTUAL_MESSAGE_SUBTYPES = new Set([
  "delivery-status",
  "disposition-notification",
  "global-delivery-status",
  "global-disposition-notification",
]);

/** The text parts of a message in document order, encapsulated messages included. */
function textParts(root: BodyPart): BodyPart[] {
  const out: BodyPart[] = [];
  // An explicit stack: the structure is depth-limited already, but a walk need not rely on it.
  const stack: BodyPart[] = [root];
  while (stack.length > 0) {
    const part = stack.pop()!;
    if (part.type === "multipart") {
      for (let i = part.children.length - 1; i >= 0; i--) stack.push(part.children[i]!);
    } else if (part.message !== null) {
      stack.push(part.message.body);
    } else if (
      part.type === "text" ||
      (part.type === "message" && TEXTUAL_MESSAGE_SUBTYPES.has(part.subtype))
    ) {
      out.push(part);
    }
  }
  return out;
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  // Decoding a cut-off multi-byte sequence yields U+FFFD: drop it.
  return bytes
    .subarray(0, maxBytes)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
}

/**
 * The decoded text of a message's text/* parts (transfer encoding undone, charset converted to
 * UTF-8, HTML reduced to its text), for full-text SEARCH BODY and TEXT. Never throws.
 */
export function extractSearchText(raw: Buffer, options: SearchTextOptions = {}): string {
  const maxBytes = options.maxBytes ?? DEFAULT_SEARCH_TEXT_BYTES;
  const structure = options.structure ?? parseMessageStructure(raw);
  const pieces: string[] = [];
  let size = 0;
  for (const part of textParts(structure.body)) {
    if (size >= maxBytes) break;
    const bytes = decodeTransferEncoding(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding);
    const charset = part.params.find((p) => p.name === "charset")?.value ?? null;
    let text = decodeCharset(bytes, charset);
    if (part.subtype === "html") text = htmlToSearchText(text);
    text = text.replaceAll("\0", "");
    if (text.trim() === "") continue;
    const piece = truncateUtf8(text, maxBytes - size);
    pieces.push(piece);
    size += Buffer.byteLength(piece, "utf8") + 1;
  }
  return truncateUtf8(pieces.join("\n"), maxBytes);
}
