// THREAD and UID THREAD (RFC 5256): ORDEREDSUBJECT and REFERENCES over the messages SEARCH would
// find. The query module finds them and reads their dates, subjects and Message-ID, In-Reply-To
// and References headers; the threads are built in src/imap-gateway/mail/thread.ts.
import { bad } from "../errors.ts";
import { expungedMeanwhile, selectedOf } from "../mail/commandSupport.ts";
import type { MailServices } from "../mail/services.ts";
import {
  encodeThreads,
  orderedSubjectThreads,
  referencesThreads,
  type ThreadMessage,
} from "../mail/threading.ts";
import { UTF8_ACCEPT } from "../modes.ts";
import { defineCommand, SELECTED } from "../module.ts";
import { toCriteria } from "./search.ts";

const ALGORITHMS = {
  ORDEREDSUBJECT: orderedSubjectThreads,
  REFERENCES: referencesThreads,
} as const;

export function threadCommand(_services: MailServices) {
  return defineCommand({
    names: ["THREAD"],
    selectedView: "looks-first",
    states: SELECTED,
    holdsExpunge: true,
    capabilities: () => Object.keys(ALGORITHMS).map((algorithm) => `THREAD=${algorithm}`),
    async handle(command, context) {
      const { session } = context;
      const controller = selectedOf(session);
      // RFC 6855 3 (erratum 4029): once UTF8=ACCEPT is enabled, a charset other than UTF-8 is BAD.
      if (session.enabled.has(UTF8_ACCEPT) && command.args.charset !== "UTF-8") {
        throw bad("THREAD takes charset UTF-8 once UTF8=ACCEPT is enabled (RFC 6855 3)");
      }
      const { algorithm } = command.args;
      const threads = ALGORITHMS[algorithm as keyof typeof ALGORITHMS];
      if (threads === undefined)
        throw bad(
          `unknown threading algorithm ${algorithm}; this server offers ORDEREDSUBJECT and REFERENCES`,
        );
      const found = await controller.queries.sortFields(
        controller.userId,
        controller.mailboxId,
        toCriteria(command.args.search, controller.state),
        ["sentDate", "internalDate", "subject", "messageId", "inReplyTo", "references"],
      );
      const messages: ThreadMessage[] = [];
      for (const message of found) {
        // Only messages this session knows of, in its numbering (ascending either way).
        const number = controller.state.sequenceNumberOf(message.uid);
        if (number === undefined) continue;
        messages.push({
          id: command.uid ? message.uid : number,
          date: message.sentDate ?? message.internalDate,
          subject: message.subject,
          messageId: message.messageId,
          inReplyTo: message.inReplyTo,
          references: message.references,
        });
      }
      const encoded = encodeThreads(threads(messages));
      await context.untagged(`THREAD${encoded === "" ? "" : ` ${encoded}`}`);
      return expungedMeanwhile(controller, "THREAD");
    },
  });
}
