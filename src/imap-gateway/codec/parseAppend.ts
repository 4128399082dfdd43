// APPEND mailbox [SP flag-list] [SP date-time] SP (literal / catenate), repeated for RFC 3502
// MULTIAPPEND, where catenate = "CATENATE" SP "(" cat-part *(SP cat-part) ")" and
// cat-part = "TEXT" SP literal / "URL" SP astring (RFC 4469 5). REPLACE (RFC 8508) takes one
// message of the same grammar.

import type { AppendMessage, CatenatePart, SequenceSet } from "./commands.ts";
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
    messages.push(parseAppendMessage(s));
    if (s.atEnd()) break;
  }
  if (messages.length === 0) s.fail("missing message literal");
  return { mailbox, messages };
}

/**
 * One message after its SP: [flag-list SP] [date-time SP] then a literal, a literal8 (RFC 3516),
 * `CATENATE (...)` (RFC 4469) or `UTF8 (literal8)` (RFC 6855 4, once UTF8=ACCEPT is enabled).
 */
export function parseAppendMessage(s: Scanner): AppendMessage {
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
    return { flags, internalDate, content: { kind: "catenate", parts: parseCatenateParts(s) } };
  }
  if (s.tryKeyword("UTF8")) {
    if (!s.utf8Accept) s.fail("UTF8 message data needs ENABLE UTF8=ACCEPT first (RFC 6855 4)");
    s.sp();
    s.expectByte(0x28, '"(" after UTF8');
    if (s.peek() !== 0x7e) s.fail(`expected a literal8 (~{n}) after "UTF8 (", got ${s.describeHere()}`);
    const { value } = s.literal(true);
    s.expectByte(0x29, '")" after the UTF8 literal8');
    // An 8-bit message with UTF-8 headers (RFC 6532), stored as sent: not BINARY's re-encoding.
    return { flags, internalDate, content: { kind: "literal", literal: value, binary: false } };
  }
  if (!s.isLiteralStart()) s.fail(`expected the message literal, got ${s.describeHere()}`);
  const { value, binary } = s.literal(true);
  return { flags, internalDate, content: { kind: "literal", literal: value, binary } };
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

/**
 * REPLACE SP seq-number SP mailbox append-message (RFC 8508 6); under UID, the number is a UID.
 * One message, as APPEND's (flags, date, literal, literal8, CATENATE or UTF8).
 */
export function parseReplace(s: Scanner): {
  sequenceSet: SequenceSet;
  mailbox: string;
  message: AppendMessage;
} {
  s.sp();
  const number = s.tryByte(0x2a) ? ("*" as const) : s.nzNumber("message number");
  s.sp();
  const mailbox = parseMailbox(s, "destination mailbox");
  s.sp();
  const message = parseAppendMessage(s);
  return { sequenceSet: { kind: "ranges", ranges: [{ start: number, stop: number }] }, mailbox, message };
}
