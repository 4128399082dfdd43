// RENAME (RFC 3501 6.3.5): inferiors follow the renamed name; RENAME INBOX moves INBOX's
// messages to a new mailbox and leaves INBOX empty.
import { renameMailbox } from "../../commands/index.ts";
import { no } from "../errors.ts";
import { userIdOf } from "../mail/commandSupport.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { isSharedName, refuseSharedName, resolveMailboxName } from "../mail/sharedNamespace.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";
import { SelectedMailbox } from "../selected/mailbox.ts";

export function renameCommand(services: MailServices) {
  return defineCommand({
    names: ["RENAME"],
    states: AUTHENTICATED_OR_SELECTED,
    async handle(command, context) {
      const { session } = context;
      const userId = userIdOf(session);
      const { from, to } = command.args;
      if (isSharedName(from)) {
        // Renaming another user's mailbox (RFC 4314 "x" and "k") is not offered.
        const target = await resolveMailboxName(services, session, from);
        if (target === null) throw no(`no mailbox named "${from}"`, "NONEXISTENT");
        throw no(`RENAME of another user's mailbox is not supported; its owner may rename it`, "NOPERM");
      }
      refuseSharedName(to, "RENAME");
      const renamed = await renameMailbox(domainContext(services, context), { userId, from, to });
      // With INBOX selected, RENAME INBOX expunged every message of it: say so before the OK.
      const selected = session.selected;
      if (selected instanceof SelectedMailbox && renamed.inboxMovedTo !== null && selected.name === "INBOX") {
        selected.markDirty(renamed.lastGlobalPosition);
      }
      return { text: "RENAME completed" };
    },
  });
}
