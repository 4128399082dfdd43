// CLOSE (RFC 3501 6.4.2): leave the mailbox, expunging its \Deleted messages silently (no
// EXPUNGE responses) unless it was opened read-only with EXAMINE.
import { expungeMessages } from "../../commands/messages/expunge.ts";
import { selectedOf, userIdOf } from "../mail/commandSupport.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { defineCommand, SELECTED } from "../module.ts";

export function closeCommand(services: MailServices) {
  return defineCommand({
    names: ["CLOSE"],
    states: SELECTED,
    async handle(_command, context) {
      const userId = userIdOf(context.session);
      const controller = selectedOf(context.session);
      // EXAMINE'd mailboxes are left without expunging (RFC 3501 6.4.2).
      context.session.unselect();
      if (!controller.readOnly) {
        await expungeMessages(domainContext(services, context), { userId, mailboxId: controller.mailboxId });
      }
      return undefined;
    },
  });
}
