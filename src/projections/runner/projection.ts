// A projection as the runner, the rebuild and the status command see it: how to prepare a
// batch outside the transaction, how to apply it to one version of its tables, and how to
// create, expose and drop versions (blue/green, src/projections/rebuild).
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { RecordedEvent } from "../../events/envelope.ts";
import { type ApplyResult, applyBodiesEvents, arrivingDigests } from "../bodiesView/apply.ts";
import type { BlobSource, DerivedMessage } from "../bodiesView/derive.ts";
import { MessageDeriver } from "../bodiesView/derive.ts";

export interface Projection<Prepared = unknown> {
  /** The name in projection_versions and on the command line. */
  readonly name: string;
  /** Its tables, in the order a comparison lists them. */
  readonly tables: readonly string[];
  /** The primary key columns of each table, to order rows for a comparison. */
  readonly keys: Readonly<Record<string, readonly string[]>>;
  schemaOf(version: number): string;
  /** Slow reads (blobs) done before the batch's transaction opens. */
  prepare(events: readonly RecordedEvent[]): Promise<Prepared>;
  /**
   * With `positions` (each user's position before the batch, already locked and moved past the
   * batch by the caller), those are what the events are compared with; without, apply locks,
   * reads and moves them itself.
   */
  apply(
    tx: CommonQueryMethods,
    schema: string,
    events: readonly RecordedEvent[],
    prepared: Prepared,
    positions?: ReadonlyMap<string, number>,
  ): Promise<ApplyResult>;
  /**
   * Optional, for live batches: takes the projection's lock shared (projectionLockKey), reads
   * the active version after it, and locks each user's position and moves it to its last
   * position in the batch, answering where each stood: one round trip for what would take four.
   */
  openBatch?(tx: CommonQueryMethods, lastPositions: ReadonlyMap<string, number>): Promise<OpenedBatch>;
  createVersion(tx: CommonQueryMethods, version: number): Promise<void>;
  /** Points the stable reader schema at `version`. */
  expose(tx: CommonQueryMethods, version: number): Promise<void>;
}

export interface OpenedBatch {
  version: number;
  /** Each user's position before the batch, when the opening locked and moved them already. */
  positions?: ReadonlyMap<string, number>;
}

const openedRow = z.object({
  active_version: z.number(),
  user_id: z.string().nullable(),
  previous_position: z.number().nullable(),
});

export const BODIES_PROJECTION_NAME = "bodies";

/**
 * The bodies view (infra/migrations/0041_projection_bodies.sql): ENVELOPE, BODYSTRUCTURE, section
 * offsets, search text and thread keys of each distinct body in use.
 */
export function createBodiesProjection(blobs: BlobSource): Projection<Map<string, DerivedMessage>> {
  const deriver = new MessageDeriver(blobs);
  const schemaOf = (version: number) => `proj_bodies_v${version}`;
  return {
    name: BODIES_PROJECTION_NAME,
    tables: ["user_positions", "mailboxes", "message_refs", "message_bodies"],
    keys: {
      user_positions: ["user_id"],
      mailboxes: ["mailbox_id"],
      message_refs: ["mailbox_id", "uid"],
      message_bodies: ["blob_digest"],
    },
    schemaOf,
    prepare: (events) => deriver.deriveAll(arrivingDigests(events)),
    apply: (tx, schema, events, derived, positions) =>
      applyBodiesEvents(tx, events, { schema, derived, ...(positions ? { positions } : {}) }),
    async openBatch(tx, lastPositions) {
      // infra/migrations/0041_projection_bodies.sql
      const rows = await tx.any(sql.prepared("mailledger_proj_bodies_open_batch", openedRow)`
        SELECT active_version, user_id, previous_position
        FROM proj_bodies_open_batch(${sql.array([...lastPositions.keys()], "text")},
          ${sql.array([...lastPositions.values()], "int8")})`);
      const positions = new Map<string, number>();
      for (const row of rows)
        if (row.user_id !== null) positions.set(row.user_id, row.previous_position ?? 0);
      return { version: rows[0]!.active_version, positions };
    },
    async createVersion(tx, version) {
      await tx.query(sql.unsafe`SELECT proj_bodies_create_tables(${schemaOf(version)})`);
    },
    async expose(tx, version) {
      await tx.query(sql.unsafe`SELECT proj_bodies_expose(${schemaOf(version)})`);
    },
  };
}

/**
 * Live batches take this lock shared, a rebuild's switch takes it exclusive: while a version
 * switch catches up and re-points the readers, no live batch commits to the old version.
 */
export function projectionLockKey(name: string) {
  return sql.fragment`hashtext(${`mailledger:projection:${name}`})`;
}
