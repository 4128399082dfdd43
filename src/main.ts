// `mailledger <command>`: the server and the operator's tools in one executable (DESIGN.md, Command line).
import module from "node:module";

// Node keeps the compiled (and type-stripped) modules in its compile cache (os.tmpdir(), or
// NODE_COMPILE_CACHE): a CLI call after the first loads its modules without compiling them again.
// It must be on before the modules load, hence the dynamic imports below.
module.enableCompileCache?.();
const [{ CliError, processIo }, { runCli }] = await Promise.all([
  import("./cli/io.ts"),
  import("./cli/run.ts"),
]);

/**
 * After a command returns, whatever still holds the event loop (a client library's timer, a socket
 * a role did not close) must not keep the process: it exits with the command's code this much later.
 */
const EXIT_GRACE_MS = 2_000;

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
setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
