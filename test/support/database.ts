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

async function admin<T>(run: (client: pg.Client) => Promise<T>, serverUrl = TEST_POSTGRES_URL): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(
  options: {
    migrate?: boolean;
    poolSize?: number /** Another server than the shared one. */;
    serverUrl?: string;
  } = {},
): Promise<TestDatabase> {
  const serverUrl = options.serverUrl ?? TEST_POSTGRES_URL;
  const name = `mailledger_test_${ulid().toLowerCase()}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`), serverUrl);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const pool = await createDatabasePool(url.toString(), { maximumPoolSize: options.poolSize ?? 20 });
  if (options.migrate !== false) await migrateDatabase(url.toString());
  return {
    name,
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`), serverUrl);
    },
  };
}
