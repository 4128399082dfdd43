// STATUS mailbox SP "(" status-att *(SP status-att) ")"

import type { StatusItem } from "./commands.ts";
import { parseMailbox } from "./mailbox.ts";
import type { Scanner } from "./scanner.ts";

const STATUS_ITEMS: ReadonlySet<string> = new Set<StatusItem>([
  "MESSAGES",
  "RECENT",
  "UIDNEXT",
  "UIDVALIDITY",
  "UNSEEN",
  "HIGHESTMODSEQ", // RFC 7162
  "SIZE", // RFC 8438
  "DELETED", // RFC 9051
  "APPENDLIMIT", // RFC 7889
  "MAILBOXID", // RFC 8474
]);

export function parseStatusItems(s: Scanner): StatusItem[] {
  const items = s.list(() => {
    const item = s.keyword("status item");
    if (!STATUS_ITEMS.has(item)) s.fail(`unknown status item ${item}`);
    return item as StatusItem;
  }, "status items");
  return [...new Set(items)];
}

export function parseStatus(s: Scanner): { mailbox: string; items: StatusItem[] } {
  s.sp();
  const mailbox = parseMailbox(s);
  s.sp();
  return { mailbox, items: parseStatusItems(s) };
}
