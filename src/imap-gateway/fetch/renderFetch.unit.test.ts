import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { parseMessageStructure } from "../../mime/index.ts";
import { encodeEnvelope, type FetchItem, type ResponsePart, ResponseWriter } from "../codec/index.ts";
import {
  type FetchableMessage,
  type MessageBytes,
  renderFetchItems,
  renderIndexedItems,
  setsSeen,
} from "./renderFetch.ts";

const raw = Buffer.from(
  [
    "From: Ada <ada@example.org>",
    "To: bob@example.org",
    "Subject: Hello",
    "Message-ID: <m1@example.org>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Hello, world.",
    "--b1",
    "Content-Type: application/octet-stream",
    "Content-Transfer-Encoding: base64",
    "",
    Buffer.from("binary\u0000data").toString("base64"),
    "--b1--",
    "",
  ].join("\r\n"),
);

const message: FetchableMessage = {
  uid: 42,
  flags: ["\\Seen", "$Label"],
  internalDate: new Date("2026-03-03T10:20:30Z"),
  size: raw.length,
  modSeq: 7,
  structure: parseMessageStructure(raw),
};

const bytes: MessageBytes = {
  async *read(start, end) {
    yield raw.subarray(start, end);
  },
};

async function wire(parts: ResponsePart[]): Promise<string> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (chunk: Buffer) => chunks.push(chunk));
  await new ResponseWriter(sink).write(...parts);
  return Buffer.concat(chunks).toString("utf8");
}

const render = async (items: FetchItem[], options = { recent: false }) =>
  wire(await renderFetchItems(message, items, bytes, { ...options, inlineLiteralLimit: 16 }));

const body = (
  section: Partial<{ part: number[]; text: string; fields: string[] }>,
  partial?: { offset: number; count: number },
  peek = true,
) =>
  ({
    type: "BODY[]",
    peek,
    section: { part: section.part ?? [], text: section.text, fields: section.fields ?? [] },
    partial,
  }) as FetchItem;

describe("renderFetchItems", () => {
  it("renders simple items in the order asked", async () => {
    expect(
      await render(
        [
          { type: "UID" },
          { type: "FLAGS" },
          { type: "RFC822.SIZE" },
          { type: "INTERNALDATE" },
          { type: "MODSEQ" },
        ],
        {
          recent: true,
        },
      ),
    ).toBe(
      `UID 42 FLAGS (\\Seen $Label \\Recent) RFC822.SIZE ${raw.length} INTERNALDATE " 3-Mar-2026 10:20:30 +0000" MODSEQ (7)`,
    );
  });

  it("returns BODY[] byte-identical, streamed when large", async () => {
    const text = await render([body({})]);
    expect(text).toBe(`BODY[] {${raw.length}}\r\n${raw.toString("utf8")}`);
  });

  it("returns sections and partial ranges as exact byte ranges", async () => {
    expect(await render([body({ part: [1] })])).toBe("BODY[1] {13}\r\nHello, world.");
    expect(await render([body({ part: [1] }, { offset: 7, count: 100 })])).toBe("BODY[1]<7> {6}\r\nworld.");
    expect(await render([body({ part: [1] }, { offset: 100, count: 5 })])).toBe("BODY[1]<100> {0}\r\n");
    expect(await render([body({ part: [1], text: "MIME" })])).toBe(
      "BODY[1.MIME] {43}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
    );
    expect(await render([body({ part: [9] })])).toBe('BODY[9] ""');
  });

  it("filters header fields case-insensitively and keeps the blank line", async () => {
    expect(await render([body({ text: "HEADER.FIELDS", fields: ["subject", "TO"] })])).toBe(
      "BODY[HEADER.FIELDS (SUBJECT TO)] {39}\r\nTo: bob@example.org\r\nSubject: Hello\r\n\r\n",
    );
  });

  it("decodes BINARY parts and sizes them", async () => {
    const text = await render([
      { type: "BINARY.SIZE", part: [2] },
      { type: "BINARY[]", peek: true, part: [2], partial: undefined },
    ]);
    expect(text).toBe("BINARY.SIZE[2] 11 BINARY[2] ~{11}\r\nbinary\u0000data");
    // A part the message lacks: BINARY.SIZE is still a number (RFC 3516 grammar), BINARY[] NIL.
    expect(
      await render([
        { type: "BINARY.SIZE", part: [9] },
        { type: "BINARY[]", peek: true, part: [9], partial: undefined },
      ]),
    ).toBe("BINARY.SIZE[9] 0 BINARY[9] NIL");
  });

  it("renders ENVELOPE and BODYSTRUCTURE from the structure", async () => {
    const text = await render([{ type: "ENVELOPE" }]);
    expect(text).toMatch(/^ENVELOPE \(NIL "Hello" \(\("Ada" NIL "ada" "example.org"\)\)/);
    expect(await render([{ type: "BODYSTRUCTURE" }])).toMatch(
      /^BODYSTRUCTURE \(\("TEXT" "PLAIN" \("CHARSET" "utf-8"\)/,
    );
  });

  it("knows which items set \\Seen", () => {
    expect(setsSeen([body({}, undefined, false)])).toBe(true);
    expect(setsSeen([body({})])).toBe(false);
    expect(setsSeen([{ type: "RFC822" }])).toBe(true);
    expect(setsSeen([{ type: "RFC822.HEADER" }])).toBe(false);
  });
});

describe("renderIndexedItems", () => {
  const indexed = {
    uid: message.uid,
    flagsText: message.flags.join(" "),
    modSeq: message.modSeq,
    internalDate: message.internalDate.getTime(),
    size: message.size,
    envelope: encodeEnvelope(message.structure!.envelope),
    blobDigest: "ab".repeat(32),
  };

  it("renders what renderFetchItems renders for the same items, ENVELOPE included", async () => {
    const items: FetchItem[] = [
      { type: "UID" },
      { type: "FLAGS" },
      { type: "INTERNALDATE" },
      { type: "RFC822.SIZE" },
      { type: "MODSEQ" },
      { type: "ENVELOPE" },
      { type: "EMAILID" },
      { type: "UID" },
    ];
    for (const recent of [false, true]) {
      const expected = await wire(
        await renderFetchItems({ ...message, blobDigest: indexed.blobDigest }, items, bytes, { recent }),
      );
      expect(renderIndexedItems(indexed, items, recent)).toBe(expected);
    }
  });

  it("shows \\Recent alone on a message without flags", () => {
    const bare = { ...indexed, flagsText: "" };
    expect(renderIndexedItems(bare, [{ type: "FLAGS" }, { type: "UID" }], true)).toBe(
      "FLAGS (\\Recent) UID 42",
    );
  });
});
