import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkWireInput, cutsArb, runWireInput, SEED_COMMANDS, wireInputArb } from "./fuzzing.ts";

describe("reader and parser under hostile input", () => {
  it("read every seed command without errors", () => {
    for (const seed of SEED_COMMANDS) {
      const { violations, transcript } = runWireInput(Buffer.from(seed, "latin1"), [], false);
      expect(violations).toEqual([]);
      expect(
        transcript.filter((line) => line.startsWith("bad") || line.startsWith("error")),
        seed,
      ).toEqual(
        seed.startsWith("c1") ? ["bad missing command name"] : [], // the DONE line is not a command
      );
    }
  });

  it("never throw, only answer values, stay bounded, and frame alike however the bytes are chunked", () => {
    fc.assert(
      fc.property(wireInputArb, cutsArb, (input, cuts) => {
        expect(checkWireInput(input, cuts)).toEqual([]);
      }),
      { numRuns: 1500 },
    );
  });
});
