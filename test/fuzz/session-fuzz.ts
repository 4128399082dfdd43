// Long fuzz run of the IMAP session: node test/fuzz/session-fuzz.ts [--runs N] [--seed S]
// Prints how many inputs were tried (with a sample every 10%), and every failure found with the
// shrunk input and the seed/path to replay it.
import { parseArgs } from "node:util";
import fc from "fast-check";
import {
  checkSession,
  createFuzzServer,
  describeInput,
  type FuzzInput,
  fuzzInputArb,
} from "../../src/imap-gateway/fuzz/sessionFuzz.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "2000" }, seed: { type: "string" } },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const server = createFuzzServer();
let tried = 0;
const started = Date.now();
const sampleEvery = Math.max(1, Math.floor(runs / 10));

console.log(`session fuzz: ${runs} runs, seed ${seed}`);
const result = await fc.check(
  fc.asyncProperty(fuzzInputArb, async (input: FuzzInput) => {
    tried++;
    if (tried % sampleEvery === 0) {
      console.log(`  tried ${tried}/${runs}, e.g. ${describeInput(input).slice(0, 200)}`);
    }
    await checkSession(server, input);
  }),
  { numRuns: runs, seed },
);
await server.close();
console.log(
  `inputs tried: ${tried} (including shrinking) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
if (result.failed) {
  console.log("failures found: 1");
  console.log(`  counterexample: ${result.counterexample ? describeInput(result.counterexample[0]) : "?"}`);
  console.log(`  error: ${String(result.errorInstance)}`);
  console.log(`  replay: --seed ${result.seed} (fast-check path ${result.counterexamplePath})`);
  process.exitCode = 1;
} else {
  console.log("failures found: 0");
}
