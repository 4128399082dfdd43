// SUBSCRIBE and UNSUBSCRIBE (RFC 3501 6.3.6, 6.3.7): the subscription list LSUB and
// LIST (SUBSCRIBED) read.
import { subscribeMailbox, unsubscribeMailbox } from "../../commands/index.ts";
import { userIdOf } from "../mail/commandSupport.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";

export function subscribeCommand(services: MailServices) {
  return defineCommand({
    names: ["SUBSCRIBE", "UNSUBSCRIBE"],
    states: AUTHENTICATED_OR_SELECTED,
    async handle(command, context) {
      const userId = userIdOf(context.session);
      const input = { userId, name: command.args.mailbox };
      const ctx = domainContext(services, context);
      await (command.name === "SUBSCRIBE" ? subscribeMailbox(ctx, input) : unsubscribeMailbox(ctx, input));
      return { text: `${command.name} completed` };
    },
  });
}
