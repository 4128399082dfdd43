const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  copy: "©",
  reg: "®",
  euro: "€",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  laquo: "«",
  raquo: "»",
};

function codePoint(n: number): string {
  return Number.isInteger(n) && n > 0 && n <= 0x10ffff && (n < 0xd800 || n > 0xdfff)
    ? String.fromCodePoint(n)
    : "";
}

/**
 * Plain text of an HTML body, for full-text SEARCH only: markup, scripts and styles dropped,
 * block elements turned into line breaks, common entities decoded. Layout fidelity does not
 * matter here, only that the words a user can read are found.
 */
export function htmlToSearchText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?(?:-->|$)/g, " ")
    .replace(/<(script|style|head)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, " ")
    .replace(/<\/?(?:p|div|br|tr|li|h[1-6]|table|blockquote)\b[^>]*>/gi, "\n")
    .replace(/<[^>]*>?/g, " ")
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (match, entity: string) => {
      if (entity[0] === "#") {
        const hex = entity[1] === "x" || entity[1] === "X";
        return codePoint(Number.parseInt(entity.slice(hex ? 2 : 1), hex ? 16 : 10)) || match;
      }
      return NAMED_ENTITIES[entity.toLowerCase()] ?? match;
    })
    .replace(/[ \t\u00a0]+/g, " ")
    .replace(/ *\n[\s]*/g, "\n")
    .trim();
}
