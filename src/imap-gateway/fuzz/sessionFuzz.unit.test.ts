import fc from "fast-check";
import { afterAll, expect, it } from "vitest";
import { imapServerBugs, metricValue } from "../metrics.ts";
import { checkSession, createFuzzServer, fuzzInputArb } from "./sessionFuzz.ts";

const server = createFuzzServer();

afterAll(async () => {
  await server.close();
});

it("random and mutated command lines never crash a session or disturb others", async () => {
  await fc.assert(
    fc.asyncProperty(fuzzInputArb, (input) => checkSession(server, input)),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 150) },
  );
  expect(await metricValue(imapServerBugs)).toBe(0);
  // Every session was closed: nothing is left holding memory. (A closed socket's session goes a
  // moment later; under a loaded machine more than 50 ms later, so wait for it, up to 5 s.)
  const deadline = Date.now() + 5_000;
  while (server.sessions().length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(server.sessions()).toHaveLength(0);
}, 120_000);

it("answers pre-auth garbage with BYE and known-bad commands with BAD", async () => {
  const input = (line: string, authenticated = false) => ({
    authenticated,
    lines: [Buffer.from(line, "latin1")],
    terminated: true,
    splits: [],
  });
  await checkSession(server, input("GET / HTTP/1.1"));
  await checkSession(server, input("a1 FETCH ((((((((((((((((((((((((((((((((((((((((", true));
  await checkSession(server, input("a1 LOGIN {99999999999999999999}"));
});
