// Reads what one imaptest run of one compliance script printed. imaptest reports only totals
// ("1 test groups: 1 failed, 0 skipped due to missing capabilities") plus a "*** Test" block per
// failed command and an "Error:"/"Warning:" line per protocol violation it noticed on the side
// (a keyword missing from FLAGS, data after BYE, a BAD). Those side notes do not fail the group in
// imaptest's own count, but they are violations all the same, so a script that printed any fails.

export type ScriptStatus = "pass" | "fail" | "skip";

export interface ScriptResult {
  status: ScriptStatus;
  /** Why a script failed: the failure blocks and side notes as imaptest printed them. */
  details: string[];
}

const TOTALS = /^(\d+) test groups: (\d+) failed, (\d+) skipped due to missing capabilities$/m;
const SIDE_NOTE = /^(?:Error|Warning|Panic|Fatal): .*$/gm;
const SIDE_NOTE_START = /^(?:Error|Warning|Panic|Fatal): /;

/** A failure block runs from its "*** Test" line to the next blank line or side note. */
function failureBlocks(output: string): string[] {
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of output.split("\n")) {
    if (line.startsWith("*** Test ")) {
      current = [line];
      blocks.push("");
    } else if (current && line !== "" && !SIDE_NOTE_START.test(line)) {
      current.push(line);
    } else {
      current = undefined;
    }
    if (current) blocks[blocks.length - 1] = current.join("\n");
  }
  return blocks;
}

export function readScriptResult(output: string): ScriptResult {
  const totals = TOTALS.exec(output);
  const failures = failureBlocks(output);
  const sideNotes = output.match(SIDE_NOTE) ?? [];
  if (!totals) {
    return { status: "fail", details: [`imaptest printed no totals line:\n${output.trim()}`] };
  }
  const failed = Number(totals[2]);
  const skipped = Number(totals[3]);
  if (failed > 0 || failures.length > 0 || sideNotes.length > 0) {
    return { status: "fail", details: [...failures, ...sideNotes] };
  }
  return { status: skipped > 0 ? "skip" : "pass", details: [] };
}
