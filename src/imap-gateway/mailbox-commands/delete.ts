// DELETE (RFC 3501 6.3.4): the messages are expunged; a name with inferiors stays as \Noselect;
// INBOX cannot be deleted (NO [CANNOT] from the domain).
import { deleteMailbox } from "../../commands/index.ts";
import { no } from "../errors.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { resolveMailboxName } from "../mail/sharedNamespace.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";
import { SelectedMailbox } from "../selected/mailbox.ts";

export function deleteCommand(services: MailServices) {
  return defineCommand({
    names: ["DELETE"],
    states: AUTHENTICATED_OR_SELECTED,
    async handle(command, context) {
      const { session } = context;
      const target = await resolveMailboxName(services, session, command.args.mailbox);
      if (target === null) throw no(`no mailbox named "${command.args.mailbox}"`, "NONEXISTENT");
      const deleted = await deleteMailbox(domainContext(services, context), {
        userId: target.ownerId,
        name: target.name,
        ...(target.kind === "shared" ? { actorId: target.actorId } : {}),
      });
      const selected = session.selected;
      if (selected instanceof SelectedMailbox && selected.mailboxId === deleted.mailboxId) {
        // The session's own mailbox is gone: nothing in it can be addressed any more. The
        // session goes back to the authenticated state and says so (RFC 7162 3.2.11 CLOSED).
        session.unselect();
        await context.untagged("OK [CLOSED] the selected mailbox was deleted");
      }
      return { text: "DELETE completed" };
    },
  });
}
