// IMAP flags in an mbox file, as mutt, Thunderbird's import and Dovecot's mbox driver keep them: in
// header fields of each message. `Status:` R = \Seen (O = no longer new); `X-Status:` A = \Answered,
// F = \Flagged, T = \Draft, D = \Deleted; `X-Keywords:` the keywords, separated by spaces (or commas).
// The export writes these fields at the end of each message's header; the import reads and removes
// them (as Dovecot does), so a round trip keeps both the flags and the stored bytes.

const X_STATUS_LETTERS: Readonly<Record<string, string>> = {
  A: "\\Answered",
  F: "\\Flagged",
  T: "\\Draft",
  D: "\\Deleted",
};
const FLAG_LETTERS = Object.fromEntries(
  Object.entries(X_STATUS_LETTERS).map(([letter, flag]) => [flag, letter]),
);
const STATUS_FIELD = /^(status|x-status|x-keywords):[ \t]*(.*)$/i;

/** The end of the header section (the index of its blank line's CRLF), or the length when none. */
function headerEnd(body: Buffer): { end: number; separator: boolean } {
  if (body.subarray(0, 2).toString("latin1") === "\r\n") return { end: 0, separator: true };
  const at = body.indexOf("\r\n\r\n", 0, "latin1");
  return at === -1 ? { end: body.length, separator: false } : { end: at + 2, separator: true };
}

/** Reads the flags an mbox message's Status, X-Status and X-Keywords fields carry, and removes those fields. */
export function takeMboxFlags(body: Buffer): { body: Buffer; flags: string[] } {
  const { end } = headerEnd(body);
  const header = body.subarray(0, end).toString("latin1");
  const lines = header.split(/(?<=\r\n)/);
  const kept: string[] = [];
  const flags = new Set<string>();
  let found = false;
  for (let i = 0; i < lines.length; i++) {
    const match = STATUS_FIELD.exec(lines[i]!.replace(/\r\n$/, ""));
    if (!match) {
      kept.push(lines[i]!);
      continue;
    }
    found = true;
    let value = match[2]!;
    // A folded field goes on over lines that begin with white space.
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1]!)) value += ` ${lines[++i]!.trim()}`;
    const name = match[1]!.toLowerCase();
    if (name === "status") {
      if (value.includes("R")) flags.add("\\Seen");
    } else if (name === "x-status") {
      for (const letter of value.trim()) if (X_STATUS_LETTERS[letter]) flags.add(X_STATUS_LETTERS[letter]!);
    } else {
      for (const keyword of value.split(/[\s,]+/))
        if (keyword !== "" && !keyword.startsWith("\\")) flags.add(keyword);
    }
  }
  if (!found) return { body, flags: [] };
  return {
    body: Buffer.concat([Buffer.from(kept.join(""), "latin1"), body.subarray(end)]),
    flags: [...flags].sort(),
  };
}

/** The Status, X-Status and X-Keywords fields for `flags`, CRLF-terminated. */
export function mboxFlagFields(flags: readonly string[]): string {
  const seen = flags.includes("\\Seen");
  const letters = flags
    .map((flag) => FLAG_LETTERS[flag])
    .filter((letter) => letter !== undefined)
    .sort()
    .join("");
  const keywords = flags.filter((flag) => !flag.startsWith("\\"));
  return [
    `Status: ${seen ? "RO" : "O"}\r\n`,
    letters === "" ? "" : `X-Status: ${letters}\r\n`,
    keywords.length === 0 ? "" : `X-Keywords: ${keywords.join(" ")}\r\n`,
  ].join("");
}

/** `body` with the fields for `flags` at the end of its header section. */
export function withMboxFlags(body: Buffer, flags: readonly string[]): Buffer {
  const { end, separator } = headerEnd(body);
  const fields = mboxFlagFields(flags);
  return Buffer.concat([
    body.subarray(0, end),
    Buffer.from(
      separator || end === 0 || body.subarray(-2).toString("latin1") === "\r\n" ? fields : `\r\n${fields}`,
      "latin1",
    ),
    body.subarray(end),
  ]);
}
