// CLOSE (RFC 3501 6.4.2): leave the mailbox, expunging its \Deleted messages silently (no
// EXPUNGE responses) unless it was opened read-only with EXAMINE.
import { expungeMessages } from "../../commands/messages/expunge.ts";
import { selectedOf } from "../mail/commandSupport.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { defineCommand, SELECTED } from "../module.ts";

export function closeCommand(services: MailServices) {
  return defineCommand({
    names: ["CLOSE"],
    states: SELECTED,
    async handle(_command, context) {
      const controller = selectedOf(context.session);
      const userId = controller.userId;
      // EXAMINE'd mailboxes are left without expunging (RFC 3501 6.4.2), and so are shared ones
      // the user may not expunge (RFC 4314 4: CLOSE expunges only with "e").
      context.session.unselect();
      if (!controller.readOnly && (await controller.rights()).includes("e")) {
        await expungeMessages(domainContext(services, context), {
          userId,
          mailboxId: controller.mailboxId,
          ...(controller.shared ? { actorId: controller.actorId } : {}),
        });
      }
      return undefined;
    },
  });
}
