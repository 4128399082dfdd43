// The database an admin command works on: DATABASE_URL, or the embedded PGlite in DATA_DIR
// (joined through its socket when a server has it open). A command's change is in the mailbox
// index once it returns, so IMAP clients see it at once (DESIGN.md contract 2): nothing to wait for.
import type { Config } from "../config.ts";
import { createDatabasePool, type DatabasePool } from "../events/db.ts";
import { openEmbeddedDatabase } from "../events/embedded/embeddedDatabase.ts";
import { createAppendNotifier } from "../events/logWakeup.ts";
import { assertSchemaCurrent, migrateDatabase, SchemaVersionError } from "../events/migrations.ts";
import { CliError } from "./io.ts";

/** Runs `work` on the database, migrating a fresh embedded one first. */
export async function withDatabase<T>(
  config: Config,
  work: (pool: DatabasePool, url: string) => Promise<T>,
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
      const result = await work(pool, url);
      // Wake the relays (LISTEN/NOTIFY), so IDLE clients hear of the change at once, not at the
      // relay's next poll. A hint only: nothing is lost without it.
      if (embedded === undefined) {
        const notifier = createAppendNotifier(pool);
        notifier.notify();
        await notifier.flush();
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
