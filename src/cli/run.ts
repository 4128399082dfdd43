// Dispatches `mailledger <command> ...` to its subcommand.
import { ConfigError, loadConfig } from "../config.ts";
import { migrateDatabase } from "../events/migrations.ts";
import { CliError, type CliIo } from "./io.ts";

export const USAGE = `usage: mailledger <command> [options]

commands:
  serve [--role all|gateway|projector|relay]   run the server
  migrate                                      apply pending database migrations
  help                                         show this text

Configuration comes from environment variables; see README.md.
`;

export async function runCli(
  argv: string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      io.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    case "migrate": {
      const config = loadConfigOrExplain(env);
      if (!config.databaseUrl) {
        throw new CliError("migrate needs DATABASE_URL (the embedded mode migrates itself at start)");
      }
      const applied = await migrateDatabase(config.databaseUrl);
      io.stdout.write(applied.length === 0 ? "schema is current\n" : `applied: ${applied.join(", ")}\n`);
      return 0;
    }
    case "serve": {
      void rest;
      io.stderr.write(
        "mailledger: the IMAP server is not built yet; `serve` will start it once the gateway lands\n",
      );
      return 1;
    }
    default:
      throw new CliError(`unknown command "${command}"\n\n${USAGE}`, 2);
  }
}

export function loadConfigOrExplain(env: NodeJS.ProcessEnv) {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 78);
    throw error;
  }
}
