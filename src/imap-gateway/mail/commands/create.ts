// CREATE (RFC 3501 6.3.3): missing superiors are created too; a trailing separator only says
// inferiors will follow. CREATE-SPECIAL-USE (RFC 6154 3) is not offered: the codec does not
// parse the USE parameter.
import { createMailbox } from "../../../commands/index.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../../module.ts";
import { awaitVisible, domainContext, type MailServices } from "../services.ts";
import { domainCall, userIdOf } from "../session.ts";

export function createCommand(services: MailServices) {
  return defineCommand({
    names: ["CREATE"],
    states: AUTHENTICATED_OR_SELECTED,
    async handle(command, context) {
      const userId = userIdOf(context.session);
      const created = await domainCall(() =>
        createMailbox(domainContext(services, context), { userId, name: command.args.mailbox }),
      );
      await awaitVisible(services, { userId }, created.lastGlobalPosition);
      return { text: "CREATE completed" };
    },
  });
}
