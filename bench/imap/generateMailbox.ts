// A big mailbox written straight into the log and the index (SQL, not IMAP): MessageAppended
// events of the mailbox's stream and their index rows, committed by the command layer's own
// commitChanges, `batch` messages a transaction. Bodies are the corpus's, stored once each, as
// COPY and re-delivery share them. What 1,000,000 APPENDs over IMAP would take hours to build.

import { sql } from "slonik";
import { z } from "zod";
import { commitChanges } from "../../src/commands/commit.ts";
import {
  findMailboxByName,
  findUserByName,
  lockMailboxes,
  mailboxState,
} from "../../src/commands/writeModel.ts";
import type { StoredBlob } from "../../src/events/blobs/blobStore.ts";
import { createPostgresBlobStore } from "../../src/events/blobs/postgresBlobStore.ts";
import { createDatabasePool } from "../../src/events/db.ts";
import type { HeaderSummary } from "../../src/events/domain/common.ts";
import type { MailboxEvent } from "../../src/events/domain/mailboxEvents.ts";
import { MAX_HEADER_BYTES, summarizeHeader } from "../../src/events/messageSummary.ts";

/** Messages per transaction: large enough for few round trips, small enough for one statement. */
const GENERATE_BATCH = 2_000;

export interface GeneratedMailbox {
  count: number;
  ms: number;
}

/**
 * The flags message `index` of `count` gets: the oldest `seenFraction` seen, the newest unseen
 * (the shape of a real inbox, and the case where a first-unseen scan in UID order reads it all).
 */
export function generatedFlags(index: number, count: number, seenFraction: number): string[] {
  return index < Math.floor(count * seenFraction) ? ["\\Seen"] : [];
}

export async function generateMailbox(
  databaseUrl: string,
  userName: string,
  mailboxName: string,
  corpus: readonly Buffer[],
  count: number,
  options: { seenFraction?: number; onProgress?: (done: number) => void } = {},
): Promise<GeneratedMailbox> {
  const seenFraction = options.seenFraction ?? 0.9;
  const pool = await createDatabasePool(databaseUrl, { maximumPoolSize: 2 });
  const started = performance.now();
  try {
    const user = await findUserByName(pool, userName);
    if (!user) throw new Error(`no user ${userName}`);
    const mailbox = await findMailboxByName(pool, user.id, mailboxName);
    if (!mailbox) throw new Error(`no mailbox ${mailboxName} for ${userName}`);
    const blobs = createPostgresBlobStore(pool);
    const bodies: (StoredBlob & { headerSummary: HeaderSummary })[] = [];
    for (const body of corpus) {
      const stored = await blobs.put(body);
      bodies.push({ ...stored, headerSummary: summarizeHeader(body.subarray(0, MAX_HEADER_BYTES)) });
    }
    // INTERNALDATEs a minute apart, ending now: sorting by date is not sorting by UID's order alone.
    const firstDate = Date.now() - count * 60_000;
    for (let done = 0; done < count; ) {
      const size = Math.min(GENERATE_BATCH, count - done);
      await pool.transaction(async (tx) => {
        const row = (await lockMailboxes(tx, user.id, [mailbox.id])).get(mailbox.id);
        if (!row) throw new Error(`mailbox ${mailboxName} is gone`);
        const before = mailboxState(row);
        const events: MailboxEvent[] = [];
        for (let i = 0; i < size; i++) {
          const index = done + i;
          const body = bodies[index % bodies.length]!;
          events.push({
            type: "MessageAppended",
            schemaVersion: 1,
            data: {
              uid: before.uidNext + i,
              modseq: before.highestModSeq + 1 + i,
              flags: generatedFlags(index, count, seenFraction),
              internalDate: new Date(firstDate + index * 60_000).toISOString(),
              size: body.size,
              blobDigest: body.digest,
              headerSummary: body.headerSummary,
            },
          } as MailboxEvent);
        }
        await commitChanges(
          tx,
          user.id,
          { actor: "bench", sessionId: "bench-generate", nodeId: "bench" },
          null,
          [{ before, events }],
        );
      });
      done += size;
      options.onProgress?.(done);
    }
    // What autovacuum does after a bulk load, at once rather than when it gets to it: statistics
    // for the planner, and the visibility map that lets index-only scans skip the table.
    await pool.query(sql.unsafe`VACUUM (ANALYZE) messages`);
  } finally {
    await pool.end();
  }
  return { count, ms: performance.now() - started };
}

/** How long the pipeline may take to derive the bodies of a generated mailbox. */
const BODIES_VIEW_TIMEOUT_MS = 15 * 60_000;

/**
 * Waits until the bodies view (fed through Kafka) has applied every event of the user's mailbox
 * `mailboxName`: what reads of ENVELOPE or SORT then find derived. Returns the ms it waited.
 */
export async function waitForBodiesView(
  databaseUrl: string,
  userName: string,
  mailboxName: string,
): Promise<number> {
  const pool = await createDatabasePool(databaseUrl, { maximumPoolSize: 1 });
  const started = performance.now();
  try {
    for (;;) {
      const caughtUp = await pool.oneFirst(sql.type(z.object({ caught_up: z.boolean() }))`
        SELECT coalesce((SELECT v.highest_modseq FROM proj_bodies.mailboxes AS v WHERE v.mailbox_id = mb.id), 0)
          >= mb.highest_modseq AS caught_up
        FROM mailboxes AS mb JOIN users AS u ON u.id = mb.user_id
        WHERE u.username = ${userName} AND u.deleted_at IS NULL AND mb.name = ${mailboxName} AND mb.status <> 'deleted'`);
      if (caughtUp) return performance.now() - started;
      if (performance.now() - started > BODIES_VIEW_TIMEOUT_MS)
        throw new Error("the bodies view did not catch up");
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await pool.end();
  }
}
