import { describe, expect, it } from "vitest";
import { humanSize } from "./humanSize.ts";

describe("humanSize", () => {
  it("reads as a person says it: octets, then KiB, MiB, GiB", () => {
    expect(humanSize(0)).toBe("0 B");
    expect(humanSize(1023)).toBe("1023 B");
    expect(humanSize(1453)).toBe("1.4 KiB");
    expect(humanSize(524_288_000)).toBe("500 MiB");
    expect(humanSize(2 * 1024 ** 3)).toBe("2 GiB");
    expect(humanSize(10 * 1024 + 512)).toBe("11 KiB");
    expect(humanSize(1024 * 1024 - 1)).toBe("1 MiB");
  });
});
