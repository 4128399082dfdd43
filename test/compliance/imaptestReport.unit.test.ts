import { describe, expect, it } from "vitest";
import { readScriptResult } from "./imaptestReport.ts";

const totals = (failed: number, skipped: number) =>
  `1 test groups: ${failed} failed, ${skipped} skipped due to missing capabilities\n` +
  "base protocol: 0/17 individual commands failed\nextensions: 0/0 individual commands failed\n";

describe("readScriptResult", () => {
  it("passes a script with no failures and no side notes", () => {
    expect(readScriptResult(totals(0, 0))).toEqual({ status: "pass", details: [] });
  });

  it("skips a script the server lacks the capabilities for", () => {
    expect(readScriptResult(totals(0, 1)).status).toBe("skip");
  });

  it("fails a script with a failed command and keeps the block", () => {
    const block =
      "*** Test thread command 1/5 (line 4)\n - failed: Missing 1 untagged replies (1 mismatches)\n" +
      " - Command: thread references us-ascii all";
    const result = readScriptResult(`${block}\n\n${totals(1, 0)}`);
    expect(result).toEqual({ status: "fail", details: [block] });
  });

  it("keeps every line of a block that follows a side note without a blank line", () => {
    const note = "Error: imaptest[1]: BAD reply for command: select x: 1.7 BAD no";
    const block =
      "*** Test atoms command 3/5 (line 12)\n - failed: Expected tagged reply 'no'\n - Command: select x";
    const result = readScriptResult(`${note}\n${block}\n\n${totals(1, 0)}`);
    expect(result.details).toEqual([block, note]);
  });

  it("fails a script whose only trouble is a side note imaptest did not count", () => {
    const note =
      "Error: testuser[63]: Keyword used without being in FLAGS: $hello: * 2 FETCH (FLAGS ($hello))";
    expect(readScriptResult(`${note}\n${totals(0, 0)}`)).toEqual({ status: "fail", details: [note] });
  });

  it("fails a run that ended without its totals line", () => {
    const result = readScriptResult("Fatal: connect(127.0.0.1:1) failed: Connection refused\n");
    expect(result.status).toBe("fail");
    expect(result.details[0]).toContain("no totals line");
  });
});
