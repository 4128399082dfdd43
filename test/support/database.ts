// A fresh PostgreSQL database per test file, migrated, dropped afterwards: tests never share state.
import pg from "pg";
import { ulid } from "ulid";
import { createDatabasePool, type DatabasePool } from "../../src/events/db.ts";
import { migrateDatabase } from "../../src/events/migrations.ts";
import { TEST_POSTGRES_URL } from "./services.ts";

export interface TestDatabase {
  name: string;
  url: string;
  pool: DatabasePool;
  drop(): Promise<void>;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(
  options: { migrate?: boolean; poolSize?: number } = {},
): Promise<TestDatabase> {
  const name = `mailledger_test_${ulid().toLowerCase()}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  const pool = await createDatabasePool(url.toString(), { maximumPoolSize: options.poolSize ?? 20 });
  if (options.migrate !== false) await migrateDatabase(url.toString());
  return {
    name,
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
