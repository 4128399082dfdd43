// Dispatches `mailledger <command> ...` to its subcommand.
import { parseArgs } from "node:util";
import { assertDistributedServices, ConfigError, loadConfig } from "../config.ts";
import { migrateDatabase } from "../events/migrations.ts";
import { MetricsRegistry } from "../imap-gateway/metrics.ts";
import { blobSourceFromStore } from "../projections/bodiesView/storeBlobSource.ts";
import { createLogger, installWireLogToggle, startMetricsServer } from "../serve/operations.ts";
import { blobStoreFor } from "../serve/runtime.ts";
import { parseRoles, startNode } from "../serve/serve.ts";
import { BLOBS_USAGE, runBlobsCommand } from "./blobs.ts";
import { withDatabase } from "./database.ts";
import { EXPORT_USAGE, runExportCommand } from "./exportMbox.ts";
import { HISTORY_USAGE, runHistoryCommand } from "./history.ts";
import { IMPORT_USAGE, runImportCommand } from "./importMail.ts";
import { CliError, type CliIo } from "./io.ts";
import { MAILBOX_USAGE, runMailboxCommand } from "./mailbox.ts";
import { MESSAGE_USAGE, runMessageCommand } from "./message.ts";
import { runProjectionsCommand } from "./projections.ts";
import { REPLAY_USAGE, runReplayCommand } from "./replay.ts";
import { runUserCommand, USER_USAGE } from "./user.ts";

export const USAGE = `usage: mailledger <command> [options]

commands:
  serve [--role all|gateway|projector|relay|notifier|lmtp]   run the server
  migrate                                      apply pending database migrations
  user create|delete|list|passwd|appendlimit   manage accounts (mailledger user --help)
  mailbox list|create|delete|rename|subscribe|unsubscribe|appendlimit USER ...
                                               a user's mailboxes (mailledger mailbox --help)
  message add|list|dump|flags|copy|move|remove USER MAILBOX ...
                                               a mailbox's messages (mailledger message --help)
  history USER [MAILBOX] [--since T] [--until T] [--at T] [--json]
                                               audit trail; a mailbox as it was at T
  import maildir|mbox USER PATH [--mailbox NAME]
                                               append a Maildir's or an mbox file's messages
  export mbox USER MAILBOX FILE|-              a mailbox's messages as an mboxrd file
  blobs gc [--grace-seconds N]                 remove bodies no message refers to any more
  projections status|rebuild NAME              projection versions, positions, blue/green rebuild
  replay --from-position N [--to-position M] [--to stdout|kafka]
                                               the log's events again, as the relay publishes them
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
    case "serve":
      return serve(rest, io, env);
    case "user": {
      if (rest.length === 0 || rest[0] === "--help" || rest[0] === "-h") {
        io.stdout.write(`${USER_USAGE}\n`);
        return rest.length === 0 ? 2 : 0;
      }
      const config = loadConfigOrExplain(env);
      return withDatabase(config, (pool) => runUserCommand(rest, { pool, ...io }));
    }
    case "mailbox":
    case "message":
    case "history":
    case "import":
    case "export":
    case "blobs": {
      const [usage, runAdminCommand] = {
        mailbox: [MAILBOX_USAGE, runMailboxCommand] as const,
        message: [MESSAGE_USAGE, runMessageCommand] as const,
        history: [HISTORY_USAGE, runHistoryCommand] as const,
        import: [IMPORT_USAGE, runImportCommand] as const,
        export: [EXPORT_USAGE, runExportCommand] as const,
        blobs: [BLOBS_USAGE, runBlobsCommand] as const,
      }[command];
      if (rest.length === 0 || rest[0] === "--help" || rest[0] === "-h") {
        io.stdout.write(`${usage}\n`);
        return rest.length === 0 ? 2 : 0;
      }
      const config = loadConfigOrExplain(env);
      return withDatabase(config, (pool) =>
        runAdminCommand(rest, {
          pool,
          blobStore: blobStoreFor(config, pool),
          appendLimit: config.appendLimit ?? null,
          ...io,
        }),
      );
    }
    case "projections": {
      const config = loadConfigOrExplain(env);
      return withDatabase(config, (pool) =>
        runProjectionsCommand(rest, { pool, blobs: blobSourceFromStore(blobStoreFor(config, pool)), ...io }),
      );
    }
    case "replay": {
      if (rest.length === 0 || rest[0] === "--help" || rest[0] === "-h") {
        io.stdout.write(`${REPLAY_USAGE}\n`);
        return rest.length === 0 ? 2 : 0;
      }
      const config = loadConfigOrExplain(env);
      return withDatabase(config, (pool) =>
        runReplayCommand(rest, {
          pool,
          kafkaBrokers: config.kafkaBrokers,
          kafkaTopic: config.kafkaTopic,
          ...io,
        }),
      );
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

async function serve(argv: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  let roleText: string | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: { role: { type: "string" } }, strict: true });
    roleText = values.role;
  } catch (error) {
    throw new CliError(`serve: ${(error as Error).message}`, 2);
  }
  const config = loadConfigOrExplain(env);
  let roles: ReturnType<typeof parseRoles>;
  try {
    roles = parseRoles(roleText);
    assertDistributedServices(config);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 78);
    throw error;
  }
  const logger = createLogger(config.logLevel, (line) => io.stderr.write(line));
  installProcessGuards(logger);
  const node = await startNode(config, logger, { roles });
  const extras: (() => Promise<void> | void)[] = [];
  if (node.gateway) extras.push(installWireLogToggle(node.gateway.server, logger));
  if (config.metricsPort !== undefined) {
    const metrics = await startMetricsServer(
      config.imapHost,
      config.metricsPort,
      node.gateway?.services.metrics ?? new MetricsRegistry(),
    );
    extras.push(() => metrics.close());
    io.stderr.write(`mailledger: metrics on http://${config.imapHost}:${metrics.port}/metrics\n`);
  }
  io.stderr.write(
    `mailledger: serving (${config.mode} mode${config.mode === "embedded" ? `, data in ${config.dataDir}` : ""}, roles: ${config.mode === "embedded" ? "all" : roles.join(", ")})\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  io.stderr.write("mailledger: shutting down\n");
  for (const extra of extras) await extra();
  await node.close();
  return 0;
}

/**
 * A node keeps serving other sessions whatever one of them hits (DESIGN.md contract 7): a stray
 * rejection is logged as a bug, not a crash. Process warnings go to the log; kafkajs 2.2.4 emits a
 * harmless TimeoutNegativeWarning on Node 24 that is only noise there.
 */
function installProcessGuards(logger: ReturnType<typeof createLogger>): void {
  process.on("unhandledRejection", (reason) => {
    logger.error("unhandled rejection (a bug; the node keeps serving)", {
      error: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason),
    });
  });
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    if (warning.name === "TimeoutNegativeWarning") return;
    logger.warn(`${warning.name}: ${warning.message}`);
  });
}
