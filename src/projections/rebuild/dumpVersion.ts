// Every row of one version of a projection, in key order: what "the rebuilt view equals the
// live one, row for row" (DESIGN.md contract 6) is checked against.
import { type CommonQueryMethods, sql } from "slonik";
import type { Projection } from "../runner/projection.ts";

export type ProjectionDump = Record<string, readonly unknown[]>;

export async function dumpProjectionSchema(
  connection: CommonQueryMethods,
  projection: Projection<unknown>,
  schema: string,
): Promise<ProjectionDump> {
  const dump: ProjectionDump = {};
  for (const table of projection.tables) {
    const keys = projection.keys[table] ?? [];
    dump[table] = await connection.anyFirst(sql.unsafe`
      SELECT to_jsonb(t) AS row FROM ${sql.identifier([schema, table])} AS t
      ORDER BY ${sql.join(
        keys.map((key) => sql.identifier([key])),
        sql.fragment`, `,
      )}`);
  }
  return dump;
}
