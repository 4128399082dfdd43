// STORE and UID STORE (RFC 3501 6.4.6), with CONDSTORE's UNCHANGEDSINCE (RFC 7162 3.1.3).
import { storeFlags } from "../../commands/messages/store.ts";
import { encodeSequenceNumbers } from "../codec/index.ts";
import { flagUpdateLine } from "../fetch/flagUpdate.ts";
import {
  enableCondstore,
  lookFirstIfUnknown,
  requireWritable,
  resolveUids,
  selectedOf,
} from "../mail/commandSupport.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { defineCommand, SELECTED } from "../module.ts";

export function storeCommand(services: MailServices) {
  return defineCommand({
    names: ["STORE"],
    selectedView: "compares-itself",
    states: SELECTED,
    holdsExpunge: true,
    async handle(command, context) {
      const { session } = context;
      const controller = selectedOf(session);
      const userId = controller.userId;
      requireWritable(controller, "STORE");
      const args = command.args;
      await lookFirstIfUnknown(context, controller, args.sequenceSet, command.uid);
      const uids = resolveUids(controller, args.sequenceSet, command.uid);
      if (args.unchangedSince !== undefined) await enableCondstore(context);
      const condstore = session.enabled.has("CONDSTORE") || session.enabled.has("QRESYNC");
      if (uids.length === 0) return undefined;

      const outcome = await storeFlags(domainContext(services, context), {
        userId,
        mailboxId: controller.mailboxId,
        uids,
        ...(controller.shared ? { actorId: controller.actorId } : {}),
        operation: args.action === "set" ? "replace" : args.action,
        flags: [...args.flags],
        ...(args.unchangedSince !== undefined ? { unchangedSince: Number(args.unchangedSince) } : {}),
      });
      // Recorded here, so the change's own doorbell finds nothing new to read.
      controller.recordOwnStore(outcome);

      const failed = new Set(outcome.modified);
      const changedUids = new Set(outcome.changed);
      for (const message of outcome.messages) {
        const seq = controller.state.sequenceNumberOf(message.uid);
        if (seq === undefined || failed.has(message.uid)) continue;
        const changed = changedUids.has(message.uid);
        if (changed) controller.state.noteReported(message.uid, message.modseq);
        // .SILENT still reports MODSEQ changes under CONDSTORE (RFC 7162 3.1.3).
        if (args.silent && !(condstore && changed)) continue;
        const flagsLine = args.silent ? undefined : controller.state.announceKeywords([message.flags]);
        if (flagsLine !== undefined) await context.untagged(flagsLine);
        const update = {
          uid: message.uid,
          flags: message.flags,
          recent: controller.state.isRecent(message.uid),
          modSeq: message.modseq,
        };
        await context.untagged(
          flagUpdateLine(seq, update, { uid: command.uid, flags: !args.silent, modSeq: condstore }),
        );
      }
      if (failed.size > 0) {
        const numbers = command.uid
          ? [...failed]
          : [...failed]
              .map((uid) => controller.state.sequenceNumberOf(uid))
              .filter((n): n is number => n !== undefined);
        return {
          code: `MODIFIED ${encodeSequenceNumbers(numbers)}`,
          text: "conditional STORE failed for some messages",
        };
      }
      return undefined;
    },
  });
}
