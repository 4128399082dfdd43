import { describe, expect, it } from "vitest";
import { asciiCasemapKey, baseSubject } from "./sortKeys.ts";

describe("baseSubject (RFC 5256 2.1)", () => {
  it.each([
    ["Re: hello", "hello"],
    ["RE:Re: FWD: fw: hello", "hello"],
    ["Re [2]: hello", "hello"],
    ["[PATCH] Re: hello", "hello"],
    ["[PATCH] hello", "hello"],
    ["[list] [PATCH v2] hello world", "hello world"],
    ["[PATCH]", "[PATCH]"],
    ["hello (fwd)", "hello"],
    ["hello (FWD)  (fwd) ", "hello"],
    ["Re: [fwd: hello]", "hello"],
    ["[Fwd: Re: [list] hello (fwd)]", "hello"],
    ["  hello\tthere  ", "hello there"],
    ["re", "re"],
    ["Re: ", ""],
    ["Reply: hello", "Reply: hello"],
    ["=?utf-8?q?Re=3A_Caf=C3=A9?=", "Café"],
    ["", ""],
  ])("%j → %j", (raw, base) => {
    expect(baseSubject(raw)).toBe(base);
  });
});

describe("baseSubject on hostile subjects", () => {
  it("looks at the first 1,024 characters only, so a mailed million markers cannot stall it", () => {
    // 341 whole "[x]" and the "[" of the next fit in 1,024: the "y" at the end is never seen.
    expect(baseSubject(`${"[x]".repeat(300_000)}y`)).toBe("[");
    expect(baseSubject(`${"Re: ".repeat(300_000)}x`)).toBe("");
    expect(baseSubject(`${"a".repeat(2_000)}`)).toHaveLength(1_024);
  });
});

describe("asciiCasemapKey (i;ascii-casemap)", () => {
  it("folds ASCII letters only, then orders by UTF-8 octets", () => {
    const sorted = ["b", "_", "A", "é", "a"].sort((x, y) =>
      Buffer.compare(asciiCasemapKey(x), asciiCasemapKey(y)),
    );
    // A and a tie (stable sort keeps their order); "_" (0x5F) sorts after the upper-cased letters.
    expect(sorted).toEqual(["A", "a", "b", "_", "é"]);
  });
});
