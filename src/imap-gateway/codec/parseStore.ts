// STORE sequence-set [SP "(" UNCHANGEDSINCE mod-sequence ")"] SP (["+" / "-"] "FLAGS" [".SILENT"])
//       SP (flag-list / flag *(SP flag))

import type { StoreArgs } from "./commands.ts";
import { dedupe, parseFlag, parseFlagList } from "./flags.ts";
import type { Scanner } from "./scanner.ts";
import { parseSequenceSet } from "./sequenceSet.ts";

function isStoreItemChar(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2b || b === 0x2d || b === 0x2e;
}

export function parseStore(s: Scanner): StoreArgs {
  s.sp();
  const sequenceSet = parseSequenceSet(s);
  s.sp();
  let unchangedSince: bigint | undefined;
  if (s.peek() === 0x28) {
    s.list(() => {
      const name = s.keyword("store modifier");
      if (name !== "UNCHANGEDSINCE") s.fail(`unknown STORE modifier ${name}`);
      if (unchangedSince !== undefined) s.fail("UNCHANGEDSINCE given twice");
      s.sp();
      unchangedSince = s.modSeq(true, "UNCHANGEDSINCE value");
    }, "store modifiers");
    s.sp();
  }
  const item = s.takeWhile(isStoreItemChar).toUpperCase();
  const match = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
  if (match === null) s.fail(`unknown data item ${JSON.stringify(item)} (expected [+|-]FLAGS[.SILENT])`);
  const action = match[1] === "+" ? "add" : match[1] === "-" ? "remove" : "set";
  s.sp();
  let flags: string[];
  if (s.peek() === 0x28) {
    flags = parseFlagList(s);
  } else {
    flags = [parseFlag(s)];
    while (s.trySp()) flags.push(parseFlag(s));
    flags = dedupe(flags);
  }
  return { sequenceSet, action, silent: match[2] !== undefined, flags, unchangedSince };
}
