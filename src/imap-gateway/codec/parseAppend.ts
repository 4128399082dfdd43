// APPEND mailbox [SP flag-list] [SP date-time] SP (literal / catenate), repeated for RFC 3502
// MULTIAPPEND, where catenate = "CATENATE" SP "(" cat-part *(SP cat-part) ")" and
// cat-part = "TEXT" SP literal / "URL" SP astring (RFC 4469 5).

import type { AppendMessage, CatenatePart } from "./commands.ts";
import { parseDateTime } from "./dates.ts";
import { parseFlagList } from "./flags.ts";
import { parseMailbox } from "./mailbox.ts";
import type { Scanner } from "./scanner.ts";

export function parseAppend(s: Scanner): { mailbox: string; messages: AppendMessage[] } {
  s.sp();
  const mailbox = parseMailbox(s);
  const messages: AppendMessage[] = [];
  // Each message starts after a SP; the command ends after a literal with nothing following.
  while (s.trySp()) {
    let flags: string[] = [];
    let internalDate: Date | undefined;
    if (s.peek() === 0x28) {
      flags = parseFlagList(s);
      s.sp();
    }
    if (s.peek() === 0x22) {
      internalDate = parseDateTime(s);
      s.sp();
    }
    if (s.tryKeyword("CATENATE")) {
      s.sp();
      messages.push({ flags, internalDate, content: { kind: "catenate", parts: parseCatenateParts(s) } });
      continue;
    }
    if (!s.isLiteralStart()) s.fail(`expected the message literal, got ${s.describeHere()}`);
    const { value, binary } = s.literal(true);
    messages.push({ flags, internalDate, content: { kind: "literal", literal: value, binary } });
    if (s.atEnd()) break;
  }
  if (messages.length === 0) s.fail("missing message literal");
  return { mailbox, messages };
}

function parseCatenateParts(s: Scanner): CatenatePart[] {
  return s.list((): CatenatePart => {
    const kind = s.keyword("CATENATE part (TEXT or URL)");
    s.sp();
    if (kind === "URL") return { kind: "url", url: s.astring("URL") };
    if (kind !== "TEXT") s.fail(`unknown CATENATE part ${kind} (TEXT or URL)`);
    if (!s.isLiteralStart()) s.fail(`expected the TEXT literal, got ${s.describeHere()}`);
    const { value, binary } = s.literal(true);
    return { kind: "text", literal: value, binary };
  }, "CATENATE parts");
}
