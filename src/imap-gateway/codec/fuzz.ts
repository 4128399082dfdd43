// Long fuzz run of the reader and parser: node src/imap-gateway/codec/fuzz.ts --runs 100000 [--seed N]
// Prints how many inputs were tried and every failure found (input in hex, the broken invariants).

import fc from "fast-check";
import { checkWireInput, cutsArb, wireInputArb } from "./fuzzing.ts";
import { decodeMailboxName, encodeMailboxName } from "./mutf7.ts";

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index === -1 ? undefined : Number(process.argv[index + 1]);
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} needs a non-negative integer`);
    process.exit(2);
  }
  return value;
}

const runs = option("runs", 10_000);
const seed = option("seed", Date.now() % 2 ** 31);
const maxFailures = option("max-failures", 20);

let tried = 0;
const failures: Array<{ input: string; violations: string[] }> = [];
const started = Date.now();

const wireSamples = fc.sample(fc.tuple(wireInputArb, cutsArb), { numRuns: runs, seed });
for (const [input, cuts] of wireSamples) {
  tried++;
  const violations = checkWireInput(input, cuts);
  if (violations.length > 0 && failures.length < maxFailures) {
    failures.push({ input: input.toString("hex"), violations: [...new Set(violations)] });
  }
  if (tried % 10_000 === 0) console.log(`${tried} inputs, ${failures.length} failures`);
}

// Modified UTF-7: arbitrary text must round-trip; arbitrary ASCII must decode or be refused, never throw.
const names = fc.sample(fc.string({ unit: "binary", maxLength: 40 }), {
  numRuns: Math.ceil(runs / 10),
  seed,
});
for (const name of names) {
  tried++;
  const decoded = decodeMailboxName(encodeMailboxName(name));
  if (!decoded.ok || decoded.name !== name)
    failures.push({ input: JSON.stringify(name), violations: ["mUTF-7 round trip"] });
}
const encodedNames = fc.sample(fc.string({ unit: fc.constantFrom(..."&-+,AZaz09/ÿ\u0000"), maxLength: 24 }), {
  numRuns: Math.ceil(runs / 10),
  seed,
});
for (const encoded of encodedNames) {
  tried++;
  try {
    const decoded = decodeMailboxName(encoded);
    // A name that decodes must be in its only (canonical) spelling.
    if (decoded.ok && encodeMailboxName(decoded.name) !== encoded) {
      failures.push({
        input: JSON.stringify(encoded),
        violations: ["mUTF-7 accepted a non-canonical spelling"],
      });
    }
  } catch (error) {
    failures.push({ input: JSON.stringify(encoded), violations: [`mUTF-7 threw ${String(error)}`] });
  }
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`seed ${seed}: ${tried} inputs tried in ${seconds}s, ${failures.length} failures`);
for (const failure of failures) console.log(`FAIL ${failure.input}\n  ${failure.violations.join("\n  ")}`);
process.exitCode = failures.length > 0 ? 1 : 0;
