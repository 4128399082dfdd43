import { describe, expect, it } from "vitest";
import { flagsItem, flagsItemFromText, flagUpdateLine } from "./flagUpdate.ts";

describe("the one FLAGS writer", () => {
  it("adds \\Recent only for a message recent to this session, from a list or from joined text", () => {
    expect(flagsItem(["\\Seen"], false)).toBe("FLAGS (\\Seen)");
    expect(flagsItem(["\\Seen"], true)).toBe("FLAGS (\\Seen \\Recent)");
    expect(flagsItem([], true)).toBe("FLAGS (\\Recent)");
    expect(flagsItemFromText("\\Seen $Work", true)).toBe("FLAGS (\\Seen $Work \\Recent)");
    expect(flagsItemFromText("", true)).toBe(flagsItem([], true));
    expect(flagsItemFromText("", false)).toBe("FLAGS ()");
  });

  it("writes UID, FLAGS and MODSEQ in that order, each when asked", () => {
    const update = { uid: 42, flags: ["\\Flagged"], recent: false, modSeq: 9 };
    expect(flagUpdateLine(3, update, { uid: true, flags: true, modSeq: true })).toBe(
      "3 FETCH (UID 42 FLAGS (\\Flagged) MODSEQ (9))",
    );
    expect(flagUpdateLine(3, update, { uid: false, flags: true, modSeq: false })).toBe(
      "3 FETCH (FLAGS (\\Flagged))",
    );
    // STORE .SILENT under CONDSTORE still reports the new MODSEQ (RFC 7162 3.1.3).
    expect(flagUpdateLine(3, update, { uid: false, flags: false, modSeq: true })).toBe(
      "3 FETCH (MODSEQ (9))",
    );
  });
});
