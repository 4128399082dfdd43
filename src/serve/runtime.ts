// The composition root's infrastructure: the three adapters that differ between the embedded
// and the distributed mode (DESIGN.md, Modes) and everything built on them once.
//
//   embedded:    PGlite in DATA_DIR | fan-out by tailing the log in process | in-process notices
//   distributed: PostgreSQL         | Kafka (relay + consumer group)        | Redis pub/sub
import type { Config } from "../config.ts";
import type { BlobStore } from "../events/blobs/blobStore.ts";
import { createDatabasePool, type DatabasePool } from "../events/db.ts";
import { startAutovacuum } from "../events/embedded/autovacuum.ts";
import { type EmbeddedDatabase, openEmbeddedDatabase } from "../events/embedded/embeddedDatabase.ts";
import {
  combineLogWakeups,
  createAppendNotifier,
  createLocalLogWakeup,
  createPgLogWakeup,
  type LogWakeup,
} from "../events/logWakeup.ts";
import { assertSchemaCurrent, migrateDatabase } from "../events/migrations.ts";
import { blobSourceFromStore } from "../projections/bodiesView/storeBlobSource.ts";
import { createMemoryNoticeBus } from "../projections/notices/memoryNoticeBus.ts";
import type { NoticeBus } from "../projections/notices/notice.ts";
import { createRedisNoticeBus } from "../projections/notices/redisNoticeBus.ts";
import { createMailboxQueries, type MailboxQueries } from "../projections/queries/index.ts";
import { blobStoreFor } from "./blobStoreFor.ts";

export interface RuntimeLogger {
  info(message: string): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
}

export interface Runtime {
  config: Config;
  databaseUrl: string;
  pool: DatabasePool;
  blobStore: BlobStore;
  queries: MailboxQueries;
  notices: NoticeBus;
  /** Wakes the log's tailing readers (relay, embedded projector). */
  logWakeup: LogWakeup;
  /** Commands call this after each commit. */
  onCommitted: () => void;
  /**
   * The tailing reader that needs this node's commits is in this process (the active relay
   * when Kafka fans out): commits wake it directly and send no NOTIFY, a round trip per command.
   */
  setLocalReader(isActive: () => boolean): void;
  embedded: EmbeddedDatabase | undefined;
  logger: RuntimeLogger;
  close(): Promise<void>;
}

export interface OpenRuntimeOptions {
  /** Apply pending migrations (always in the embedded mode; `mailledger migrate` otherwise). */
  migrate?: boolean;
  /** The notice bus; default per mode. Tests pass their own. */
  notices?: NoticeBus;
  poolSize?: number;
}

export { blobStoreFor };

export async function openRuntime(
  config: Config,
  logger: RuntimeLogger,
  options: OpenRuntimeOptions = {},
): Promise<Runtime> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) {
      await closer().catch((error) => logger.warn("while closing", error));
    }
  };
  try {
    let embedded: EmbeddedDatabase | undefined;
    let databaseUrl: string;
    if (config.mode === "embedded") {
      embedded = await openEmbeddedDatabase(config.dataDir);
      closers.push(() => embedded!.close());
      databaseUrl = embedded.url;
      if (embedded.owner) await migrateDatabase(databaseUrl);
    } else {
      databaseUrl = config.databaseUrl!;
      if (options.migrate) await migrateDatabase(databaseUrl);
    }
    const pool = await createDatabasePool(databaseUrl, {
      maximumPoolSize: options.poolSize ?? 20,
      preparedStatements: config.mode !== "embedded",
      ...(config.mode === "embedded" ? {} : { statementTimeoutMs: config.pgStatementTimeoutMs }),
    });
    closers.push(() => pool.end());
    await assertSchemaCurrent(pool);
    if (embedded?.owner) {
      // PGlite has no autovacuum launcher: the process that owns the database does its work.
      const autovacuum = startAutovacuum(pool, { onError: (error) => logger.warn("autovacuum", error) });
      closers.push(() => autovacuum.stop());
    }

    const notices =
      options.notices ??
      (config.mode === "embedded"
        ? createMemoryNoticeBus()
        : await createRedisNoticeBus({
            url: config.redisUrl!,
            channel: `${config.redisPrefix}:notices`,
            connectionName: `${config.redisPrefix}:notices`,
            onError: (error) => logger.warn("redis notices", error),
          }));
    closers.push(() => notices.close());

    // Readers in this process are woken directly; in the distributed mode readers elsewhere (the
    // active relay may be on another node) by NOTIFY, unless the one that matters is here.
    const local = createLocalLogWakeup();
    let logWakeup: LogWakeup = local;
    let onCommitted = () => local.wake();
    let localReaderActive = () => false;
    if (config.mode !== "embedded") {
      const listening = createPgLogWakeup(databaseUrl, (error) => logger.warn("log wakeup (LISTEN)", error));
      logWakeup = combineLogWakeups(local, listening);
      const notifier = createAppendNotifier(pool, (error) => logger.warn("log wakeup (NOTIFY)", error));
      onCommitted = () => {
        local.wake();
        if (!localReaderActive()) notifier.notify();
      };
      closers.push(() => notifier.flush());
    }
    closers.push(() => logWakeup.close());

    const blobStore = blobStoreFor(config, pool);
    return {
      config,
      databaseUrl,
      pool,
      blobStore,
      queries: createMailboxQueries(pool, {
        blobs: blobSourceFromStore(blobStore),
        flagsCacheBytes: config.flagsCacheBytes,
      }),
      notices,
      logWakeup,
      onCommitted: () => onCommitted(),
      setLocalReader(isActive) {
        localReaderActive = isActive;
      },
      embedded,
      logger,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
