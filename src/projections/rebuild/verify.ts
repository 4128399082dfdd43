// `projections verify bodies`: proves contract 6 for a derived view on a live database. In one
// snapshot it reads where the live version stands for each user, replays the log up to there
// through the projection's own apply into a scratch version, and compares every table row for
// row. The scratch version lives inside a transaction that is rolled back; the live projector
// goes on meanwhile (the snapshot sees the view as of one instant, and the log as of the same).
import { randomInt } from "node:crypto";
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { compareRelations, type TableComparison } from "../../events/compareRelations.ts";
import { readSnapshotPage } from "../../events/readSnapshot.ts";
import type { Upcasters } from "../../events/upcasting.ts";
import type { Projection } from "../runner/projection.ts";

const REPLAY_PAGE = 2_000;
const positionRow = z.object({ user_id: z.string(), global_position: z.number() });
const versionRow = z.object({ active_version: z.number() });

export interface ProjectionVerifyReport {
  name: string;
  /** The live version compared. */
  version: number;
  /** The furthest user position of the live version: every event replayed is at or below it. */
  position: number;
  events: number;
  tables: TableComparison[];
  equal: boolean;
}

export interface VerifyProjectionOptions {
  upcasters?: Upcasters;
  onProgress?: (progress: { events: number; position: number }) => void;
}

/**
 * On `connection`, in a REPEATABLE READ transaction the caller rolls back (inRolledBackSnapshot).
 * Bodies are read through the projection's own source (another connection), not this one.
 */
export async function verifyProjection(
  connection: CommonQueryMethods,
  projection: Projection<unknown>,
  options: VerifyProjectionOptions = {},
): Promise<ProjectionVerifyReport> {
  const version = await connection.oneFirst(sql.type(versionRow)`
    SELECT active_version FROM projection_versions WHERE name = ${projection.name}`);
  const live = projection.schemaOf(version);
  const positions = new Map(
    (
      await connection.any(sql.type(positionRow)`
        SELECT user_id, global_position FROM ${sql.identifier([live, "user_positions"])}`)
    ).map((row) => [row.user_id, row.global_position] as const),
  );
  const furthest = Math.max(0, ...positions.values());
  // A version number no version will take: its schema exists only in this transaction.
  const scratchVersion = 2_000_000_000 + randomInt(100_000_000);
  const scratch = projection.schemaOf(scratchVersion);
  await projection.createVersion(connection, scratchVersion);

  let after = 0;
  let events = 0;
  while (after < furthest) {
    const page = await readSnapshotPage(connection, after, REPLAY_PAGE, options.upcasters);
    if (page.length === 0) break;
    after = page.at(-1)!.globalPosition;
    // What the live version has applied of each user: its events up to that user's position.
    const applied = page.filter(
      (event) => event.globalPosition <= (positions.get(event.metadata.userId) ?? 0),
    );
    if (applied.length > 0) {
      const prepared = await projection.prepare(applied);
      await projection.apply(connection, scratch, applied, prepared);
      events += applied.length;
    }
    options.onProgress?.({ events, position: after });
  }

  const tables: TableComparison[] = [];
  for (const table of projection.tables) {
    tables.push(
      await compareRelations(
        connection,
        table,
        sql.identifier([live, table]),
        sql.identifier([scratch, table]),
      ),
    );
  }
  return {
    name: projection.name,
    version,
    position: furthest,
    events,
    tables,
    equal: tables.every((t) => t.onlyLive === 0 && t.onlyRebuilt === 0),
  };
}
