// COPY and MOVE (RFC 3501 6.4.7, RFC 6851), UID forms included, with UIDPLUS COPYUID
// (RFC 4315), between any two mailboxes the user may reach: his own and those shared with him.
// MOVE's EXPUNGEs reach the client before the tagged OK: the controller is marked dirty and the
// session flushes its updates (MOVE does not hold EXPUNGE back).
import { copyMessages, moveMessages } from "../../commands/index.ts";
import { encodeSequenceNumbers } from "../codec/index.ts";
import { no } from "../errors.ts";
import { requireWritable, resolveUids, selectedOf } from "../mail/commandSupport.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { resolveMailboxName } from "../mail/sharedNamespace.ts";
import { defineCommand, SELECTED } from "../module.ts";

/** `COPYUID uidvalidity source-uids target-uids`: the two sets pair up in order (RFC 4315 3). */
export function copyUidCode(
  uidValidity: number,
  sourceUids: readonly number[],
  targetUids: readonly number[],
): string {
  const pairs = sourceUids.map((uid, i) => [uid, targetUids[i]!] as const).sort((a, b) => a[0] - b[0]);
  // Each side may be compacted on its own only when both ascend together, as they do when the
  // target UIDs are assigned in source order; otherwise the pairs are spelled out.
  const aligned = pairs.every(([, target], i) => i === 0 || target > pairs[i - 1]![1]);
  const side = (uids: number[]) => (aligned ? encodeSequenceNumbers(uids) : uids.join(","));
  return `COPYUID ${uidValidity} ${side(pairs.map(([uid]) => uid))} ${side(pairs.map(([, uid]) => uid))}`;
}

export function copyCommand(services: MailServices) {
  return defineCommand({
    names: ["COPY", "MOVE"],
    selectedView: "looks-first",
    states: SELECTED,
    capabilities: () => ["UIDPLUS", "MOVE"],
    async handle(command, context) {
      const { session } = context;
      const controller = selectedOf(session);
      const userId = controller.userId;
      const move = command.name === "MOVE";
      if (move) requireWritable(controller, "MOVE");
      const uids = resolveUids(controller, command.args.sequenceSet, command.uid);
      const name = `${command.uid ? "UID " : ""}${command.name}`;
      // RFC 4315 4.3: UID COPY of UIDs that no longer exist is not an error; nothing is copied.
      if (uids.length === 0) return { text: `${name} completed: no messages` };
      const target = await resolveMailboxName(services, session, command.args.mailbox);
      // A name in the shared namespace the actor may not look up is answered as one that does
      // not exist.
      if (target === null) throw no(`no mailbox named "${command.args.mailbox}"`, "TRYCREATE");
      // Between the actor's own mailboxes and those shared with him, either way (RFC 4314 4):
      // the rights are checked, and each side's events written, in the command's transaction.
      const input = {
        userId,
        mailboxId: controller.mailboxId,
        uids,
        targetName: target.name,
        actorId: controller.actorId,
        targetOwnerId: target.ownerId,
      };
      const ctx = domainContext(services, context);
      const outcome = await (move ? moveMessages(ctx, input) : copyMessages(ctx, input));
      if (move || outcome.targetMailboxId === controller.mailboxId)
        controller.markDirty(outcome.lastGlobalPosition);
      if (outcome.sourceUids.length === 0) return { text: `${name} completed: no messages` };
      const code = copyUidCode(outcome.targetUidValidity, outcome.sourceUids, outcome.targetUids);
      if (move) {
        // RFC 6851 4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
        await context.untagged(`OK [${code}] moved`);
        return { text: `${name} completed` };
      }
      return { code, text: `${name} completed` };
    },
  });
}
