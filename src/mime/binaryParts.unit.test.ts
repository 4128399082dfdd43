import { describe, expect, it } from "vitest";
import { encodeBinaryParts } from "./binaryParts.ts";
import { decodeTransferEncoding } from "./charset.ts";
import { parseMessageStructure } from "./parseMessageStructure.ts";
import { sectionRange } from "./sectionRange.ts";

const crlf = (lines: (string | Buffer)[]) =>
  Buffer.concat(lines.map((line) => (typeof line === "string" ? Buffer.from(line, "latin1") : line)));

/** BINARY[section] of a message: the part's bytes, transfer-decoded, as a client gets them. */
function binarySection(raw: Buffer, section: string): Buffer {
  const structure = parseMessageStructure(raw);
  const range = sectionRange(structure, section)!;
  let part = structure.body;
  for (const index of section.split(".").map(Number)) part = part.children[index - 1] ?? part;
  return decodeTransferEncoding(raw.subarray(range.start, range.end), part.encoding);
}

describe("encodeBinaryParts", () => {
  // imaptest's append-binary message: a single part with NUL, 8-bit and bare LFs.
  const content = Buffer.from([0x00, 0x2d, 0xe4, 0x0a, 0x0d, 0x0a, 0x0a]);
  const single = crlf([
    "From: user@domain.org\r\n",
    "Content-Type: application/octet-stream\r\n",
    "Content-Transfer-Encoding: binary\r\n",
    "\r\n",
    content,
  ]);

  it("stores a binary part in base64, so BODY[1] has no NUL and BINARY[1] gives the bytes back", () => {
    const stored = encodeBinaryParts(single);
    expect(stored.toString("latin1")).toBe(
      "From: user@domain.org\r\nContent-Type: application/octet-stream\r\n" +
        "Content-Transfer-Encoding: base64\r\n\r\nAC3kCg0KCg==\r\n",
    );
    expect(stored.includes(0)).toBe(false);
    expect(parseMessageStructure(stored).body.encoding).toBe("base64");
    expect(binarySection(stored, "1")).toEqual(content);
  });

  it("re-encodes only the binary parts of a multipart, and parts with a NUL under 7bit", () => {
    const raw = crlf([
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n",
      "--b\r\nContent-Type: text/plain\r\n\r\nplain text\r\n",
      "--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: BINARY\r\n\r\n",
      Buffer.from([0x89, 0x50, 0x00, 0xff]),
      "\r\n--b\r\nContent-Type: text/plain\r\n\r\nnul ",
      Buffer.from([0x00]),
      " inside\r\n--b--\r\n",
    ]);
    const stored = encodeBinaryParts(raw);
    expect(stored.includes(0)).toBe(false);
    const parts = parseMessageStructure(stored).body.children;
    expect(parts.map((part) => part.encoding)).toEqual(["7bit", "base64", "base64"]);
    expect(binarySection(stored, "1").toString()).toBe("plain text");
    expect(binarySection(stored, "2")).toEqual(Buffer.from([0x89, 0x50, 0x00, 0xff]));
    expect(binarySection(stored, "3")).toEqual(Buffer.from("nul \0 inside", "latin1"));
  });

  it("keeps a message without binary content as it is, byte for byte", () => {
    const raw = Buffer.from("Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe\r\n", "latin1");
    expect(encodeBinaryParts(raw)).toBe(raw);
  });
});
