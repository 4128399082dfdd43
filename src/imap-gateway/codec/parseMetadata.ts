// Arguments of GETMETADATA and SETMETADATA (RFC 5464 5). Entry names are read as astrings here;
// what a valid name is (/private/..., /shared/..., no "*" or "%") is the command side's rule.

import type { GetMetadataArgs, SetMetadataArgs } from "./commands.ts";
import { parseMailbox } from "./mailbox.ts";
import type { Scanner } from "./scanner.ts";

const DQUOTE = 0x22;

function entryName(s: Scanner): string {
  return s.astring("metadata entry name");
}

/** getmetadata = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries */
export function parseGetMetadata(s: Scanner): GetMetadataArgs {
  s.sp();
  let maxSize: number | undefined;
  let depth: GetMetadataArgs["depth"];
  if (s.peek() === 0x28) {
    s.list(() => {
      const option = s.keyword("GETMETADATA option");
      s.sp();
      if (option === "MAXSIZE") {
        if (maxSize !== undefined) s.fail("MAXSIZE given twice");
        maxSize = s.number("MAXSIZE");
      } else if (option === "DEPTH") {
        if (depth !== undefined) s.fail("DEPTH given twice");
        const value = s.atom("DEPTH").toLowerCase();
        if (value !== "0" && value !== "1" && value !== "infinity") s.fail('DEPTH is "0", "1" or "infinity"');
        depth = value;
      } else {
        s.fail(`unknown GETMETADATA option ${option.slice(0, 40)} (this server knows MAXSIZE and DEPTH)`);
      }
      return option;
    }, "GETMETADATA options");
    s.sp();
  }
  const mailbox = parseMailbox(s, "mailbox name");
  s.sp();
  const entries = s.peek() === 0x28 ? s.list(() => entryName(s), "entry names") : [entryName(s)];
  return { mailbox, entries, maxSize, depth };
}

/** value = nstring / literal8 (RFC 5464 5, with RFC 4466's literal8). */
function entryValue(s: Scanner): string | null {
  if (s.peek() === DQUOTE) return s.string("metadata value");
  if (s.isLiteralStart()) {
    const { value } = s.literal(true);
    if (value.kind !== "buffered") s.fail("metadata value too large", "TOOBIG");
    return s.decodeText(value.data, "metadata value");
  }
  if (s.tryKeyword("NIL")) return null;
  return s.fail(`expected a metadata value (string, literal or NIL), got ${s.describeHere()}`);
}

/** setmetadata = "SETMETADATA" SP mailbox SP entry-values */
export function parseSetMetadata(s: Scanner): SetMetadataArgs {
  s.sp();
  const mailbox = parseMailbox(s, "mailbox name");
  s.sp();
  const entries = s.list(() => {
    const name = entryName(s);
    s.sp();
    return { name, value: entryValue(s) };
  }, "entry values");
  return { mailbox, entries };
}
