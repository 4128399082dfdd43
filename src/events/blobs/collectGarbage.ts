// Removes bodies no message of the write model refers to any more (expunged, deleted with
// their mailbox or account). An APPEND stores its body before its transaction commits, so a
// body put within the grace period is spared, and each removal re-checks the put time: a body
// put again by an APPEND after the candidates were listed stays.
import { sql } from "slonik";
import { z } from "zod";
import type { DatabasePool } from "../db.ts";
import type { BlobStore } from "./blobStore.ts";

/** Longer than any APPEND transaction can run (the gateway's literal and command timeouts). */
export const DEFAULT_BLOB_GRACE_PERIOD_MS = 60 * 60 * 1000;

export interface GarbageCollection {
  examined: number;
  deleted: string[];
}

export async function collectGarbage(
  pool: DatabasePool,
  blobStore: BlobStore,
  options: { gracePeriodMs?: number; now?: Date } = {},
): Promise<GarbageCollection> {
  const cutoff = new Date(
    (options.now ?? new Date()).getTime() - (options.gracePeriodMs ?? DEFAULT_BLOB_GRACE_PERIOD_MS),
  );
  const result: GarbageCollection = { examined: 0, deleted: [] };
  for await (const candidates of blobStore.listPutBefore(cutoff)) {
    result.examined += candidates.length;
    const unreferenced = await pool.anyFirst(sql.type(z.object({ digest: z.string() }))`
      SELECT c.digest FROM unnest(${sql.array(candidates, "text")}) AS c(digest)
      WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_digest = c.digest)`);
    for (const digest of unreferenced) {
      if (await blobStore.delete(digest, { ifNotPutSince: cutoff })) result.deleted.push(digest);
    }
  }
  return result;
}
