// LIST and LSUB, with RFC 5258 LIST-EXTENDED selection and return options and RFC 5819 STATUS return.

import type { ListArgs, StatusItem } from "./commands.ts";
import { decodePatternBytes } from "./mailbox.ts";
import { parseStatusItems } from "./parseStatus.ts";
import type { Scanner } from "./scanner.ts";

const SELECTION_OPTIONS = new Set(["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"]);
const RETURN_OPTIONS = new Set(["SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "MYRIGHTS"]);

/** The reference (usually ""); undefined when no name can be under it (invalid modified UTF-7). */
function parseReference(s: Scanner): string | undefined {
  return decodePatternBytes(s, s.astringBytes("reference name"), "reference name");
}

function parsePattern(s: Scanner): string | undefined {
  return decodePatternBytes(s, s.listMailboxBytes(), "mailbox pattern");
}

/** Patterns no name can match are dropped: what is left may be empty, and then nothing is listed. */
function matchable(reference: string | undefined, patterns: (string | undefined)[]): string[] {
  if (reference === undefined) return [];
  return patterns.filter((pattern) => pattern !== undefined);
}

export function parseList(s: Scanner): ListArgs {
  s.sp();
  let extended = false;
  let selectionOptions: string[] = [];
  if (s.peek() === 0x28) {
    extended = true;
    selectionOptions = s.list(
      () => {
        const option = s.keyword("selection option");
        if (!SELECTION_OPTIONS.has(option)) s.fail(`unknown LIST selection option ${option}`);
        return option;
      },
      "selection options",
      true,
    );
    // RFC 5258 section 3.1: RECURSIVEMATCH alone, or with only REMOTE, says nothing about what
    // to select, and MUST get BAD.
    if (
      selectionOptions.includes("RECURSIVEMATCH") &&
      selectionOptions.every((option) => option === "RECURSIVEMATCH" || option === "REMOTE")
    ) {
      s.fail("RECURSIVEMATCH needs a selection option such as SUBSCRIBED");
    }
    s.sp();
  }
  const reference = parseReference(s);
  s.sp();
  let patterns: (string | undefined)[];
  if (s.peek() === 0x28) {
    extended = true;
    patterns = s.list(() => parsePattern(s), "mailbox patterns");
  } else {
    patterns = [parsePattern(s)];
  }
  const returnOptions: string[] = [];
  let returnStatus: StatusItem[] | undefined;
  if (s.trySp()) {
    if (!s.tryKeyword("RETURN")) s.fail(`expected RETURN, got ${s.describeHere()}`);
    extended = true;
    s.sp();
    s.list(
      () => {
        const option = s.keyword("return option");
        if (option === "STATUS") {
          s.sp();
          returnStatus = parseStatusItems(s);
        } else if (RETURN_OPTIONS.has(option)) {
          returnOptions.push(option);
        } else {
          s.fail(`unknown LIST return option ${option}`);
        }
      },
      "return options",
      true,
    );
  }
  return {
    reference: reference ?? "",
    patterns: matchable(reference, patterns),
    selectionOptions,
    returnOptions,
    returnStatus,
    extended,
  };
}

export function parseLsub(s: Scanner): { reference: string; patterns: string[] } {
  s.sp();
  const reference = parseReference(s);
  s.sp();
  return { reference: reference ?? "", patterns: matchable(reference, [parsePattern(s)]) };
}
