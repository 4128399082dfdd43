// APPEND mailbox [SP flag-list] [SP date-time] SP literal, repeated for RFC 3502 MULTIAPPEND.

import type { AppendMessage } from "./commands.ts";
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
    if (!s.isLiteralStart()) s.fail(`expected the message literal, got ${s.describeHere()}`);
    const { value, binary } = s.literal(true);
    messages.push({ flags, internalDate, literal: value, binary });
    if (s.atEnd()) break;
  }
  if (messages.length === 0) s.fail("missing message literal");
  return { mailbox, messages };
}
