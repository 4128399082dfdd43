import fc from "fast-check";
import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../test/fixtures/mime/corpus.ts";
import { encodeBodyStructure, encodeEnvelope } from "../imap-gateway/codec/mimeEncode.ts";
import { decodeTransferEncoding } from "./charset.ts";
import { MAX_MIME_DEPTH, MAX_MIME_PARTS, parseMessageStructure } from "./parseMessageStructure.ts";
import { extractSearchText } from "./searchText.ts";
import { sectionRange } from "./sectionRange.ts";
import { allParts, numberedParts, rangeProblems, referenceTree } from "./testSupport.ts";
import type { BodyPart } from "./types.ts";

const corpus = generateCorpus();
const wellFormed = corpus.filter((m) => m.wellFormed);

/** Compares our tree of one message entity with mailsplit's, descending into attached messages. */
async function compareWithReference(raw: Buffer, root: BodyPart, where: string): Promise<number> {
  const reference = await referenceTree(raw.subarray(root.headerStart, root.bodyEnd));
  const ours = numberedParts(root);
  expect(
    ours.map((p) => `${p.partNumber} ${p.part.type}/${p.part.subtype}`),
    where,
  ).toEqual(reference.map((n) => `${n.partNumber} ${n.contentType}`));
  let compared = ours.length;
  for (const [i, { part, partNumber }] of ours.entries()) {
    const ref = reference[i]!;
    expect(
      raw.subarray(part.headerStart, part.headerEnd).toString("latin1"),
      `${where} ${partNumber} header`,
    ).toBe(ref.header.toString("latin1"));
    if (!ref.multipart) {
      expect(raw.subarray(part.bodyStart, part.bodyEnd).equals(ref.body), `${where} ${partNumber} body`).toBe(
        true,
      );
    }
    if (part.message) {
      compared += await compareWithReference(raw, part.message.body, `${where} ${partNumber}(msg)`);
    }
  }
  return compared;
}

describe("parseMessageStructure against mailparser's splitter", () => {
  it("finds the same parts, headers and raw bodies in every well-formed corpus message", async () => {
    let compared = 0;
    // mailsplit does not apply the multipart/digest default (RFC 2046 5.1.5): compared below.
    for (const message of wellFormed.filter((m) => !m.name.includes("digest"))) {
      compared += await compareWithReference(
        message.raw,
        parseMessageStructure(message.raw).body,
        message.name,
      );
    }
    expect(compared).toBeGreaterThan(400);
  });

  it("defaults the parts of a multipart/digest to message/rfc822", () => {
    const digests = corpus.filter((m) => m.name.includes("digest"));
    expect(digests.length).toBeGreaterThan(5);
    for (const message of digests) {
      const { body } = parseMessageStructure(message.raw);
      expect(body.children.length).toBeGreaterThan(0);
      for (const child of body.children) {
        expect(`${child.type}/${child.subtype}`).toBe("message/rfc822");
        expect(child.message?.envelope.messageId).toMatch(/^<\d+\.\d+@example\.com>$/);
      }
    }
  });

  it("slices out attachment bytes that decode to mailparser's attachment content", async () => {
    let attachments = 0;
    for (const message of wellFormed) {
      const mail = await simpleParser(message.raw, {
        skipHtmlToText: true,
        skipTextToHtml: true,
        skipImageLinks: true,
      });
      // Leaves in document order; an attached message is one leaf, as mailparser reports it.
      const leaves = allPartsInOrder(parseMessageStructure(message.raw).body);
      let from = 0;
      for (const attachment of mail.attachments) {
        const index = leaves.findIndex(
          (leaf, i) =>
            i >= from &&
            `${leaf.type}/${leaf.subtype}` === attachment.contentType &&
            decodeTransferEncoding(message.raw.subarray(leaf.bodyStart, leaf.bodyEnd), leaf.encoding).equals(
              attachment.content,
            ),
        );
        expect(
          index,
          `${message.name}: ${attachment.contentType} ${attachment.filename}`,
        ).toBeGreaterThanOrEqual(0);
        from = index + 1;
        attachments++;
      }
    }
    expect(attachments).toBeGreaterThan(80);
  });

  it("finds the text mailparser shows for the message", async () => {
    let checked = 0;
    // mailparser reads a digest's default-typed parts as text/plain, headers and all.
    for (const message of wellFormed.filter((m) => !m.name.includes("digest"))) {
      const mail = await simpleParser(message.raw, {
        skipHtmlToText: true,
        skipTextToHtml: true,
        skipImageLinks: true,
      });
      if (!mail.text?.trim()) continue;
      const normalize = (s: string) => s.replace(/\s+/g, " ").trim();
      expect(normalize(extractSearchText(message.raw)), message.name).toContain(normalize(mail.text));
      checked++;
    }
    expect(checked).toBeGreaterThan(120);
  });
});

/** Leaves in document order, not descending into encapsulated messages. */
function allPartsInOrder(root: BodyPart): BodyPart[] {
  if (root.type === "multipart") return root.children.flatMap(allPartsInOrder);
  return [root];
}

describe("parseMessageStructure on malformed input", () => {
  it("keeps every range ordered and inside the blob, for the whole corpus", () => {
    for (const message of corpus) {
      expect(rangeProblems(parseMessageStructure(message.raw)), message.name).toEqual([]);
    }
  });

  it("ends the last part of an unterminated multipart at the end of the message", () => {
    const raw = Buffer.from(
      "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\none\r\n--x\r\n\r\ntwo, cut off\r\n",
    );
    const { body } = parseMessageStructure(raw);
    expect(body.children.map((c) => raw.subarray(c.bodyStart, c.bodyEnd).toString())).toEqual([
      "one",
      "two, cut off\r\n",
    ]);
  });

  it("reads a header without the blank line as header up to the first non-field line", () => {
    const raw = Buffer.from("Subject: x\r\nContent-Type: text/plain\r\nHello there\r\n");
    const { body, envelope } = parseMessageStructure(raw);
    expect(envelope.subject).toBe("x");
    expect(raw.subarray(body.bodyStart, body.bodyEnd).toString()).toBe("Hello there\r\n");
  });

  it("parses bare LF line endings", () => {
    const raw = Buffer.from(
      "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b--\n",
    );
    const { body } = parseMessageStructure(raw);
    expect(body.children).toHaveLength(1);
    expect(raw.subarray(body.children[0]!.bodyStart, body.children[0]!.bodyEnd).toString()).toBe("hi");
  });

  it("reports a multipart without boundary or delimiters with no parts", () => {
    for (const text of [
      "Content-Type: multipart/mixed\r\n\r\nno boundary\r\n",
      "Content-Type: multipart/mixed; boundary=zz\r\n\r\nno delimiter\r\n",
    ]) {
      const structure = parseMessageStructure(Buffer.from(text));
      expect(structure.body.children).toEqual([]);
      expect(encodeBodyStructure(structure, { extensible: false })).toBe(
        '(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0) "MIXED")',
      );
    }
  });

  it("survives a 200-deep nested multipart, cut off at the depth limit", () => {
    let raw = "body\r\n";
    for (let depth = 200; depth > 0; depth--) {
      raw = `Content-Type: multipart/mixed; boundary=b${depth}\r\n\r\n--b${depth}\r\n${raw}\r\n--b${depth}--\r\n`;
    }
    const blob = Buffer.from(`Subject: deep\r\n${raw}`);
    const structure = parseMessageStructure(blob);
    let depth = 0;
    for (let part = structure.body; part.children[0]; part = part.children[0]) depth++;
    expect(depth).toBe(MAX_MIME_DEPTH);
    expect(rangeProblems(structure)).toEqual([]);
    expect(encodeBodyStructure(structure, { extensible: true })).toMatch(/^\(+"TEXT" "PLAIN"/);
    expect(sectionRange(structure, Array(MAX_MIME_DEPTH).fill("1").join("."))).not.toBeNull();
    expect(JSON.parse(JSON.stringify(structure))).toEqual(structure);
  });

  it("caps the number of parts", () => {
    const blob = Buffer.from(
      `Content-Type: multipart/mixed; boundary=b\r\n\r\n${"--b\r\n\r\nx\r\n".repeat(MAX_MIME_PARTS + 50)}`,
    );
    const structure = parseMessageStructure(blob);
    expect(allParts(structure.body).length).toBeLessThanOrEqual(MAX_MIME_PARTS + 1);
    expect(rangeProblems(structure)).toEqual([]);
  });

  it("is plain JSON without NUL characters, which jsonb cannot store", () => {
    const raw = Buffer.from('Subject: a\0b\r\nContent-Type: text/plain; name="x\0"\r\n\r\nbody');
    const structure = parseMessageStructure(raw);
    const json = JSON.stringify(structure);
    expect(json).not.toContain("\\u0000");
    expect(JSON.parse(json)).toEqual(structure);
  });
});

/** Everything a FETCH would do with a structure: none of it may throw or leave the blob. */
function exerciseEverything(raw: Buffer): void {
  const structure = parseMessageStructure(raw);
  expect(rangeProblems(structure)).toEqual([]);
  encodeBodyStructure(structure, { extensible: true });
  encodeBodyStructure(structure, { extensible: false });
  encodeEnvelope(structure.envelope);
  for (const { partNumber } of numberedParts(structure.body)) {
    for (const suffix of ["", ".MIME", ".HEADER", ".TEXT"]) {
      const range = sectionRange(structure, partNumber === "" ? suffix.slice(1) : `${partNumber}${suffix}`);
      if (range) {
        expect(range.start).toBeGreaterThanOrEqual(0);
        expect(range.end).toBeLessThanOrEqual(raw.length);
        expect(range.start).toBeLessThanOrEqual(range.end);
      }
    }
  }
  extractSearchText(raw, { maxBytes: 4096 });
}

describe("parseMessageStructure under fuzzing", () => {
  it("never throws on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => exerciseEverything(Buffer.from(bytes))),
      { numRuns: 300 },
    );
  });

  it("never throws on random MIME-ish text", () => {
    const token = fc.constantFrom(
      "--b\r\n",
      "--b--\r\n",
      "\r\n",
      "\n",
      "Content-Type: multipart/mixed; boundary=b\r\n",
      "Content-Type: message/rfc822\r\n",
      "Content-Type: text/plain; charset=koi8-r\r\n",
      "Content-Transfer-Encoding: base64\r\n",
      "Content-Transfer-Encoding: quoted-printable\r\n",
      "From: a <b@c>, G: d@e;\r\n",
      " folded\r\n",
      "=?utf-8?B?w7Y=?=",
      "hello =E9\r\n",
      "\u00ff\u0000",
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (tokens) =>
        exerciseEverything(Buffer.from(tokens.join(""), "latin1")),
      ),
      { numRuns: 500 },
    );
  });

  it("never throws on mutated corpus messages", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("delete"), at: fc.nat(), length: fc.nat({ max: 200 }) }),
      fc.record({ kind: fc.constant("insert"), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 40 }) }),
      fc.record({ kind: fc.constant("truncate"), at: fc.nat() }),
      fc.record({ kind: fc.constant("duplicate"), at: fc.nat(), length: fc.nat({ max: 300 }) }),
    );
    fc.assert(
      fc.property(
        fc.nat({ max: corpus.length - 1 }),
        fc.array(mutation, { maxLength: 5 }),
        (index, mutations) => {
          let raw = corpus[index]!.raw;
          for (const m of mutations) {
            const at = raw.length === 0 ? 0 : m.at % raw.length;
            if (m.kind === "delete") raw = Buffer.concat([raw.subarray(0, at), raw.subarray(at + m.length)]);
            if (m.kind === "insert")
              raw = Buffer.concat([raw.subarray(0, at), Buffer.from(m.bytes), raw.subarray(at)]);
            if (m.kind === "truncate") raw = raw.subarray(0, at);
            if (m.kind === "duplicate")
              raw = Buffer.concat([raw.subarray(0, at + m.length), raw.subarray(at)]);
          }
          exerciseEverything(raw);
        },
      ),
      { numRuns: 300 },
    );
  });
});
