// FETCH sequence-set SP (macro / fetch-att / "(" fetch-att *(SP fetch-att) ")") [SP fetch-modifiers]
// RFC 3501 items, RFC 3516 BINARY, RFC 7162 MODSEQ / CHANGEDSINCE / VANISHED, RFC 8474 EMAILID
// and THREADID.

import type {
  BodySection,
  FetchArgs,
  FetchItem,
  PartialRange,
  ResultWindow,
  SectionText,
} from "./commands.ts";
import { parseResultWindow } from "./parseSearch.ts";
import { isDigit, ParseError, Scanner } from "./scanner.ts";
import { parseSequenceSet } from "./sequenceSet.ts";

const SIMPLE_ITEMS = new Set([
  "ENVELOPE",
  "FLAGS",
  "INTERNALDATE",
  "RFC822",
  "RFC822.HEADER",
  "RFC822.SIZE",
  "RFC822.TEXT",
  "BODY",
  "BODYSTRUCTURE",
  "UID",
  "MODSEQ",
  "EMAILID",
  "THREADID",
  "SAVEDATE",
]);

const MACROS: Readonly<Record<string, readonly FetchItem[]>> = {
  ALL: [{ type: "FLAGS" }, { type: "INTERNALDATE" }, { type: "RFC822.SIZE" }, { type: "ENVELOPE" }],
  FAST: [{ type: "FLAGS" }, { type: "INTERNALDATE" }, { type: "RFC822.SIZE" }],
  FULL: [
    { type: "FLAGS" },
    { type: "INTERNALDATE" },
    { type: "RFC822.SIZE" },
    { type: "ENVELOPE" },
    { type: "BODY" },
  ],
};

function isItemNameChar(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || isDigit(b) || b === 0x2e;
}

export function parseFetch(s: Scanner, uid: boolean): FetchArgs {
  s.sp();
  const sequenceSet = parseSequenceSet(s);
  s.sp();
  let items: FetchItem[];
  let macro: FetchArgs["macro"];
  if (s.peek() === 0x28) {
    items = s.list(() => parseFetchItem(s), "fetch items");
  } else {
    const start = s.takeWhile(isItemNameChar).toUpperCase();
    const expanded = MACROS[start];
    if (expanded !== undefined) {
      macro = start as FetchArgs["macro"];
      items = [...expanded];
    } else {
      items = [parseFetchItem(s, start)];
    }
  }
  let changedSince: bigint | undefined;
  let vanished = false;
  let partial: ResultWindow | undefined;
  if (s.trySp()) {
    s.list(() => {
      const name = s.keyword("fetch modifier");
      if (name === "CHANGEDSINCE") {
        if (changedSince !== undefined) s.fail("CHANGEDSINCE given twice");
        s.sp();
        changedSince = s.modSeq(false, "CHANGEDSINCE value");
      } else if (name === "VANISHED") {
        vanished = true;
      } else if (name === "PARTIAL") {
        // RFC 9394: a page of the messages the set names, counted from either end.
        if (partial !== undefined) s.fail("PARTIAL given twice");
        s.sp();
        partial = parseResultWindow(s);
      } else {
        s.fail(`unknown fetch modifier ${name}`);
      }
    }, "fetch modifiers");
    // RFC 7162 3.2.6: VANISHED only in UID FETCH and only together with CHANGEDSINCE.
    if (vanished && (!uid || changedSince === undefined))
      s.fail("VANISHED requires UID FETCH with CHANGEDSINCE");
  }
  return { sequenceSet, items, macro, changedSince, vanished, partial };
}

/** One fetch-att; `alreadyRead` is its name when the caller had to read it to rule out a macro. */
export function parseFetchItem(s: Scanner, alreadyRead?: string): FetchItem {
  const name = alreadyRead ?? s.takeWhile(isItemNameChar).toUpperCase();
  if (name.length === 0) s.fail(`expected a fetch data item, got ${s.describeHere()}`);
  if (s.peek() === 0x5b) {
    switch (name) {
      case "BODY":
      case "BODY.PEEK": {
        const section = parseSection(s);
        return { type: "BODY[]", peek: name === "BODY.PEEK", section, partial: parsePartial(s) };
      }
      case "BINARY":
      case "BINARY.PEEK": {
        const part = parseBinarySection(s);
        return { type: "BINARY[]", peek: name === "BINARY.PEEK", part, partial: parsePartial(s) };
      }
      case "BINARY.SIZE":
        return { type: "BINARY.SIZE", part: parseBinarySection(s) };
      default:
        return s.fail(`unknown data item ${name}[`);
    }
  }
  if (name === "PREVIEW") return { type: "PREVIEW", lazy: parsePreviewModifiers(s) };
  if (!SIMPLE_ITEMS.has(name)) {
    if (MACROS[name] !== undefined) s.fail(`macro ${name} cannot be combined with other data items`);
    s.fail(`unknown data item ${name}`);
  }
  return { type: name } as FetchItem;
}

/**
 * RFC 8970: "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"], preview-mod = "LAZY". Read
 * only when "(" follows and LAZY starts it: `FETCH 1 PREVIEW (CHANGEDSINCE 5)` is a modifier list.
 */
function parsePreviewModifiers(s: Scanner): boolean {
  if (s.peek() !== 0x20 || s.peek(1) !== 0x28) return false;
  const word = [2, 3, 4, 5].map((i) => String.fromCharCode(s.peek(i))).join("");
  if (word.toUpperCase() !== "LAZY") return false;
  s.sp();
  let lazy = false;
  s.list(() => {
    const modifier = s.keyword("PREVIEW modifier");
    if (modifier !== "LAZY") s.fail(`unknown PREVIEW modifier ${modifier.slice(0, 40)}`);
    lazy = true;
    return modifier;
  }, "PREVIEW modifiers");
  return lazy;
}

/** section = "[" [section-spec] "]"; section-spec = section-msgtext / (section-part ["." section-text]) */
function parseSection(s: Scanner): BodySection {
  s.expectByte(0x5b, '"["');
  const part: number[] = [];
  let text: SectionText | undefined;
  let fields: string[] = [];
  if (s.tryByte(0x5d)) return { part, text, fields };
  if (isDigit(s.peek())) {
    part.push(s.nzNumber("section part"));
    while (s.peek() === 0x2e && isDigit(s.peek(1))) {
      s.tryByte(0x2e);
      part.push(s.nzNumber("section part"));
    }
    if (s.tryByte(0x5d)) return { part, text, fields };
    s.expectByte(0x2e, '"." or "]" after the part number');
  }
  const name = s.takeWhile(isItemNameChar).toUpperCase();
  switch (name) {
    case "HEADER":
    case "TEXT":
      text = name;
      break;
    case "MIME":
      if (part.length === 0) s.fail("MIME needs a part number (e.g. 1.MIME)");
      text = name;
      break;
    case "HEADER.FIELDS":
    case "HEADER.FIELDS.NOT":
      text = name;
      s.sp();
      fields = s.list(() => s.astring("header field name"), "header field list");
      break;
    default:
      s.fail(`unknown section ${JSON.stringify(name)}`);
  }
  s.expectByte(0x5d, '"]" to end the section');
  return { part, text, fields };
}

/**
 * A section-spec written on its own, as in an IMAP URL's ;SECTION= (RFC 5092 5: the same
 * grammar as FETCH's, e.g. "1.2.MIME" or "HEADER.FIELDS (From To)"); undefined if it is not one.
 */
export function parseSectionSpec(text: string): BodySection | undefined {
  const frame = {
    segments: [Buffer.from(`[${text}]`, "utf8")],
    literals: [],
    tag: undefined,
    name: undefined,
  };
  try {
    const s = new Scanner(frame, { utf8Accept: true });
    const section = parseSection(s);
    s.expectEnd();
    return section;
  } catch (error) {
    if (error instanceof ParseError) return undefined;
    throw error;
  }
}

/** section-binary = "[" [section-part] "]" */
function parseBinarySection(s: Scanner): number[] {
  s.expectByte(0x5b, '"["');
  const part: number[] = [];
  if (!s.tryByte(0x5d)) {
    part.push(s.nzNumber("section part"));
    while (s.tryByte(0x2e)) part.push(s.nzNumber("section part"));
    s.expectByte(0x5d, '"]" to end the section');
  }
  return part;
}

/** "<" number "." nz-number ">" */
function parsePartial(s: Scanner): PartialRange | undefined {
  if (!s.tryByte(0x3c)) return undefined;
  const offset = s.number("partial offset");
  s.expectByte(0x2e, '"." in the partial range');
  const count = s.nzNumber("partial length");
  s.expectByte(0x3e, '">" to end the partial range');
  return { offset, count };
}
