// NOTIFY (RFC 5465 8): NOTIFY NONE, or NOTIFY SET [STATUS] event-group *(SP event-group), where
//   event-group      = "(" filter-mailboxes SP events ")"
//   filter-mailboxes = "SELECTED" / "SELECTED-DELAYED" / "INBOXES" / "PERSONAL" / "SUBSCRIBED" /
//                      ("SUBTREE" SP one-or-more-mailbox) / ("MAILBOXES" SP one-or-more-mailbox)
//   events           = ( "(" event *(SP event) ")" ) / "NONE"
//   event            = "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"] / "MessageExpunge" /
//                      "FlagChange" / "AnnotationChange" / "MailboxName" / "SubscriptionChange" /
//                      "MailboxMetadataChange" / "ServerMetadataChange" / event-ext (an atom)
// Events this server does not offer are kept by name: the module answers NO [BADEVENT] (RFC 5465
// 3.1), which is not a syntax error.
import type { FetchItem, NotifyArgs, NotifyEventGroup, NotifyEventName, NotifyFilter } from "./commands.ts";
import { parseMailbox } from "./mailbox.ts";
import { parseFetchItem } from "./parseFetch.ts";
import type { Scanner } from "./scanner.ts";

/** The events RFC 5465 names, by their upper-cased spelling. */
const EVENT_NAMES: Readonly<Record<string, NotifyEventName>> = {
  MESSAGENEW: "MessageNew",
  MESSAGEEXPUNGE: "MessageExpunge",
  FLAGCHANGE: "FlagChange",
  ANNOTATIONCHANGE: "AnnotationChange",
  MAILBOXNAME: "MailboxName",
  SUBSCRIPTIONCHANGE: "SubscriptionChange",
  MAILBOXMETADATACHANGE: "MailboxMetadataChange",
  SERVERMETADATACHANGE: "ServerMetadataChange",
};

/** The message events (RFC 5465 5.1-5.3): the only ones SELECTED and SELECTED-DELAYED take. */
export const MESSAGE_EVENTS: ReadonlySet<string> = new Set([
  "MessageNew",
  "MessageExpunge",
  "FlagChange",
  "AnnotationChange",
]);

function parseMailboxes(s: Scanner): string[] {
  if (s.peek() === 0x28) return s.list(() => parseMailbox(s), "mailbox list");
  return [parseMailbox(s)];
}

function parseFilter(s: Scanner): NotifyFilter {
  const kind = s.keyword("filter-mailboxes");
  switch (kind) {
    case "SELECTED":
      return { kind: "selected", delayed: false };
    case "SELECTED-DELAYED":
      return { kind: "selected", delayed: true };
    case "INBOXES":
      return { kind: "inboxes" };
    case "PERSONAL":
      return { kind: "personal" };
    case "SUBSCRIBED":
      return { kind: "subscribed" };
    case "SUBTREE":
      s.sp();
      return { kind: "subtree", mailboxes: parseMailboxes(s) };
    case "MAILBOXES":
      s.sp();
      return { kind: "mailboxes", mailboxes: parseMailboxes(s) };
    default:
      return s.fail(`unknown filter-mailboxes ${kind.slice(0, 40)} (RFC 5465 8)`);
  }
}

function parseEventGroup(s: Scanner): NotifyEventGroup {
  s.expectByte(0x28, '"(" to start an event group');
  const filter = parseFilter(s);
  s.sp();
  const events: NotifyEventGroup["events"][number][] = [];
  let fetchItems: FetchItem[] | undefined;
  if (!s.tryKeyword("NONE")) {
    s.list(() => {
      const raw = s.atom("event");
      const name = EVENT_NAMES[raw.toUpperCase()] ?? raw;
      if (events.includes(name)) s.fail(`event ${name} given twice`);
      events.push(name);
      if (name === "MessageNew" && s.peek() === 0x20 && s.peek(1) === 0x28) {
        s.sp();
        fetchItems = s.list(() => parseFetchItem(s), "MessageNew fetch attributes");
      }
    }, "events");
    if (filter.kind === "selected") {
      const other = events.find((event) => !MESSAGE_EVENTS.has(event));
      // RFC 5465 8: filter-mailboxes-selected takes message events only.
      if (other !== undefined) s.fail(`${other} is not a message event: SELECTED takes only those`);
    }
    const has = (event: string) => events.includes(event);
    // RFC 5465 5.2, 5.3: of the selected mailbox, MessageNew and MessageExpunge go together (its
    // sequence numbers depend on both), and FlagChange needs them. Another mailbox reports each
    // as its own STATUS, so any of them may come alone there.
    if (filter.kind === "selected") {
      if (has("MessageNew") !== has("MessageExpunge"))
        s.fail("MessageNew and MessageExpunge must be given together for SELECTED (RFC 5465 5)");
      if ((has("FlagChange") || has("AnnotationChange")) && !has("MessageNew"))
        s.fail("FlagChange and AnnotationChange need MessageNew and MessageExpunge (RFC 5465 5)");
    }
  }
  s.expectByte(0x29, '")" to end an event group');
  return { filter, events, fetchItems };
}

export function parseNotify(s: Scanner): NotifyArgs {
  s.sp();
  const verb = s.keyword("NONE or SET");
  if (verb === "NONE") return { set: false, status: false, groups: [] };
  if (verb !== "SET") s.fail(`expected NONE or SET, got ${verb.slice(0, 40)}`);
  s.sp();
  const status = s.tryKeyword("STATUS");
  if (status) s.sp();
  const groups: NotifyEventGroup[] = [parseEventGroup(s)];
  while (s.trySp()) groups.push(parseEventGroup(s));
  if (groups.filter((group) => group.filter.kind === "selected").length > 1)
    s.fail("SELECTED or SELECTED-DELAYED may be given once (RFC 5465 6)");
  return { set: true, status, groups };
}
