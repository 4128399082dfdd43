// Compares two tables of the same shape row for row, as multisets (DESIGN.md contract 6: "the
// rebuilt view equals the live one, row for row"). Rows travel as jsonb, so any column type
// compares; columns a rebuild cannot reproduce (wall-clock stamps) are left out by name.
import { type CommonQueryMethods, type IdentifierSqlToken, sql } from "slonik";
import { z } from "zod";

export interface TableComparison {
  table: string;
  liveRows: number;
  rebuiltRows: number;
  /** Rows (with their multiplicity) the live table has and the rebuilt one lacks, and the reverse. */
  onlyLive: number;
  onlyRebuilt: number;
  /** Some of those rows, to show. */
  examples: { side: "live" | "rebuilt"; row: unknown }[];
}

const countsRow = z.object({
  live_rows: z.number(),
  rebuilt_rows: z.number(),
  only_live: z.number(),
  only_rebuilt: z.number(),
});
const exampleRow = z.object({ side: z.enum(["live", "rebuilt"]), row: z.unknown() });

/** How many differing rows a comparison shows per table. */
export const DIFFERENCE_EXAMPLES = 10;

export async function compareRelations(
  connection: CommonQueryMethods,
  table: string,
  live: IdentifierSqlToken,
  rebuilt: IdentifierSqlToken,
  ignoreColumns: readonly string[] = [],
): Promise<TableComparison> {
  const rows = (relation: IdentifierSqlToken) =>
    sql.fragment`SELECT to_jsonb(t) - ${sql.array([...ignoreColumns], "text")} AS row FROM ${relation} AS t`;
  const diff = sql.fragment`
    live AS (${rows(live)}), rebuilt AS (${rows(rebuilt)}),
    only_live AS (SELECT row FROM live EXCEPT ALL SELECT row FROM rebuilt),
    only_rebuilt AS (SELECT row FROM rebuilt EXCEPT ALL SELECT row FROM live)`;
  const counts = await connection.one(sql.type(countsRow)`
    WITH ${diff}
    SELECT (SELECT count(*) FROM live)::int8 AS live_rows, (SELECT count(*) FROM rebuilt)::int8 AS rebuilt_rows,
      (SELECT count(*) FROM only_live)::int8 AS only_live, (SELECT count(*) FROM only_rebuilt)::int8 AS only_rebuilt`);
  const examples =
    counts.only_live + counts.only_rebuilt === 0
      ? []
      : await connection.any(sql.type(exampleRow)`
          WITH ${diff}
          (SELECT 'live' AS side, row FROM only_live LIMIT ${DIFFERENCE_EXAMPLES})
          UNION ALL
          (SELECT 'rebuilt' AS side, row FROM only_rebuilt LIMIT ${DIFFERENCE_EXAMPLES})`);
  return {
    table,
    liveRows: counts.live_rows,
    rebuiltRows: counts.rebuilt_rows,
    onlyLive: counts.only_live,
    onlyRebuilt: counts.only_rebuilt,
    examples: [...examples],
  };
}
