import iconv from "iconv-lite";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../test/fixtures/mime/corpus.ts";
import { extractSearchText } from "./searchText.ts";

const crlf = (lines: (string | Buffer)[]) =>
  Buffer.concat(lines.flatMap((l) => [typeof l === "string" ? Buffer.from(l) : l, Buffer.from("\r\n")]));

describe("extractSearchText", () => {
  it("decodes quoted-printable, base64 and legacy charsets to UTF-8", () => {
    const raw = crlf([
      "Content-Type: multipart/mixed; boundary=b",
      "",
      "--b",
      "Content-Type: text/plain; charset=iso-8859-1",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "Gr=FC=DFe aus K=F6ln, sch=",
      "=F6n",
      "--b",
      "Content-Type: text/plain; charset=koi8-r",
      "Content-Transfer-Encoding: base64",
      "",
      iconv.encode("Привет", "koi8-r").toString("base64"),
      "--b",
      "Content-Type: text/plain; charset=iso-2022-jp",
      "",
      Buffer.from([0x1b, 0x24, 0x42, 0x24, 0x33, 0x24, 0x73, 0x1b, 0x28, 0x42]),
      "--b",
      "Content-Type: application/octet-stream",
      "",
      "not text",
      "--b--",
    ]);
    expect(extractSearchText(raw).split("\n")).toEqual(["Grüße aus Köln, schön", "Привет", "こん"]);
  });

  it("reduces HTML to its text and includes encapsulated messages", () => {
    const raw = crlf([
      "Content-Type: multipart/mixed; boundary=b",
      "",
      "--b",
      "Content-Type: text/html",
      "",
      "<html><head><style>p{}</style></head><body><p>Fish &amp; chips&nbsp;&#8364;5</p><script>x()</script></body></html>",
      "--b",
      "Content-Type: message/rfc822",
      "",
      "Subject: inner",
      "",
      "inner words",
      "--b--",
    ]);
    expect(extractSearchText(raw)).toBe("Fish & chips €5\ninner words");
  });

  it("caps the result at maxBytes without splitting a character", () => {
    const raw = crlf(["Content-Type: text/plain; charset=utf-8", "", "é".repeat(1000)]);
    const text = extractSearchText(raw, { maxBytes: 101 });
    expect(text).toBe("é".repeat(50));
    expect(Buffer.byteLength(extractSearchText(raw))).toBeLessThanOrEqual(2002);
  });

  it("finds text in every charset of the corpus", () => {
    const samples = [
      "Grüße aus Köln",
      "euro sign: 20 €",
      "Привет, как дела",
      "会議の資料",
      "お世話になっております",
    ];
    const texts = generateCorpus()
      .filter((m) => m.name.includes("charset-"))
      .map((m) => extractSearchText(m.raw));
    for (const sample of samples) {
      expect(
        texts.some((t) => t.includes(sample)),
        sample,
      ).toBe(true);
    }
  });
});
