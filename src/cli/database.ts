// The database an admin command works on: DATABASE_URL, or the embedded PGlite in DATA_DIR
// (joined through its socket when a server has it open).
import type { Config } from "../config.ts";
import { createDatabasePool, type DatabasePool } from "../events/db.ts";
import { openEmbeddedDatabase } from "../events/embedded/embeddedDatabase.ts";
import { assertSchemaCurrent, migrateDatabase, SchemaVersionError } from "../events/migrations.ts";
import { awaitProjectedSince, logHead } from "../projections/catchUp.ts";
import { CliError } from "./io.ts";

/** How long an admin command waits for IMAP clients to see its change before it returns. */
const VISIBILITY_TIMEOUT_MS = 15_000;
/** A projection that applies nothing at all this long has no projector: the command returns. */
const STALL_MS = 3_000;

/**
 * Runs `work` on the database. When a projector may be running (a server has the embedded
 * database open, or the distributed mode), it then waits until the projection shows what `work`
 * wrote, so an IMAP client that starts after the command sees it (DESIGN.md contract 2); a wait
 * that times out is reported on `warn`, the change itself being committed.
 */
export async function withDatabase<T>(
  config: Config,
  work: (pool: DatabasePool, url: string) => Promise<T>,
  warn: (message: string) => void = (message) => process.stderr.write(`mailledger: ${message}\n`),
): Promise<T> {
  const embedded = config.mode === "embedded" ? await openEmbeddedDatabase(config.dataDir) : undefined;
  try {
    const url = embedded?.url ?? config.databaseUrl!;
    if (embedded?.owner) await migrateDatabase(url);
    const pool = await createDatabasePool(url, {
      maximumPoolSize: 4,
      preparedStatements: embedded === undefined,
    });
    try {
      await assertSchemaCurrent(pool);
      const projectorMayRun = embedded === undefined || !embedded.owner;
      const before = projectorMayRun ? await logHead(pool) : 0;
      const result = await work(pool, url);
      const outcome = projectorMayRun
        ? await awaitProjectedSince(pool, before, VISIBILITY_TIMEOUT_MS, { stallMs: STALL_MS })
        : "applied";
      if (outcome === "stalled") {
        warn(
          `the change is committed; no projector has applied anything for ${STALL_MS / 1000} s (is one running?): IMAP clients see it once one runs`,
        );
      } else if (outcome === "timeout") {
        warn(
          `the change is committed, but IMAP clients do not see it yet: the projector has not applied it within ${VISIBILITY_TIMEOUT_MS / 1000} s`,
        );
      }
      return result;
    } catch (error) {
      if (error instanceof SchemaVersionError) throw new CliError(error.message, 1);
      throw error;
    } finally {
      await pool.end();
    }
  } finally {
    await embedded?.close();
  }
}
