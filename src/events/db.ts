// The PostgreSQL pool every component uses: slonik over pg, every typed read checked by its
// schema (sql.type(zodSchema)) through the result parser interceptor.
import { createHash } from "node:crypto";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import {
  createPool,
  createTypeParserPreset,
  type DatabasePool,
  type DriverFactory,
  type Interceptor,
  type QueryResultRow,
  SchemaValidationError,
} from "slonik";

export type { CommonQueryMethods, DatabasePool, DatabaseTransactionConnection } from "slonik";

/** Checks every row of a `sql.type(schema)` query against its schema and returns the parsed row. */
export function createResultParserInterceptor(): Interceptor {
  return {
    name: "mailledger-result-parser",
    // Synchronous: an await per row cost more than the check itself on large FETCHes. Row
    // schemas have no asynchronous refinements; one that had would fail loudly here.
    transformRow: (queryContext, query, row) => {
      const parser = queryContext.resultParser as StandardSchemaV1 | undefined;
      if (!parser) return row;
      const result = parser["~standard"].validate(row);
      if (result instanceof Promise) throw new Error("row schemas must validate synchronously");
      if (result.issues) {
        throw new SchemaValidationError(query, row as never, result.issues as never);
      }
      return result.value as QueryResultRow;
    },
  };
}

/** The SQLSTATE of a PostgreSQL error, wherever slonik or pg wrapped it (along the causes). */
export function postgresErrorCode(error: unknown): string | undefined {
  for (let current = error as { code?: unknown; cause?: unknown } | undefined; current; ) {
    if (typeof current.code === "string" && /^[0-9A-Z]{5}$/.test(current.code)) return current.code;
    current = current.cause as typeof current;
  }
  return undefined;
}

/** int8 as a JS number: positions, versions and sizes stay far below 2^53. */
const typeParsers = [
  ...createTypeParserPreset().filter((parser) => parser.name !== "int8"),
  { name: "int8", parse: (value: string) => Number.parseInt(value, 10) },
];

export interface PoolOptions {
  maximumPoolSize?: number;
  driverFactory?: DriverFactory;
  /**
   * Named prepared statements (sql.prepared) are used on real PostgreSQL. The embedded PGlite
   * serves every connection from one session, where two connections preparing the same name
   * would collide: there, the names are dropped and the statements run unnamed.
   */
  preparedStatements?: boolean;
  /** PostgreSQL's statement_timeout on every connection (PG_STATEMENT_TIMEOUT_MS); slonik's 60 s if unset. */
  statementTimeoutMs?: number;
}

/** Distinct statement texts the pool prepares on its own (each connection holds a plan per text). */
const AUTO_PREPARED_STATEMENTS = 256;
/** A text is prepared once it has run this often: one-off shapes (rare SEARCH keys) stay unnamed. */
const AUTO_PREPARE_AFTER_USES = 3;
/** Texts counted towards AUTO_PREPARE_AFTER_USES before the count starts over. */
const COUNTED_TEXTS = 4_096;

/**
 * Names the statements that repeat, so each connection parses and plans them once (PostgreSQL
 * planned every unnamed statement anew: most of its CPU per command here). Bounded: at most
 * AUTO_PREPARED_STATEMENTS texts, the first that reach AUTO_PREPARE_AFTER_USES uses.
 */
export function createAutoPrepareInterceptor(): Interceptor {
  const names = new Map<string, string>();
  const uses = new Map<string, number>();
  return {
    name: "mailledger-auto-prepare",
    transformQuery: (_context, query) => {
      if (query.name) return query;
      let statementName = names.get(query.sql);
      if (statementName === undefined) {
        if (names.size >= AUTO_PREPARED_STATEMENTS) return query;
        const count = (uses.get(query.sql) ?? 0) + 1;
        if (count < AUTO_PREPARE_AFTER_USES) {
          if (uses.size >= COUNTED_TEXTS) uses.clear();
          uses.set(query.sql, count);
          return query;
        }
        uses.delete(query.sql);
        statementName = `mailledger_auto_${createHash("sha256").update(query.sql).digest("hex").slice(0, 24)}`;
        names.set(query.sql, statementName);
      }
      return { ...query, name: statementName };
    },
  };
}

/** Runs every query unnamed (see PoolOptions.preparedStatements). */
function createUnnamedStatementsInterceptor(): Interceptor {
  return {
    name: "mailledger-unnamed-statements",
    transformQuery: (_context, query) => ({ sql: query.sql, values: query.values }),
  };
}

export async function createDatabasePool(
  connectionUri: string,
  options: PoolOptions = {},
): Promise<DatabasePool> {
  return createPool(connectionUri, {
    interceptors: [
      ...(options.preparedStatements === false
        ? [createUnnamedStatementsInterceptor()]
        : [createAutoPrepareInterceptor()]),
      createResultParserInterceptor(),
    ],
    typeParsers,
    maximumPoolSize: options.maximumPoolSize ?? 20,
    ...(options.statementTimeoutMs === undefined ? {} : { statementTimeout: options.statementTimeoutMs }),
    // Slonik's default runs DISCARD ALL on every release: a round trip per query that also drops
    // cached plans. mailledger leaves no session state on pooled connections (no SET, no session
    // advisory locks, no temp tables: those take a dedicated pg client), so nothing needs resetting.
    resetConnection: async () => {},
    ...(options.driverFactory ? { driverFactory: options.driverFactory } : {}),
  });
}

/**
 * SQLSTATE classes and codes that say the server cannot be used now, not that the query was wrong;
 * 57014 is a statement cancelled (statement_timeout: a lock held too long, a stalled disk).
 */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300", "53400", "57014"]);
/** Node's socket errors, as pg reports them when it cannot reach the server or loses it. */
const UNAVAILABLE_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const UNAVAILABLE_NAMES = new Set([
  "ConnectionError",
  "BackendTerminatedError",
  "BackendTerminatedUnexpectedlyError",
  "StatementTimeoutError",
  "StatementCancelledError",
]);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery mode)/i;

/**
 * Whether an error says PostgreSQL cannot be reached or went away (a restart, a lost connection,
 * no connection slot), rather than that the statement was refused: the client gets
 * NO [UNAVAILABLE] and may try again. Looks along the error's causes, as slonik wraps pg's.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let depth = 0, current = error as Record<string, unknown> | undefined; current && depth < 8; depth++) {
    if (typeof current !== "object") return false;
    const code = current.code;
    if (typeof code === "string") {
      if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith("08") || UNAVAILABLE_ERRNOS.has(code))
        return true;
    }
    if (typeof current.name === "string" && UNAVAILABLE_NAMES.has(current.name)) return true;
    if (current.constructor?.name && UNAVAILABLE_NAMES.has(current.constructor.name)) return true;
    if (typeof current.message === "string" && UNAVAILABLE_MESSAGE.test(current.message)) return true;
    if (Array.isArray(current.errors) && current.errors.some((inner) => isDatabaseUnavailable(inner)))
      return true;
    current = current.cause as Record<string, unknown> | undefined;
  }
  return false;
}
