// RFC 8970 PREVIEW: a short plain-text preview of a message, as a client's message list shows
// under the subject. From the first text/plain part that is not an attachment, else the first
// text/html one reduced to its text; whitespace collapsed, at most PREVIEW_MAX_CHARS characters.
import { decodeCharset, decodeTransferEncoding } from "./charset.ts";
import { htmlToSearchText } from "./htmlText.ts";
import type { BodyPart, MessageStructure } from "./types.ts";

/** RFC 8970 3: a preview is at most 256 characters. */
export const PREVIEW_MAX_CHARS = 256;
/**
 * Octets of a part's encoded body read for its preview: enough for 256 characters after markup
 * and quoted-printable or base64 are undone, and a bound on the work for a huge body.
 */
export const PREVIEW_SOURCE_BYTES = 64 * 1024;

const INLINE_TAG = /<\/?(?:a|abbr|b|big|code|em|font|i|mark|s|small|span|strong|sub|sup|u)\b[^>]*>/gi;

/** The message's own inline text parts in document order (not those of attached messages). */
function inlineTextParts(root: BodyPart): BodyPart[] {
  const out: BodyPart[] = [];
  const stack: BodyPart[] = [root];
  while (stack.length > 0) {
    const part = stack.pop()!;
    if (part.type === "multipart") {
      for (let i = part.children.length - 1; i >= 0; i--) stack.push(part.children[i]!);
    } else if (part.type === "text" && part.disposition?.type !== "attachment") {
      out.push(part);
    }
  }
  return out;
}

function textOf(raw: Buffer, part: BodyPart): string {
  let end = Math.min(part.bodyEnd, part.bodyStart + PREVIEW_SOURCE_BYTES);
  // A base64 body cut at a multiple of 4 significant characters decodes cleanly; close enough.
  if (part.encoding === "base64") end = part.bodyStart + Math.floor((end - part.bodyStart) / 4) * 4;
  const bytes = decodeTransferEncoding(raw.subarray(part.bodyStart, end), part.encoding);
  const charset = part.params.find((p) => p.name === "charset")?.value ?? null;
  const text = decodeCharset(bytes, charset);
  // Inline elements go without a trace, so "<b>well</b>." reads "well." and not "well .".
  return part.subtype === "html" ? htmlToSearchText(text.replace(INLINE_TAG, "")) : text;
}

/** The preview text; "" when the message has no text to show (RFC 8970 3: an empty string). */
export function previewText(raw: Buffer, structure: MessageStructure): string {
  const parts = inlineTextParts(structure.body);
  const chosen =
    parts.find((part) => part.subtype === "plain") ?? parts.find((part) => part.subtype === "html");
  if (chosen === undefined) return "";
  const collapsed = textOf(raw, chosen)
    .replace(/[\p{Cc}\p{Z}\uFFFD]+/gu, " ")
    .trim();
  const chars = [...collapsed];
  return chars.length <= PREVIEW_MAX_CHARS ? collapsed : chars.slice(0, PREVIEW_MAX_CHARS).join("").trimEnd();
}
