// Dispatches `mailledger <command> ...` to its subcommand. Each command's modules are imported
// when it runs, so a call loads only what it needs (a `user list` beside a running server answers
// in a fraction of a second; `serve` alone loads the gateway, Kafka and the projections).
import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig } from "../config.ts";
import type { DatabasePool } from "../events/db.ts";
import type { Logger } from "../imap-gateway/logger.ts";
import { CliError, type CliIo } from "./io.ts";

export const USAGE = `usage: mailledger <command> [options]

commands:
  serve [--role all|gateway|relay|projector|notifier|lmtp]
                                               run the server (roles combine: --role relay,projector)
  migrate                                      apply pending database migrations
  user create|delete|list|passwd|appendlimit|quota ...
                                               manage accounts (mailledger user --help)
  mailbox list|create|delete|rename|subscribe|unsubscribe|appendlimit USER ...
                                               a user's mailboxes (mailledger mailbox --help)
  acl get|set|delete USER MAILBOX ...          a mailbox's access control list, RFC 4314
                                               (mailledger acl --help)
  message add|list|dump|flags|copy|move|remove USER MAILBOX ...
                                               a mailbox's messages (mailledger message --help)
  history USER [MAILBOX] [--since T] [--until T] [--at T] [--json]
                                               audit trail; a mailbox as it was at T
  import maildir|mbox USER PATH [--mailbox NAME]
                                               append a Maildir's or an mbox file's messages
  export mbox|maildir USER ...                 a mailbox as an mboxrd file, or the mailboxes as a
                                               Maildir++ tree (Dovecot's layout)
  blobs gc [--grace-seconds N]                 remove bodies no message refers to any more
  projections status|rebuild|verify ...        projection versions, positions, blue/green rebuild,
                                               verification against the log
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
  const wantsUsage = rest.length === 0 || rest[0] === "--help" || rest[0] === "-h";
  const usage = (text: string) => {
    io.stdout.write(`${text}\n`);
    return rest.length === 0 ? 2 : 0;
  };
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
      const { migrateDatabase } = await import("../events/migrations.ts");
      const applied = await migrateDatabase(config.databaseUrl);
      io.stdout.write(applied.length === 0 ? "schema is current\n" : `applied: ${applied.join(", ")}\n`);
      return 0;
    }
    case "serve":
      return serve(rest, io, env);
    case "user": {
      const { runUserCommand, USER_USAGE } = await import("./user.ts");
      if (wantsUsage) return usage(USER_USAGE);
      const config = loadConfigOrExplain(env);
      return onDatabase(config, (pool) => runUserCommand(rest, { pool, ...io }));
    }
    case "mailbox":
    case "acl":
    case "message":
    case "history":
    case "import":
    case "export":
    case "blobs": {
      const [usageText, runAdminCommand] = await adminCommand(command);
      if (wantsUsage) return usage(usageText);
      const config = loadConfigOrExplain(env);
      const { adminBlobStoreFor } = await import("../serve/blobStoreFor.ts");
      return onDatabase(config, (pool) =>
        runAdminCommand(rest, {
          pool,
          blobStore: adminBlobStoreFor(config, pool),
          appendLimit: config.appendLimit ?? null,
          ...io,
        }),
      );
    }
    case "projections": {
      const config = loadConfigOrExplain(env);
      const [{ runProjectionsCommand }, { adminBlobStoreFor }, { blobSourceFromStore }] = await Promise.all([
        import("./projections.ts"),
        import("../serve/blobStoreFor.ts"),
        import("../projections/bodiesView/storeBlobSource.ts"),
      ]);
      return onDatabase(config, (pool) =>
        runProjectionsCommand(rest, {
          pool,
          blobs: blobSourceFromStore(adminBlobStoreFor(config, pool)),
          ...io,
        }),
      );
    }
    case "replay": {
      const { REPLAY_USAGE, runReplayCommand } = await import("./replay.ts");
      if (wantsUsage) return usage(REPLAY_USAGE);
      const config = loadConfigOrExplain(env);
      return onDatabase(config, (pool) =>
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

type AdminCommand = "mailbox" | "acl" | "message" | "history" | "import" | "export" | "blobs";
type AdminRunner = (
  argv: string[],
  context: {
    pool: DatabasePool;
    blobStore: import("../events/blobs/blobStore.ts").BlobStore;
    appendLimit: number | null;
  } & CliIo,
) => Promise<number>;

/** The usage and the runner of an admin command, importing only its module. */
async function adminCommand(command: AdminCommand): Promise<readonly [string, AdminRunner]> {
  switch (command) {
    case "mailbox": {
      const module = await import("./mailbox.ts");
      return [module.MAILBOX_USAGE, module.runMailboxCommand];
    }
    case "acl": {
      const module = await import("./acl.ts");
      return [module.ACL_USAGE, module.runAclCommand];
    }
    case "message": {
      const module = await import("./message.ts");
      return [module.MESSAGE_USAGE, module.runMessageCommand];
    }
    case "history": {
      const module = await import("./history.ts");
      return [module.HISTORY_USAGE, module.runHistoryCommand];
    }
    case "import": {
      const module = await import("./importMail.ts");
      return [module.IMPORT_USAGE, module.runImportCommand];
    }
    case "export": {
      const module = await import("./exportMbox.ts");
      return [module.EXPORT_USAGE, module.runExportCommand];
    }
    case "blobs": {
      const module = await import("./blobs.ts");
      return [module.BLOBS_USAGE, module.runBlobsCommand];
    }
  }
}

async function onDatabase<T>(config: Config, work: (pool: DatabasePool) => Promise<T>): Promise<T> {
  const { withDatabase } = await import("./database.ts");
  return withDatabase(config, work);
}

export function loadConfigOrExplain(env: NodeJS.ProcessEnv) {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 78);
    throw error;
  }
}

/** How long a stopping node waits for its roles to close before it exits anyway. */
export const SHUTDOWN_TIMEOUT_MS = 15_000;

async function serve(argv: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  let roleText: string | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: { role: { type: "string" } }, strict: true });
    roleText = values.role;
  } catch (error) {
    throw new CliError(`serve: ${(error as Error).message}`, 2);
  }
  const config = loadConfigOrExplain(env);
  const [{ assertDistributedServices }, { parseRoles, startNode }, operations] = await Promise.all([
    import("../config.ts"),
    import("../serve/serve.ts"),
    import("../serve/operations.ts"),
  ]);
  let roles: ReturnType<typeof parseRoles>;
  try {
    roles = parseRoles(roleText);
    assertDistributedServices(config);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 78);
    throw error;
  }
  const logger = operations.createLogger(config.logLevel, {
    base: { nodeId: config.nodeId },
    ...(io.stderr === process.stderr ? {} : { write: (line: string) => io.stderr.write(line) }),
  });
  installProcessGuards(logger);
  // A signal while the roles start stops the node once they have started.
  let stopRequested: string | undefined;
  let requestStop = (signal: string) => {
    stopRequested = signal;
  };
  const onSignal = (signal: string) => requestStop(signal);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const node = await startNode(config, logger, { roles });
    const extras: (() => Promise<void> | void)[] = [];
    if (node.gateway) extras.push(operations.installWireLogToggle(node.gateway.server, logger));
    if (config.metricsPort !== undefined) {
      const server = await operations.startOperationsServer(config.imapHost, config.metricsPort, () =>
        node.readiness(),
      );
      extras.push(() => server.close());
      logger.info(
        `operations endpoint on http://${config.imapHost}:${server.port}: /metrics, /healthz, /readyz`,
      );
    }
    logger.info(
      `mailledger: serving (${config.mode} mode${config.mode === "embedded" ? `, data in ${config.dataDir}` : ""}, roles: ${config.mode === "embedded" ? "all" : roles.join(", ")})`,
    );
    const signal = await new Promise<string>((resolve) => {
      if (stopRequested !== undefined) resolve(stopRequested);
      else requestStop = resolve;
    });
    const started = performance.now();
    logger.info(
      `mailledger: ${signal}: draining (no new connections; BYE to every session; roles commit their positions)`,
    );
    const stopped = await Promise.race([
      node.drain().then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), SHUTDOWN_TIMEOUT_MS).unref()),
    ]);
    for (const extra of extras) await extra();
    if (!stopped) {
      logger.error(`mailledger: roles did not stop within ${SHUTDOWN_TIMEOUT_MS} ms; exiting anyway`);
      return 1;
    }
    logger.info(`mailledger: stopped in ${Math.round(performance.now() - started)} ms`);
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * A node keeps serving other sessions whatever one of them hits (DESIGN.md contract 7): a stray
 * rejection is logged as a bug, not a crash. Process warnings go to the log; kafkajs 2.2.4 emits a
 * harmless TimeoutNegativeWarning on Node 24 that is only noise there.
 */
function installProcessGuards(logger: Logger): void {
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
