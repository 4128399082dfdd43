// SELECT and EXAMINE (RFC 3501 6.3.1, 6.3.2), with CONDSTORE (RFC 7162 3.1.8) and QRESYNC
// (RFC 7162 3.2.5) parameters. In IMAP4rev2 (RFC 9051 6.3.2): no RECENT and no \Recent taken,
// no OK [UNSEEN], and the mailbox's LIST line.

import { encodeSequenceNumbers } from "../codec/index.ts";
import { no } from "../errors.ts";
import { flagUpdateLine } from "../fetch/flagUpdate.ts";
import { userIdOf } from "../mail/commandSupport.ts";
import type { MailServices } from "../mail/services.ts";
import { speaksRev2 } from "../modes.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";
import { SelectedMailbox } from "../selected/mailbox.ts";
import { SYSTEM_FLAGS } from "../selected/state.ts";
import { selectedListLine } from "./list.ts";

export function selectCommand(services: MailServices) {
  return defineCommand({
    names: ["SELECT", "EXAMINE"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ["CONDSTORE", "QRESYNC"],
    enableable: ["CONDSTORE", "QRESYNC"],
    async handle(command, context) {
      const { session } = context;
      const userId = userIdOf(session);
      const readOnly = command.name === "EXAMINE";
      const hadSelected = session.selected !== undefined;
      // A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1).
      session.unselect();
      const ok = (code: string, text: string) => context.untagged(`OK [${code}] ${text}`);
      if (hadSelected) await ok("CLOSED", "previous mailbox closed");

      // Checked before the mailbox is opened, which claims \\Recent for this session.
      if (command.args.qresync && !session.enabled.has("QRESYNC")) {
        throw no("QRESYNC parameters need ENABLE QRESYNC first (RFC 7162 3.2.5)");
      }
      const rev2 = speaksRev2(session);
      const opened = await SelectedMailbox.open(services, session, userId, command.args.mailbox, {
        readOnly,
        withoutRecent: rev2,
      });
      if (opened === null) throw no(`no mailbox named "${command.args.mailbox}"`, "NONEXISTENT");
      const { status, controller, firstUnseenUid } = opened;
      if (!controller) throw no(`"${status.name}" cannot be selected (\\Noselect)`, "CANNOT");
      if (command.args.condstore) session.enable(["CONDSTORE"]);

      const state = controller.state;
      const firstUnseen =
        firstUnseenUid === null || firstUnseenUid === undefined
          ? undefined
          : state.sequenceNumberOf(firstUnseenUid);

      await context.untagged(state.flagsResponse());
      await ok(
        `PERMANENTFLAGS (${readOnly ? "" : `${SYSTEM_FLAGS.join(" ")} \\*`})`,
        readOnly ? "no permanent flags in read-only mode" : "flags permitted",
      );
      await context.untagged(`${state.exists} EXISTS`);
      if (rev2) {
        const list = await selectedListLine(services, context, status.name);
        if (list !== undefined) await context.untagged(...list);
      } else {
        await context.untagged(`${state.recentCount} RECENT`);
        if (firstUnseen !== undefined) await ok(`UNSEEN ${firstUnseen}`, "first unseen");
      }
      await ok(`UIDVALIDITY ${status.uidValidity}`, "UIDs valid");
      await ok(`UIDNEXT ${status.uidNext}`, "predicted next UID");
      await ok(`MAILBOXID (${status.mailboxId})`, "mailbox id (RFC 8474)");
      if (session.enabled.has("CONDSTORE") || session.enabled.has("QRESYNC")) {
        await ok(`HIGHESTMODSEQ ${state.highestModSeq}`, "highest");
      }

      const qresync = command.args.qresync;
      if (qresync && qresync.uidValidity === status.uidValidity) {
        // RFC 7162 3.2.5.2: what changed since the client's MODSEQ, expunges first as VANISHED (EARLIER).
        const changes = await services.queries.changesSince(userId, status.mailboxId, Number(qresync.modSeq));
        if (changes.vanished.length > 0)
          await context.untagged(`VANISHED (EARLIER) ${encodeSequenceNumbers(changes.vanished)}`);
        const flagsLine = state.announceKeywords(changes.changed.map((message) => message.flags));
        if (flagsLine !== undefined) await context.untagged(flagsLine);
        for (const message of changes.changed.sort((a, b) => a.uid - b.uid)) {
          const seq = state.sequenceNumberOf(message.uid);
          if (seq === undefined) continue;
          const update = { ...message, recent: state.isRecent(message.uid), modSeq: message.modseq };
          await context.untagged(flagUpdateLine(seq, update, { uid: true, flags: true, modSeq: true }));
        }
      }

      session.select(controller);
      return { code: readOnly ? "READ-ONLY" : "READ-WRITE", text: `${command.name} completed` };
    },
  });
}

export { SelectedMailbox };
