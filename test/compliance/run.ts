// `npm run test:compliance [-- [--against mailledger|dovecot] [--verbose] [SCRIPT...]]`
// Runs Dovecot's imaptest compliance scripts, one imaptest run per script so each gets its own
// verdict, against mailledger's embedded server (default) or a reference Dovecot. Prints one line
// per script and a totals line; exits 1 if any script failed.
import path from "node:path";
import { parseArgs } from "node:util";
import { ensureImaptest, listScripts, runScript, SCRIPT_CORRECTIONS } from "./imaptest.ts";
import type { ScriptResult } from "./imaptestReport.ts";
import { type RunningServer, startMailledger, startReferenceDovecot } from "./servers.ts";

const repositoryRoot = path.resolve(import.meta.dirname, "../..");
// One failure block can quote a whole message body; a line this long is enough to see why.
const DETAIL_LINE_LIMIT = 240;
const DETAIL_LINES_PER_SCRIPT = 40;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    against: { type: "string", default: "mailledger" },
    verbose: { type: "boolean", short: "v", default: false },
  },
});
if (values.against !== "mailledger" && values.against !== "dovecot") {
  process.stderr.write(`--against must be mailledger or dovecot, not ${values.against}\n`);
  process.exit(2);
}

/** Failures always say why; in full with --verbose, else cut to a screenful. */
function printDetails(result: ScriptResult, full: boolean): void {
  const lines = result.details.flatMap((detail) => detail.split("\n"));
  const limit = full ? lines.length : DETAIL_LINES_PER_SCRIPT;
  for (const line of lines.slice(0, limit)) {
    const cut = !full && line.length > DETAIL_LINE_LIMIT;
    process.stdout.write(`        ${cut ? `${line.slice(0, DETAIL_LINE_LIMIT)}...` : line}\n`);
  }
  if (lines.length > limit) process.stdout.write(`        ... ${lines.length - limit} more lines\n`);
}

async function main(): Promise<number> {
  const started = performance.now();
  const imaptest = ensureImaptest(repositoryRoot);
  const all = listScripts(imaptest.testsDir);
  const unknown = positionals.filter((name) => !all.includes(name));
  if (unknown.length > 0) throw new Error(`no such imaptest script: ${unknown.join(", ")}`);
  const scripts = positionals.length > 0 ? positionals : all;

  let server: RunningServer;
  if (values.against === "dovecot") server = await startReferenceDovecot();
  else server = await startMailledger(repositoryRoot);
  const counts = { pass: 0, fail: 0, skip: 0 };
  try {
    for (const script of scripts) {
      const scriptStarted = performance.now();
      const result = await runScript(imaptest, server.target, script);
      counts[result.status]++;
      const seconds = ((performance.now() - scriptStarted) / 1000).toFixed(2);
      const corrected = SCRIPT_CORRECTIONS[script];
      const note = corrected === undefined ? "" : `  (corrected copy: ${corrected.why})`;
      process.stdout.write(`${result.status.padEnd(5)} ${script.padEnd(34)} ${seconds}s${note}\n`);
      if (result.status === "fail") printDetails(result, values.verbose);
    }
  } finally {
    await server.stop();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `imaptest compliance against ${values.against}: ${scripts.length} scripts, ${counts.pass} passed, ` +
      `${counts.fail} failed, ${counts.skip} skipped (${seconds}s)\n`,
  );
  return counts.fail > 0 ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`test:compliance: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
