// REPLACE and UID REPLACE (RFC 8508): the new message (any APPEND form: literal, literal8,
// CATENATE, UTF8) goes to the named mailbox and the replaced one is expunged from the selected
// mailbox, in one transaction (commands/messages/replace.ts). The answer: `* OK [APPENDUID ...]`
// (RFC 8508 3.3), then the selected mailbox's EXPUNGE and EXISTS, then the tagged OK.
import { tmpdir } from "node:os";
import { Readable } from "node:stream";
import { type AppendMessageInput, replaceMessage } from "../../commands/index.ts";
import type { StreamedLiteralInfo } from "../codec/index.ts";
import { no } from "../errors.ts";
import { requireWritable, resolveUids, selectedOf, userIdOf } from "../mail/commandSupport.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { isSharedName } from "../mail/sharedNamespace.ts";
import { defineCommand, SELECTED } from "../module.ts";
import { LiteralSpool, prepareCatenate, prepareLiteral, spoolsOf } from "./append.ts";

export function replaceCommand(services: MailServices) {
  return defineCommand({
    names: ["REPLACE"],
    // The message number is the session's: what other nodes appended is announced first.
    selectedView: "looks-first",
    states: SELECTED,
    capabilities: () => ["REPLACE"],
    maxLiteralSize: (_session, limits) =>
      Math.min(limits.maxAppendLiteralSize, services.appendLimit ?? Infinity),
    openLiteralSink: (info: StreamedLiteralInfo) => new LiteralSpool(tmpdir(), info.size).sink(),
    async handle(command, context) {
      const { sequenceSet, mailbox, message } = command.args;
      const name = `${command.uid ? "UID " : ""}REPLACE`;
      let body: AppendMessageInput["body"] | undefined;
      try {
        const userId = userIdOf(context.session);
        const controller = selectedOf(context.session);
        requireWritable(controller, name);
        // Both messages are one user's: the replaced one and its replacement live in one account.
        if (controller.shared || isSharedName(mailbox)) {
          throw no(
            `${name}: a message of another user's mailbox is not replaced (COPY and EXPUNGE are)`,
            "CANNOT",
          );
        }
        // A message number beyond EXISTS is BAD (as for every command); a UID no longer there, NO.
        const [uid] = resolveUids(controller, sequenceSet, command.uid);
        if (uid === undefined) throw no(`${name}: no message with that UID`, "NONEXISTENT");
        const { content } = message;
        const prepared =
          content.kind === "literal"
            ? await prepareLiteral(content)
            : await prepareCatenate(services, context, mailbox, content.parts);
        body = prepared.body;
        const outcome = await replaceMessage(domainContext(services, context), {
          userId,
          mailboxId: controller.mailboxId,
          uid,
          targetName: mailbox,
          message: {
            body: prepared.body,
            declaredSize: prepared.size,
            flags: message.flags,
            ...(message.internalDate ? { internalDate: message.internalDate } : {}),
          },
        });
        context.noteCommitted();
        // The selected mailbox lost a message (and gained one when it is the target): the
        // session reads both from the index before the OK.
        controller.markDirty(outcome.lastGlobalPosition);
        await context.untagged(
          `OK [APPENDUID ${outcome.targetUidValidity} ${outcome.uid}] Replacement message ready`,
        );
        return { text: `${name} completed` };
      } finally {
        if (body instanceof Readable) body.destroy();
        await Promise.all(spoolsOf([message]).map((spool) => spool.release()));
      }
    },
  });
}
