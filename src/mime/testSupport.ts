// Helpers shared by this folder's tests (not exported from index.ts).
import { Splitter, type SplitterChunk } from "@zone-eu/mailsplit";
import type { BodyPart, MessageStructure } from "./types.ts";

export interface NumberedPart {
  /** IMAP part number ("" for the message's own body entity). */
  partNumber: string;
  part: BodyPart;
}

/** Pre-order list of the entities of one message, numbered as mailsplit numbers them. */
export function numberedParts(root: BodyPart, prefix = ""): NumberedPart[] {
  const out: NumberedPart[] = [{ partNumber: prefix, part: root }];
  root.children.forEach((child, i) => {
    out.push(...numberedParts(child, prefix === "" ? String(i + 1) : `${prefix}.${i + 1}`));
  });
  return out;
}

/** Every entity in the tree, encapsulated messages included. */
export function allParts(root: BodyPart): BodyPart[] {
  const out: BodyPart[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const part = stack.pop()!;
    out.push(part);
    stack.push(...part.children);
    if (part.message) stack.push(part.message.body);
  }
  return out;
}

/** Checks the offsets of every part are ordered and nested within the blob; returns the problems. */
export function rangeProblems(structure: MessageStructure): string[] {
  const problems: string[] = [];
  const check = (part: BodyPart, lo: number, hi: number, where: string) => {
    const { headerStart, headerEnd, bodyStart, bodyEnd } = part;
    if (
      !(
        lo <= headerStart &&
        headerStart <= headerEnd &&
        headerEnd <= bodyStart &&
        bodyStart <= bodyEnd &&
        bodyEnd <= hi
      )
    ) {
      problems.push(`${where}: ${headerStart}/${headerEnd}/${bodyStart}/${bodyEnd} not within ${lo}..${hi}`);
    }
    if (part.size !== bodyEnd - bodyStart) problems.push(`${where}: size ${part.size}`);
    let previousEnd = bodyStart;
    part.children.forEach((child, i) => {
      check(child, previousEnd, bodyEnd, `${where}.${i + 1}`);
      previousEnd = child.bodyEnd;
    });
    if (part.message) {
      if (part.message.body.headerStart !== bodyStart || part.message.body.bodyEnd !== bodyEnd) {
        problems.push(`${where}: encapsulated message does not span the body`);
      }
      check(part.message.body, bodyStart, bodyEnd, `${where}(msg)`);
    }
  };
  check(structure.body, 0, structure.size, "root");
  return problems;
}

export interface ReferenceNode {
  partNumber: string;
  contentType: string;
  multipart: boolean;
  header: Buffer;
  body: Buffer;
}

/**
 * The MIME tree as mailsplit (mailparser's own splitter) sees it, with each leaf's raw body.
 * mailsplit keeps an attached message/rfc822 as a leaf, as we compare it separately.
 */
export async function referenceTree(raw: Buffer): Promise<ReferenceNode[]> {
  const splitter = new Splitter();
  const nodes: ReferenceNode[] = [];
  const bodies = new Map<unknown, Buffer[]>();
  splitter.end(raw);
  for await (const chunk of splitter as AsyncIterable<SplitterChunk>) {
    if (chunk.type === "node") {
      const partNr = chunk.partNr || [];
      nodes.push({
        partNumber: partNr.filter((n) => typeof n === "number").join("."),
        contentType: chunk.contentType || "",
        multipart: Boolean(chunk.multipart),
        header: chunk.getHeaders(),
        body: Buffer.alloc(0),
      });
      bodies.set(chunk, []);
    } else if (chunk.type === "body") {
      bodies.get(chunk.node)?.push(chunk.value);
    }
  }
  [...bodies.values()].forEach((chunks, i) => {
    nodes[i]!.body = Buffer.concat(chunks);
  });
  return nodes;
}
