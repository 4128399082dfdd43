// METADATA and METADATA-SERVER (RFC 5464): GETMETADATA and SETMETADATA on the entries of a
// mailbox, or of the server (mailbox ""). Entries are events of the user stream and live in an
// index table committed with them (commands/metadata). Private entries are the account's own.
// Unsolicited METADATA responses (RFC 5464 4.4.2) are not sent, so ENABLE METADATA is not offered.
import { DEFAULT_METADATA_LIMITS, getMetadata, setMetadata } from "../../commands/index.ts";
import { encodeAString, encodeMailbox, encodeNString } from "../codec/index.ts";
import { userIdOf } from "../mail/commandSupport.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";

export function getMetadataCommand(services: MailServices) {
  const limits = services.metadataLimits ?? DEFAULT_METADATA_LIMITS;
  return defineCommand({
    names: ["GETMETADATA"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ["METADATA", "METADATA-SERVER"],
    async handle(command, context) {
      const userId = userIdOf(context.session);
      const { args } = command;
      const read = await getMetadata(services, {
        userId,
        mailbox: args.mailbox,
        entries: args.entries,
        ...(args.depth === undefined ? {} : { depth: args.depth }),
        ...(args.maxSize === undefined ? {} : { maxSize: args.maxSize }),
        limits,
      });
      const utf8 = context.session.enabled.has("UTF8=ACCEPT");
      if (read.entries.length > 0) {
        const parts: (string | Buffer)[] = ["METADATA ", encodeMailbox(read.mailbox, { utf8 }), " ("];
        read.entries.forEach((entry, index) => {
          if (index > 0) parts.push(" ");
          parts.push(encodeAString(entry.name, { utf8 }), " ", encodeNString(entry.value, { utf8 }));
        });
        parts.push(")");
        await context.untagged(...parts);
      }
      return read.longestOmitted === undefined
        ? { text: "GETMETADATA completed" }
        : { text: "GETMETADATA completed", code: `METADATA LONGENTRIES ${read.longestOmitted}` };
    },
  });
}

export function setMetadataCommand(services: MailServices) {
  const limits = services.metadataLimits ?? DEFAULT_METADATA_LIMITS;
  return defineCommand({
    names: ["SETMETADATA"],
    states: AUTHENTICATED_OR_SELECTED,
    async handle(command, context) {
      const userId = userIdOf(context.session);
      const ctx = domainContext(services, context);
      await setMetadata(ctx, {
        userId,
        mailbox: command.args.mailbox,
        changes: command.args.entries,
        limits,
      });
      return { text: "SETMETADATA completed" };
    },
  });
}
