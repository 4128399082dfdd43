// What a reference parser (mailparser's splitter, @zone-eu/mailsplit) and plain byte arithmetic
// say about a message, in the shape the corpus test compares BODYSTRUCTURE and sections against.
// Nothing here uses the server's own MIME code.
import { Splitter, type SplitterChunk } from "@zone-eu/mailsplit";

export interface ReferencePart {
  type: string;
  subtype: string;
  /** Content-Type charset parameter as written, or null. */
  charset: string | null;
  /** Content-Type boundary parameter of a multipart, or null. */
  boundary: string | null;
  /** Content-Transfer-Encoding, lower case, "7bit" when absent. */
  encoding: string;
  /** Content-Disposition value, lower case, or null. */
  disposition: string | null;
  /** The part's MIME header, blank line included. */
  header: Buffer;
  /** The part's body octets (for a multipart, empty: its children carry them). */
  body: Buffer;
  children: ReferencePart[];
  /** For message/rfc822: the encapsulated message, split on its own. */
  message?: ReferencePart;
}

/**
 * Splits a message at the end of its header: the first empty line, CRLF or bare LF. Returns null
 * when there is none.
 */
export function splitAtBlankLine(raw: Buffer): { header: Buffer; text: Buffer } | null {
  // A message that starts with its empty line has an empty header.
  if (raw.subarray(0, 2).toString("latin1") === "\r\n")
    return { header: raw.subarray(0, 2), text: raw.subarray(2) };
  const crlf = raw.indexOf("\r\n\r\n");
  const lf = raw.indexOf("\n\n");
  const ends = [
    ...(crlf >= 0 ? [{ at: crlf, end: crlf + 4 }] : []),
    ...(lf >= 0 ? [{ at: lf, end: lf + 2 }] : []),
  ];
  const first = ends.sort((a, b) => a.at - b.at)[0];
  if (!first) return null;
  return { header: raw.subarray(0, first.end), text: raw.subarray(first.end) };
}

function headerValue(header: Buffer, name: string): string | null {
  const unfolded = header.toString("latin1").replace(/\r?\n[ \t]/g, " ");
  const match = new RegExp(`^${name}:[ \\t]*(.*)$`, "im").exec(unfolded);
  return match ? match[1]!.trim() : null;
}

function boundaryOf(contentType: string | null): string | null {
  if (!contentType) return null;
  const match = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]!) : null;
}

export async function referenceTree(raw: Buffer): Promise<ReferencePart> {
  const splitter = new Splitter();
  const parts = new Map<unknown, ReferencePart>();
  const bodies = new Map<ReferencePart, Buffer[]>();
  let root: ReferencePart | undefined;
  splitter.end(raw);
  for await (const chunk of splitter as AsyncIterable<SplitterChunk>) {
    if (chunk.type === "node") {
      const parent = chunk.parentNode ? parts.get(chunk.parentNode) : undefined;
      const header = chunk.getHeaders();
      const contentType = headerValue(header, "Content-Type");
      let [type, subtype] = (chunk.contentType || "text/plain").split("/") as [string, string];
      // RFC 2046 5.1.5: in a multipart/digest a part without Content-Type is a message/rfc822.
      if (parent && parent.type === "multipart" && parent.subtype === "digest" && contentType === null) {
        [type, subtype] = ["message", "rfc822"];
      }
      const part: ReferencePart = {
        type,
        subtype,
        charset: chunk.charset || null,
        boundary: type === "multipart" ? boundaryOf(contentType) : null,
        encoding: (chunk.encoding || "7bit").toLowerCase(),
        disposition: chunk.disposition || null,
        header,
        body: Buffer.alloc(0),
        children: [],
      };
      parts.set(chunk, part);
      bodies.set(part, []);
      if (parent) parent.children.push(part);
      else root ??= part;
    } else if (chunk.type === "body") {
      const part = parts.get(chunk.node);
      if (part) bodies.get(part)!.push(chunk.value);
    }
  }
  if (!root) throw new Error("mailsplit found no root node");
  for (const [part, chunks] of bodies) part.body = Buffer.concat(chunks);
  await splitEncapsulated(root);
  return root;
}

/** mailsplit keeps an attached message as a leaf; split its body as a message of its own. */
async function splitEncapsulated(part: ReferencePart): Promise<void> {
  if (part.type === "message" && part.subtype === "rfc822" && part.children.length === 0) {
    part.message = await referenceTree(part.body);
  }
  for (const child of part.children) await splitEncapsulated(child);
}

/** Every entity in pre-order with its IMAP part path ("" for the top level). */
export function flatten(part: ReferencePart, path = ""): { path: string; part: ReferencePart }[] {
  const out = [{ path, part }];
  part.children.forEach((child, i) => {
    out.push(...flatten(child, path === "" ? String(i + 1) : `${path}.${i + 1}`));
  });
  if (part.message) out.push(...flatten(part.message, `${path}(msg)`));
  return out;
}

/** Line count of a text body as RFC 3501 means it: CRLF-terminated lines, a last partial counted. */
export function lineCounts(body: Buffer): number[] {
  let newlines = 0;
  for (const byte of body) if (byte === 0x0a) newlines++;
  const partial = body.length > 0 && body[body.length - 1] !== 0x0a ? 1 : 0;
  return [newlines, newlines + partial];
}
