import pg from "pg";
import { ulid } from "ulid";
import { createDatabasePool, type DatabasePool } from "../src/events/db.ts";
import { migrateDatabase } from "../src/events/migrations.ts";

export const BENCH_POSTGRES_URL =
  process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface ScratchDatabase {
  url: string;
  pool: DatabasePool;
  drop(): Promise<void>;
}

/** Runs one statement on the maintenance database (CREATE/DROP DATABASE). */
export async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export async function createScratchDatabase(poolSize = 20): Promise<ScratchDatabase> {
  const name = `mailledger_bench_${ulid().toLowerCase()}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(BENCH_POSTGRES_URL);
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString());
  const pool = await createDatabasePool(url.toString(), { maximumPoolSize: poolSize });
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

export function formatRate(count: number, ms: number): string {
  return Math.round((count / ms) * 1000).toLocaleString("en-US");
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export { freePort, waitForPort } from "../test/support/freePort.ts";
