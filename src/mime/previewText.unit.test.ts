import { describe, expect, it } from "vitest";
import { parseMessageStructure } from "./parseMessageStructure.ts";
import { PREVIEW_MAX_CHARS, previewText } from "./previewText.ts";

const message = (lines: string[]) => Buffer.from(lines.join("\r\n"));
const preview = (raw: Buffer) => previewText(raw, parseMessageStructure(raw));

describe("previewText (RFC 8970)", () => {
  it("takes the first text/plain part, whitespace collapsed", () => {
    const raw = message([
      "Subject: s",
      "Content-Type: multipart/alternative; boundary=b",
      "",
      "--b",
      "Content-Type: text/html",
      "",
      "<p>HTML version</p>",
      "--b",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "Hello   there,=0D=0A\tsee you  at caf=C3=A9",
      "",
      "  tomorrow.",
      "--b--",
    ]);
    expect(preview(raw)).toBe("Hello there, see you at café tomorrow.");
  });

  it("falls back on HTML reduced to its text, and skips attachments", () => {
    const raw = message([
      "Content-Type: multipart/mixed; boundary=b",
      "",
      "--b",
      "Content-Type: text/plain",
      "Content-Disposition: attachment; filename=notes.txt",
      "",
      "attached notes",
      "--b",
      "Content-Type: text/html",
      "",
      "<html><head><style>p{}</style></head><body><p>Dear&nbsp;Ann,</p><p>the <b>plan</b> &amp; more</p></body></html>",
      "--b--",
    ]);
    expect(preview(raw)).toBe("Dear Ann, the plan & more");
  });

  it("is empty for a message without text, and at most 256 characters", () => {
    const image = message([
      "Content-Type: image/png",
      "Content-Transfer-Encoding: base64",
      "",
      "iVBORw0KGgo=",
    ]);
    expect(preview(image)).toBe("");
    const long = message(["Subject: long", "", "é".repeat(300)]);
    expect([...preview(long)]).toHaveLength(PREVIEW_MAX_CHARS);
    const base64 = message([
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from("Grüße\r\naus Köln").toString("base64"),
    ]);
    expect(preview(base64)).toBe("Grüße aus Köln");
  });
});
