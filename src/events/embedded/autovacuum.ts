// Autovacuum for the embedded database. PGlite runs PostgreSQL as one process, without the
// autovacuum launcher: dead row versions are never reclaimed and statistics never refreshed. The
// index's hot tables (messages: every flag change and expunge leaves a dead version) then grow
// without end, and every read walks them: the live fuzzer's embedded server fell from 400 to 120
// commands/s within 35 minutes, 45% of its CPU in page reads, `messages` 80 MB for 300 live rows.
// This does what the launcher would: every interval it reads PostgreSQL's own counters and
// vacuums, and analyzes, the tables past autovacuum's default thresholds, one at a time.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";

/** How often the counters are read (autovacuum_naptime is 60 s; the embedded tables are small). */
export const AUTOVACUUM_INTERVAL_MS = 30_000;

const dueRow = z.object({ schema: z.string(), table: z.string(), vacuum: z.boolean() });

/**
 * The tables due, by autovacuum's default rules (PostgreSQL 15): vacuum when dead rows pass
 * 50 + 20% of the live ones, or rows inserted since the last vacuum pass 1000 + 20% (the
 * visibility map index-only scans read); analyze alone when changes pass 50 + 10%.
 */
async function dueTables(connection: CommonQueryMethods) {
  return connection.any(sql.type(dueRow)`
    SELECT schemaname AS schema, relname AS table,
      (n_dead_tup > 50 + 0.2 * n_live_tup OR n_ins_since_vacuum > 1000 + 0.2 * n_live_tup) AS vacuum
    FROM pg_stat_user_tables
    WHERE n_dead_tup > 50 + 0.2 * n_live_tup
       OR n_ins_since_vacuum > 1000 + 0.2 * n_live_tup
       OR n_mod_since_analyze > 50 + 0.1 * n_live_tup
    ORDER BY n_dead_tup DESC`);
}

/** One pass: the tables vacuumed or analyzed, as schema.table. */
export async function autovacuumPass(connection: CommonQueryMethods): Promise<string[]> {
  const done: string[] = [];
  for (const due of await dueTables(connection)) {
    const table = sql.identifier([due.schema, due.table]);
    // Outside a transaction, as VACUUM must be; a table dropped meanwhile is skipped.
    await connection.query(due.vacuum ? sql.unsafe`VACUUM (ANALYZE) ${table}` : sql.unsafe`ANALYZE ${table}`);
    done.push(`${due.schema}.${due.table}`);
  }
  return done;
}

export interface Autovacuum {
  stop(): Promise<void>;
}

/** Runs a pass every `intervalMs` until stopped; a failed pass is reported and the next one runs. */
export function startAutovacuum(
  connection: CommonQueryMethods,
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): Autovacuum {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    // A pass still running (a large table) is not queued behind.
    if (running !== undefined) return;
    running = autovacuumPass(connection)
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        running = undefined;
      });
  }, options.intervalMs ?? AUTOVACUUM_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
