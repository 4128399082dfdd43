// The PostgreSQL pool every component uses: slonik over pg, every typed read checked by its
// schema (sql.type(zodSchema)) through the result parser interceptor.
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
    transformRowAsync: async (queryContext, query, row) => {
      const parser = queryContext.resultParser as StandardSchemaV1 | undefined;
      if (!parser) return row;
      let result = parser["~standard"].validate(row);
      if (result instanceof Promise) result = await result;
      if (result.issues) {
        throw new SchemaValidationError(query, row as never, result.issues as never);
      }
      return result.value as QueryResultRow;
    },
  };
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
      ...(options.preparedStatements === false ? [createUnnamedStatementsInterceptor()] : []),
      createResultParserInterceptor(),
    ],
    typeParsers,
    maximumPoolSize: options.maximumPoolSize ?? 20,
    // Slonik's default runs DISCARD ALL on every release: a round trip per query that also drops
    // cached plans. mailledger leaves no session state on pooled connections (no SET, no session
    // advisory locks, no temp tables: those take a dedicated pg client), so nothing needs resetting.
    resetConnection: async () => {},
    ...(options.driverFactory ? { driverFactory: options.driverFactory } : {}),
  });
}
