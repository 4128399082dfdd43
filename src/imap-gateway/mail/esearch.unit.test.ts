import { describe, expect, it } from "vitest";
import { encodeOrderedSet, esearchLine, resultWindow, returnedResults } from "./esearch.ts";

const first = (a: number, b: number) => ({ first: a, last: b, fromEnd: false });
const last = (a: number, b: number) => ({ first: a, last: b, fromEnd: true });

describe("resultWindow (RFC 9394 partial-range)", () => {
  const results = [10, 20, 30, 40, 50];
  it("counts from the first result, or from the last with -n:-m", () => {
    expect(resultWindow(results, first(2, 4))).toEqual([20, 30, 40]);
    expect(resultWindow(results, first(4, 9))).toEqual([40, 50]);
    expect(resultWindow(results, first(6, 6))).toEqual([]);
    expect(resultWindow(results, last(1, 2))).toEqual([40, 50]);
    expect(resultWindow(results, last(2, 9))).toEqual([10, 20, 30, 40]);
    expect(resultWindow(results, last(6, 8))).toEqual([]);
  });
});

describe("encodeOrderedSet", () => {
  it("keeps the order, joining runs that go up by one", () => {
    expect(encodeOrderedSet([1, 2, 3, 5])).toBe("1:3,5");
    expect(encodeOrderedSet([5, 3, 4, 2, 1])).toBe("5,3:4,2,1");
    expect(encodeOrderedSet([])).toBe("");
  });
});

describe("esearchLine", () => {
  const line = (
    results: number[],
    returnOptions: ("MIN" | "MAX" | "ALL" | "COUNT")[],
    partial?: ReturnType<typeof first>,
  ) => esearchLine({ tag: "t", uid: false, results, returnOptions, partial });

  it("answers RETURN () with ALL, and each option asked, in RFC 4731's order", () => {
    expect(line([1, 2, 3], [])).toBe('ESEARCH (TAG "t") ALL 1:3');
    expect(line([3, 1, 2], ["COUNT", "MAX", "MIN"])).toBe('ESEARCH (TAG "t") MIN 3 MAX 2 COUNT 3');
    expect(line([], ["MIN", "ALL", "COUNT"])).toBe('ESEARCH (TAG "t") COUNT 0');
  });

  it("answers PARTIAL with the range asked and the page, NIL when it is empty", () => {
    expect(line([1, 2, 4, 5], [], first(2, 10))).toBe('ESEARCH (TAG "t") PARTIAL (2:10 2,4:5)');
    expect(line([1, 2], ["COUNT"], last(5, 3))).toBe('ESEARCH (TAG "t") PARTIAL (-5:-3 NIL) COUNT 2');
  });
});

describe("returnedResults", () => {
  it("is every result with ALL, COUNT or nothing else asked; else what MIN, MAX and PARTIAL name", () => {
    expect(returnedResults([1, 2, 3, 4], ["SAVE"], undefined)).toEqual([1, 2, 3, 4]);
    expect(returnedResults([1, 2, 3, 4], ["MIN", "COUNT"], undefined)).toEqual([1, 2, 3, 4]);
    expect(returnedResults([1, 2, 3, 4], ["MIN", "MAX"], undefined)).toEqual([1, 4]);
    expect(returnedResults([1, 2, 3, 4], ["MIN"], first(2, 3))).toEqual([1, 2, 3]);
    expect(returnedResults([], ["MAX"], undefined)).toEqual([]);
  });
});
