// EXPUNGE (RFC 3501 6.4.3), UID EXPUNGE (RFC 4315 UIDPLUS), CLOSE (6.4.2: a silent expunge) and
// UNSELECT (RFC 3691: leave without expunging). The EXPUNGE responses come from the session's
// own tracker when it answers, like any other change, so their numbers are the session's.
import { expungeMessages } from "../../../commands/messages/expunge.ts";
import { defineCommand, SELECTED } from "../../module.ts";
import { domainContext, type MailServices } from "../services.ts";
import { domainCall, lookFirstIfUnknown, requireWritable, resolveUids, selectedOf } from "../session.ts";

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
      const outcome = await domainCall(() =>
        expungeMessages(domainContext(services, context), {
          userId,
          mailboxId: controller.mailboxId,
          ...(uids !== undefined ? { uids } : {}),
          ...(controller.shared ? { actorId: controller.actorId } : {}),
        }),
      );
      // Recorded here, so the change's own doorbell finds nothing new to read.
      controller.recordOwnChange({ ...outcome, expunged: outcome.expungedUids });
      return undefined;
    },
  });
}

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
        await domainCall(() =>
          expungeMessages(domainContext(services, context), {
            userId,
            mailboxId: controller.mailboxId,
            ...(controller.shared ? { actorId: controller.actorId } : {}),
          }),
        );
      }
      return undefined;
    },
  });
}

export function unselectCommand() {
  return defineCommand({
    names: ["UNSELECT"],
    states: SELECTED,
    capabilities: () => ["UNSELECT"],
    async handle(_command, context) {
      context.session.unselect();
      return undefined;
    },
  });
}

/** CHECK (RFC 3501 6.4.1): every acknowledged change is already durable; nothing to do. */
export function checkCommand() {
  return defineCommand({
    names: ["CHECK"],
    selectedView: "looks-first",
    states: SELECTED,
    // As NOOP: a poll, which the session's look at storage before every command already made.
    async handle() {
      return undefined;
    },
  });
}
