import { describe, expect, it } from "vitest";
import { copyUidCode } from "./copy.ts";

describe("copyUidCode", () => {
  it("compacts both sets when they ascend together", () => {
    expect(copyUidCode(7, [1, 2, 3, 5], [10, 11, 12, 13])).toBe("COPYUID 7 1:3,5 10:13");
    expect(copyUidCode(7, [3, 1], [11, 10])).toBe("COPYUID 7 1,3 10:11");
  });

  it("spells the pairs out when the target order differs", () => {
    expect(copyUidCode(7, [1, 2], [11, 10])).toBe("COPYUID 7 1,2 11,10");
  });
});
