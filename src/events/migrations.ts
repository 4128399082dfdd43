// Numbered SQL migrations (infra/migrations/NNNN_name.sql), applied in order, each in its own
// transaction, recorded in schema_migrations. A database whose schema is newer than this build
// knows is refused (go-imap-sql's SchemaVersion check, done properly).
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { sql } from "slonik";
import { z } from "zod";
import type { DatabasePool } from "./db.ts";

export const MIGRATIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../infra/migrations",
);

/** Arbitrary constant: serializes concurrent migrators (two nodes starting at once). */
const MIGRATION_LOCK_KEY = 0x6d6c6d67;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file)).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const version = Number.parseInt(file.slice(0, 4), 10);
    if (migrations.some((migration) => migration.version === version)) {
      throw new Error(`two migrations share version ${version} in ${dir}`);
    }
    migrations.push({
      version,
      name: file.replace(/\.sql$/, ""),
      sql: await readFile(path.join(dir, file), "utf8"),
    });
  }
  return migrations;
}

export type SchemaState =
  | { status: "current"; version: number }
  | { status: "behind"; version: number; latest: number; pending: string[] }
  | { status: "ahead"; version: number; latest: number };

export class SchemaVersionError extends Error {
  readonly state: Exclude<SchemaState, { status: "current" }>;
  constructor(state: Exclude<SchemaState, { status: "current" }>) {
    super(
      state.status === "ahead"
        ? `the database schema is at version ${state.version}, newer than this mailledger knows (${state.latest}); upgrade mailledger before starting it on this database`
        : `the database schema is at version ${state.version}, this mailledger needs ${state.latest}; run \`mailledger migrate\` (pending: ${state.pending.join(", ")})`,
    );
    this.name = "SchemaVersionError";
    this.state = state;
  }
}

async function appliedVersion(pool: DatabasePool): Promise<number> {
  return pool.oneFirst(sql.type(z.object({ version: z.number() }))`
    SELECT coalesce(max(version), 0)::int AS version FROM schema_migrations`);
}

export async function schemaState(pool: DatabasePool, migrations?: Migration[]): Promise<SchemaState> {
  const known = migrations ?? (await loadMigrations());
  const latest = known.at(-1)?.version ?? 0;
  const exists = await pool.oneFirst(sql.type(z.object({ exists: z.boolean() }))`
    SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`);
  const version = exists ? await appliedVersion(pool) : 0;
  if (version > latest) return { status: "ahead", version, latest };
  if (version < latest) {
    return {
      status: "behind",
      version,
      latest,
      pending: known.filter((m) => m.version > version).map((m) => m.name),
    };
  }
  return { status: "current", version };
}

/** Refuses to run on a schema this build does not match (newer, or not yet migrated). */
export async function assertSchemaCurrent(pool: DatabasePool): Promise<number> {
  const state = await schemaState(pool);
  if (state.status !== "current") throw new SchemaVersionError(state);
  return state.version;
}

/**
 * Runs a whole SQL script (several statements, functions with $$ bodies). Slonik refuses
 * multi-statement queries, so migrations go through this narrow interface instead: pg's simple
 * query protocol here, PGlite's exec() in the embedded mode.
 */
export interface ScriptRunner {
  exec(script: string): Promise<void>;
  /** The rows of a parameterless query. */
  rows<T>(query: string): Promise<T[]>;
  close(): Promise<void>;
}

export async function createPgScriptRunner(connectionString: string): Promise<ScriptRunner> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  return {
    exec: async (script) => {
      await client.query(script);
    },
    rows: async <T>(query: string) => (await client.query(query)).rows as T[],
    close: () => client.end(),
  };
}

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

/** Applies every pending migration in order, each in its own transaction; returns the names applied. */
export async function migrate(runner: ScriptRunner, migrations?: Migration[]): Promise<string[]> {
  const known = migrations ?? (await loadMigrations());
  const latest = known.at(-1)?.version ?? 0;
  await runner.exec(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
  try {
    await runner.exec(CREATE_MIGRATIONS_TABLE);
    const [row] = await runner.rows<{ version: number }>(
      "SELECT coalesce(max(version), 0)::int AS version FROM schema_migrations",
    );
    const version = row?.version ?? 0;
    if (version > latest) throw new SchemaVersionError({ status: "ahead", version, latest });
    const applied: string[] = [];
    for (const migration of known.filter((m) => m.version > version)) {
      const name = migration.name.replaceAll("'", "''");
      try {
        await runner.exec(
          `BEGIN;\n${migration.sql}\n;INSERT INTO schema_migrations (version, name) VALUES (${migration.version}, '${name}');\nCOMMIT;`,
        );
      } catch (error) {
        await runner.exec("ROLLBACK").catch(() => {});
        throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(migration.name);
    }
    return applied;
  } finally {
    await runner.exec(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
  }
}

/** Migrates the PostgreSQL database at `connectionString`. */
export async function migrateDatabase(connectionString: string): Promise<string[]> {
  const runner = await createPgScriptRunner(connectionString);
  try {
    return await migrate(runner);
  } finally {
    await runner.close();
  }
}
