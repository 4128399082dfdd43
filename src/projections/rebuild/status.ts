// What `mailledger projections status` shows: each projection's versions and how far it got.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { Projection } from "../runner/projection.ts";

export interface ProjectionStatus {
  name: string;
  activeVersion: number;
  buildingVersion: number | null;
  switchedAt: Date;
  /** The highest position applied for any user: the projection's front. */
  appliedPosition: number;
  /** The last position in the log. */
  headPosition: number;
  /** head - applied: events the front has yet to reach. */
  lag: number;
  /** Where the outbox relay got (distributed mode), if it runs. */
  relayPosition: number | null;
  users: number;
}

export async function projectionStatus(
  connection: CommonQueryMethods,
  projections: readonly Projection<unknown>[],
): Promise<ProjectionStatus[]> {
  const head = await connection.oneFirst(sql.type(z.object({ head: z.number() }))`
    SELECT coalesce(max(global_position), 0) AS head FROM events`);
  const relay = await connection.maybeOneFirst(sql.type(z.object({ global_position: z.number() }))`
    SELECT global_position FROM checkpoints WHERE consumer = 'relay'`);
  const statuses: ProjectionStatus[] = [];
  for (const projection of projections) {
    const row = await connection.maybeOne(sql.type(
      z.object({
        active_version: z.number(),
        building_version: z.number().nullable(),
        switched_at: z.number(),
      }),
    )`
      SELECT active_version, building_version, switched_at FROM projection_versions WHERE name = ${projection.name}`);
    if (!row) continue;
    const positions = await connection.one(sql.type(z.object({ applied: z.number(), users: z.number() }))`
      SELECT coalesce(max(global_position), 0) AS applied, count(*)::int8 AS users
      FROM ${sql.identifier([projection.schemaOf(row.active_version), "user_positions"])}`);
    statuses.push({
      name: projection.name,
      activeVersion: row.active_version,
      buildingVersion: row.building_version,
      switchedAt: new Date(row.switched_at),
      appliedPosition: positions.applied,
      headPosition: head,
      lag: Math.max(0, head - positions.applied),
      relayPosition: relay,
      users: positions.users,
    });
  }
  return statuses;
}
