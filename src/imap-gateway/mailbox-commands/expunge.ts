// EXPUNGE (RFC 3501 6.4.3) and UID EXPUNGE (RFC 4315 UIDPLUS). The EXPUNGE responses come from
// the session's own tracker when it answers, like any other change, so their numbers are the
// session's. CLOSE (a silent expunge) is in close.ts.
import { expungeMessages } from "../../commands/messages/expunge.ts";
import { lookFirstIfUnknown, requireWritable, resolveUids, selectedOf } from "../mail/commandSupport.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { defineCommand, SELECTED } from "../module.ts";

export function expungeCommand(services: MailServices) {
  return defineCommand({
    names: ["EXPUNGE"],
    selectedView: "compares-itself",
    states: SELECTED,
    capabilities: () => ["UIDPLUS"],
    async handle(command, context) {
      const controller = selectedOf(context.session);
      const userId = controller.userId;
      requireWritable(controller, "EXPUNGE");
      const uidSet = command.args.uids;
      if (uidSet !== undefined) await lookFirstIfUnknown(context, controller, uidSet, true);
      const uids = uidSet === undefined ? undefined : resolveUids(controller, uidSet, true);
      if (uids !== undefined && uids.length === 0) return undefined;
      const outcome = await expungeMessages(domainContext(services, context), {
        userId,
        mailboxId: controller.mailboxId,
        ...(uids !== undefined ? { uids } : {}),
        ...(controller.shared ? { actorId: controller.actorId } : {}),
      });
      // Recorded here, so the change's own doorbell finds nothing new to read.
      controller.recordOwnChange({ ...outcome, expunged: outcome.expungedUids });
      return undefined;
    },
  });
}
