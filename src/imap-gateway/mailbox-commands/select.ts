// SELECT and EXAMINE (RFC 3501 6.3.1, 6.3.2), with CONDSTORE (RFC 7162 3.1.8) and QRESYNC
// (RFC 7162 3.2.5) parameters. In IMAP4rev2 (RFC 9051 6.3.2): no RECENT and no \Recent taken,
// no OK [UNSEEN], and the mailbox's LIST line.

import { encodeSequenceNumbers } from "../codec/index.ts";
import { no } from "../errors.ts";
import { flagUpdateLine } from "../fetch/flagUpdate.ts";
import type { MailServices } from "../mail/services.ts";
import { resolveMailboxName } from "../mail/sharedNamespace.ts";
import { speaksRev2 } from "../modes.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";
import { SelectedMailbox } from "../selected/mailbox.ts";
import { SYSTEM_FLAGS } from "../selected/state.ts";
import { selectedListLine } from "./list.ts";

/** \\Seen with "s", \\Deleted with "t", the other flags and new keywords with "w". */
function permanentFlags(rights: string): string[] {
  return [
    ...SYSTEM_FLAGS.filter((flag) =>
      flag === "\\Seen"
        ? rights.includes("s")
        : flag === "\\Deleted"
          ? rights.includes("t")
          : rights.includes("w"),
    ),
    ...(rights.includes("w") ? ["\\*"] : []),
  ];
}

export function selectCommand(services: MailServices) {
  return defineCommand({
    names: ["SELECT", "EXAMINE"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ["CONDSTORE", "QRESYNC"],
    enableable: ["CONDSTORE", "QRESYNC"],
    async handle(command, context) {
      const { session } = context;
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
      const target = await resolveMailboxName(services, session, command.args.mailbox);
      const missing = () => no(`no mailbox named "${command.args.mailbox}"`, "NONEXISTENT");
      if (target === null) throw missing();
      // RFC 4314 4: SELECT and EXAMINE need "r".
      if (!target.rights.includes("r")) {
        throw no(`${command.name} needs the right "r" on "${command.args.mailbox}" (RFC 4314)`, "NOPERM");
      }
      const userId = target.ownerId;
      const opened = await SelectedMailbox.open(services, session, userId, target.name, {
        readOnly,
        withoutRecent: rev2,
        ...(target.kind === "shared"
          ? { shared: { actorId: target.actorId, displayName: target.displayName } }
          : {}),
      });
      if (opened === null) throw missing();
      const { status, controller, firstUnseenUid } = opened;
      if (!controller) throw no(`"${status.name}" cannot be selected (\\Noselect)`, "CANNOT");
      if (command.args.condstore) session.enable(["CONDSTORE"]);

      const state = controller.state;
      const firstUnseen =
        firstUnseenUid === null || firstUnseenUid === undefined
          ? undefined
          : state.sequenceNumberOf(firstUnseenUid);

      await context.untagged(state.flagsResponse());
      // On another user's mailbox, the flags the user's rights let it change (RFC 4314 4).
      const permanent = readOnly ? [] : permanentFlags(target.rights);
      await ok(
        `PERMANENTFLAGS (${permanent.join(" ")})`,
        readOnly
          ? "no permanent flags in read-only mode"
          : permanent.length === 0
            ? "no permanent flags"
            : "flags permitted",
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
        const changes = await controller.queries.changesSince(
          userId,
          status.mailboxId,
          Number(qresync.modSeq),
        );
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
