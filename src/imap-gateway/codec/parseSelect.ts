// SELECT/EXAMINE mailbox [SP "(" select-param *(SP select-param) ")"]
// with RFC 7162 CONDSTORE and QRESYNC (uidvalidity modseq [known-uids [seq-match]]).

import type { QresyncParams, SelectArgs, SequenceSet } from "./commands.ts";
import { parseMailbox } from "./mailbox.ts";
import type { Scanner } from "./scanner.ts";
import { parseSequenceSet } from "./sequenceSet.ts";

export function parseSelect(s: Scanner): SelectArgs {
  s.sp();
  const mailbox = parseMailbox(s);
  let condstore = false;
  let qresync: QresyncParams | undefined;
  if (s.trySp()) {
    s.list(() => {
      const name = s.keyword("select parameter");
      if (name === "CONDSTORE") {
        condstore = true;
      } else if (name === "QRESYNC") {
        if (qresync !== undefined) s.fail("QRESYNC given twice");
        s.sp();
        qresync = parseQresync(s);
      } else {
        s.fail(`unknown select parameter ${name}`);
      }
    }, "select parameters");
  }
  return { mailbox, condstore, qresync };
}

function parseQresync(s: Scanner): QresyncParams {
  s.expectByte(0x28, '"(" after QRESYNC');
  const uidValidity = s.nzNumber("UIDVALIDITY");
  s.sp();
  const modSeq = s.modSeq(false, "mod-sequence");
  let knownUids: SequenceSet | undefined;
  let seqMatch: QresyncParams["seqMatch"];
  if (s.trySp()) {
    if (s.peek() !== 0x28) {
      knownUids = parseSequenceSet(s, "known UIDs");
      if (!s.trySp()) {
        s.expectByte(0x29, '")"');
        return { uidValidity, modSeq, knownUids, seqMatch };
      }
    }
    s.expectByte(0x28, '"(" to start the sequence match data');
    const seqs = parseSequenceSet(s, "known sequence set");
    s.sp();
    const uids = parseSequenceSet(s, "known UID set");
    s.expectByte(0x29, '")"');
    seqMatch = { seqs, uids };
  }
  s.expectByte(0x29, '")"');
  return { uidValidity, modSeq, knownUids, seqMatch };
}
