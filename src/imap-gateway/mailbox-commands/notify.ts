// NOTIFY (RFC 5465): NOTIFY SET tells the server which changes of which mailboxes to report
// unasked, NOTIFY NONE that nothing is; each replaces the one before. What is watched and how it
// is read from the index lives in ../notifications.ts.
import { no } from "../errors.ts";
import { userIdOf } from "../mail/commandSupport.ts";
import { MailboxNotifications, SUPPORTED_EVENTS } from "../mail/notifications.ts";
import type { MailServices } from "../mail/services.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";

/** Mailbox names one NOTIFY SET may list (RFC 5465 3.1: beyond, NOTIFICATIONOVERFLOW). */
export const MAX_NOTIFY_MAILBOX_NAMES = 1_000;

export function notifyCommand(services: MailServices) {
  return defineCommand({
    names: ["NOTIFY"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ["NOTIFY"],
    async handle(command, context) {
      const { session } = context;
      const userId = userIdOf(session);
      const args = command.args;
      if (!args.set) {
        session.setNotifications(MailboxNotifications.none());
        return { text: "NOTIFY NONE completed: nothing is reported unasked" };
      }
      const unsupported = new Set<string>();
      let names = 0;
      for (const group of args.groups) {
        for (const event of group.events)
          if (!(SUPPORTED_EVENTS as readonly string[]).includes(event)) unsupported.add(event);
        if (group.filter.kind === "subtree" || group.filter.kind === "mailboxes")
          names += group.filter.mailboxes.length;
      }
      // RFC 5465 3.1: NO [BADEVENT] lists the events this server does support.
      if (unsupported.size > 0)
        throw no(`not supported: ${[...unsupported].join(", ")}`, `BADEVENT (${SUPPORTED_EVENTS.join(" ")})`);
      if (names > MAX_NOTIFY_MAILBOX_NAMES)
        throw no(`at most ${MAX_NOTIFY_MAILBOX_NAMES} mailbox names`, "NOTIFICATIONOVERFLOW");
      const notifications = await MailboxNotifications.start(services, session, userId, args.groups);
      if (args.status) for (const line of notifications.initialStatus()) await context.untagged(line);
      session.setNotifications(notifications);
      return { text: "NOTIFY completed" };
    },
  });
}
