// `mailledger <command>`: the server and the operator's tools in one executable (DESIGN.md, Command line).
import { CliError, processIo } from "./cli/io.ts";
import { runCli } from "./cli/run.ts";

try {
  process.exitCode = await runCli(process.argv.slice(2), processIo);
} catch (error) {
  if (error instanceof CliError) {
    process.stderr.write(`mailledger: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`mailledger: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
