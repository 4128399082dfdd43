// Blue/green rebuild of a projection (DESIGN.md, developers changing a view's schema):
//  1. create version N+1's tables next to the live version N, which keeps serving;
//  2. fill them from position 0 of the PostgreSQL log (readAll: Kafka's retention may be short);
//  3. switch: under the projection's exclusive lock (live batches take it shared, so none commits
//     meanwhile) apply what the log gained since, re-point the reader schema at N+1 and record it
//     in projection_versions, in ONE transaction: a reader sees N or N+1, never a half-built view;
//  4. drop version N.
// Live projectors write whichever version is active when their batch starts; the per-user
// positions in N+1 make them skip what the rebuild already applied.
import { type CommonQueryMethods, type DatabasePool, sql } from "slonik";
import { z } from "zod";
import { postgresErrorCode } from "../../events/db.ts";
import type { RecordedEvent } from "../../events/envelope.ts";
import { readAll } from "../../events/readAll.ts";
import type { Upcasters } from "../../events/upcasting.ts";
import { type Projection, projectionLockKey } from "../runner/projection.ts";

export const DEFAULT_REBUILD_BATCH_SIZE = 5_000;
/**
 * Transactions a rebuild fills with at once, each with the events of its share of the users: the
 * filling process mostly waits for PostgreSQL, one transaction at a time kept one core busy.
 */
const FILL_CONNECTIONS = 2;
const DEADLOCK_ATTEMPTS = 5;

/** The events split into `groups` by user (a user's events in one group, in their order). */
export function groupByUser(events: readonly RecordedEvent[], groups: number): RecordedEvent[][] {
  const split: RecordedEvent[][] = Array.from({ length: groups }, () => []);
  const groupOf = new Map<string, number>();
  for (const event of events) {
    const userId = event.metadata.userId;
    let group = groupOf.get(userId);
    if (group === undefined) {
      group = groupOf.size % groups;
      groupOf.set(userId, group);
    }
    split[group]!.push(event);
  }
  return split.filter((group) => group.length > 0);
}

/**
 * Bodies shared by users of two groups are inserted by both; should their locks ever cross, the
 * one PostgreSQL picks is rolled back whole and run again (its users' positions roll back too).
 */
async function retryOnDeadlock(work: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await work();
      return;
    } catch (error) {
      if (postgresErrorCode(error) !== "40P01" || attempt >= DEADLOCK_ATTEMPTS) throw error;
    }
  }
}

export interface RebuildProgress {
  phase: "fill" | "switch" | "done";
  version: number;
  position: number;
  /** The log's head when the rebuild started (for a percentage). */
  head: number;
  events: number;
  elapsedMs: number;
}

export interface RebuildOptions {
  pool: DatabasePool;
  projection: Projection<unknown>;
  batchSize?: number;
  upcasters?: Upcasters;
  onProgress?: (progress: RebuildProgress) => void;
  /** Stop after filling, before the switch (tests of a reader during a rebuild). */
  beforeSwitch?: () => Promise<void>;
}

export interface RebuildResult {
  previousVersion: number;
  version: number;
  events: number;
  position: number;
  durationMs: number;
}

export class RebuildInProgressError extends Error {
  constructor(name: string) {
    super(`a rebuild of projection ${name} is already running`);
    this.name = "RebuildInProgressError";
  }
}

const versionsRow = z.object({ active_version: z.number(), building_version: z.number().nullable() });

export async function readLogHead(connection: CommonQueryMethods): Promise<number> {
  return connection.oneFirst(sql.type(z.object({ head: z.number() }))`
    SELECT coalesce(max(global_position), 0) AS head FROM events`);
}

export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { pool, projection } = options;
  const batchSize = options.batchSize ?? DEFAULT_REBUILD_BATCH_SIZE;
  const started = performance.now();
  // One rebuild at a time: a session lock on a connection held for the whole rebuild.
  return pool.connect(async (session) => {
    const lockKey = sql.fragment`hashtext(${`mailledger:rebuild:${projection.name}`})`;
    const locked = await session.oneFirst(sql.type(z.object({ locked: z.boolean() }))`
      SELECT pg_try_advisory_lock(${lockKey}) AS locked`);
    if (!locked) throw new RebuildInProgressError(projection.name);
    try {
      const { previous, version } = await pool.transaction(async (tx) => {
        const row = await tx.one(sql.type(versionsRow)`
          SELECT active_version, building_version FROM projection_versions
          WHERE name = ${projection.name} FOR UPDATE`);
        if (row.building_version !== null) {
          // Left over by a rebuild that died: it was never visible, start afresh.
          await tx.query(sql.unsafe`
            DROP SCHEMA IF EXISTS ${sql.identifier([projection.schemaOf(row.building_version)])} CASCADE`);
        }
        const next = Math.max(row.active_version, row.building_version ?? 0) + 1;
        await projection.createVersion(tx, next);
        await tx.query(sql.unsafe`
          UPDATE projection_versions SET building_version = ${next} WHERE name = ${projection.name}`);
        return { previous: row.active_version, version: next };
      });
      const schema = projection.schemaOf(version);
      const head = await readLogHead(pool);
      let position = 0;
      let events = 0;
      const report = (phase: RebuildProgress["phase"]) =>
        options.onProgress?.({
          phase,
          version,
          position,
          head,
          events,
          elapsedMs: Math.round(performance.now() - started),
        });

      // Fill: batch after batch, each in its own transaction, until close to the head. The next
      // page is read while the current one is applied.
      // (Filling unlogged tables without their secondary index, then SET LOGGED and CREATE INDEX,
      // was tried: the final rewrite cost more than it saved, 8k against 9-11k events/s.)
      const readPage = (after: number) =>
        readAll(pool, after, batchSize, { gapWaitMs: 1_000, upcasters: options.upcasters });
      let next = readPage(position);
      for (;;) {
        const batch = await next;
        if (!batch.caughtUp) next = readPage(batch.position);
        if (batch.events.length > 0) {
          const prepared = await projection.prepare(batch.events);
          // Users' events are independent of each other's: the batch is applied in groups of
          // users over several connections at once, each user's events in log order.
          await Promise.all(
            groupByUser(batch.events, FILL_CONNECTIONS).map((group) =>
              retryOnDeadlock(() =>
                pool.transaction(async (tx) => {
                  // A crash loses at most the last batches of a version nobody sees yet, which the
                  // rebuild started after a crash drops anyway: no need to wait for the WAL flush.
                  await tx.query(sql.unsafe`SET LOCAL synchronous_commit = off`);
                  await projection.apply(tx, schema, group, prepared);
                }),
              ),
            ),
          );
          events += batch.events.length;
        }
        position = batch.position;
        report("fill");
        if (batch.caughtUp) break;
      }
      await options.beforeSwitch?.();

      // Switch. Live batches take the projection's lock shared; holding it exclusive on our
      // session (across transactions: blobs are read through other connections, which a
      // transaction may not use) means none commits until the readers are re-pointed. Every
      // event a live batch applied to the old version is at or below the head read once the
      // lock is held; later ones reach the new version through the live projector afterwards.
      // Catching up only to that head keeps the lock short under a steady stream of writes.
      report("switch");
      const switchLock = projectionLockKey(projection.name);
      await session.query(sql.unsafe`SELECT pg_advisory_lock(${switchLock})`);
      try {
        const target = await readLogHead(pool);
        while (position < target) {
          const batch = await readAll(pool, position, batchSize, {
            gapWaitMs: 5_000,
            toPosition: target,
            upcasters: options.upcasters,
          });
          if (batch.events.length > 0) {
            const prepared = await projection.prepare(batch.events);
            await pool.transaction((tx) => projection.apply(tx, schema, batch.events, prepared));
            events += batch.events.length;
          }
          position = batch.position;
        }
        await pool.transaction(async (tx) => {
          await projection.expose(tx, version);
          await tx.query(sql.unsafe`
            UPDATE projection_versions SET active_version = ${version}, building_version = NULL, switched_at = now()
            WHERE name = ${projection.name}`);
        });
      } finally {
        await session.query(sql.unsafe`SELECT pg_advisory_unlock(${switchLock})`);
      }
      await pool.query(
        sql.unsafe`DROP SCHEMA IF EXISTS ${sql.identifier([projection.schemaOf(previous)])} CASCADE`,
      );
      report("done");
      return {
        previousVersion: previous,
        version,
        events,
        position,
        durationMs: Math.round(performance.now() - started),
      };
    } finally {
      await session.query(sql.unsafe`SELECT pg_advisory_unlock(${lockKey})`);
    }
  });
}
