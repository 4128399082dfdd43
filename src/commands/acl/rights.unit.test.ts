import { describe, expect, it } from "vitest";
import { applyRightsChange, hasRights, parseRights, parseRightsChange } from "./rights.ts";

describe("RFC 4314 rights", () => {
  it("are kept in canonical order, once each, the RFC 2086 c and d as what replaced them", () => {
    expect(parseRights("rl")).toBe("lr");
    expect(parseRights("llrr")).toBe("lr");
    expect(parseRights("c")).toBe("kx");
    expect(parseRights("d")).toBe("te");
    expect(parseRights("")).toBe("");
    expect(parseRights("lrswipkxtecda")).toBe("lrswipkxtea");
  });

  it("refuse a letter no RFC defines, and upper case", () => {
    expect(() => parseRights("lrz")).toThrow(/"z" is not a right/);
    expect(() => parseRights("L")).toThrow(/"L" is not a right/);
    expect(() => parseRights("+l")).toThrow(/"\+" is not a right/);
  });

  it("change by replacing, adding (+) and removing (-)", () => {
    expect(parseRightsChange("+ws")).toEqual({ mode: "add", rights: "sw" });
    expect(parseRightsChange("-d")).toEqual({ mode: "remove", rights: "te" });
    expect(applyRightsChange("lr", parseRightsChange("+ws"))).toBe("lrsw");
    expect(applyRightsChange("lrte", parseRightsChange("-d"))).toBe("lr");
    expect(applyRightsChange("lrte", parseRightsChange("i"))).toBe("i");
    expect(hasRights("lrs", "rs")).toBe(true);
    expect(hasRights("lrs", "w")).toBe(false);
  });
});
