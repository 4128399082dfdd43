import { describe, expect, it } from "vitest";
import { applyFlagOperation, canonicalFlags } from "./flags.ts";

describe("flags", () => {
  it("canonicalizes system flags, dedupes case-insensitively, drops \\Recent, sorts", () => {
    expect(canonicalFlags(["\\SEEN", "$Label1", "$label1", "\\recent", "\\draft"])).toEqual([
      "$Label1",
      "\\Draft",
      "\\Seen",
    ]);
  });

  it("applies add, remove and replace", () => {
    expect(applyFlagOperation(["\\Seen"], "add", ["\\Flagged"])).toEqual(["\\Flagged", "\\Seen"]);
    expect(applyFlagOperation(["\\Flagged", "\\Seen"], "remove", ["\\SEEN"])).toEqual(["\\Flagged"]);
    expect(applyFlagOperation(["\\Seen"], "replace", [])).toEqual([]);
  });
});
