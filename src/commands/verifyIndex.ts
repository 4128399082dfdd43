// `projections verify index`: proves contract 6 for the mailbox index on a live database. In one
// snapshot it replays the log through the very statements commands write the index with
// (writeModel.ts) into scratch tables, and compares them with the live index row for row. The
// scratch schema lives inside a transaction that is rolled back: nothing is left behind, and
// traffic goes on meanwhile (the snapshot sees neither its writes nor the replay).
import { randomBytes } from "node:crypto";
import { type CommonQueryMethods, sql } from "slonik";
import { compareRelations, type TableComparison } from "../events/compareRelations.ts";
import { parseDomainEvent } from "../events/domain/index.ts";
import type { MailboxEvent } from "../events/domain/mailboxEvents.ts";
import type { UserEvent } from "../events/domain/userEvents.ts";
import type { RecordedEvent } from "../events/envelope.ts";
import { readSnapshotPage } from "../events/readSnapshot.ts";
import type { Upcasters } from "../events/upcasting.ts";
import { applyMailboxEvents, applyUserEvents } from "./writeModel.ts";

/** The index's tables, with the columns a replay cannot reproduce (when a row was written). */
export const INDEX_TABLES: readonly { table: string; ignore: readonly string[] }[] = [
  { table: "users", ignore: ["created_at", "deleted_at"] },
  { table: "mailboxes", ignore: ["created_at", "deleted_at"] },
  { table: "retired_mailbox_names", ignore: [] },
  { table: "subscriptions", ignore: [] },
  { table: "messages", ignore: [] },
  { table: "tombstones", ignore: [] },
  { table: "metadata_entries", ignore: [] },
  { table: "mailbox_acl", ignore: [] },
  { table: "private_seen", ignore: [] },
];

const REPLAY_PAGE = 2_000;

export interface VerifyReport {
  name: string;
  /** The last position replayed: the snapshot's head. */
  position: number;
  events: number;
  tables: TableComparison[];
  equal: boolean;
}

export interface VerifyIndexOptions {
  upcasters?: Upcasters;
  onProgress?: (progress: { events: number; position: number }) => void;
}

/**
 * Replays the log and compares, on `connection`, which must be in a REPEATABLE READ transaction
 * that the caller rolls back (readSnapshot.ts's inRolledBackSnapshot).
 */
export async function verifyIndex(
  connection: CommonQueryMethods,
  options: VerifyIndexOptions = {},
): Promise<VerifyReport> {
  const scratch = `mailledger_verify_${randomBytes(6).toString("hex")}`;
  await connection.query(sql.unsafe`CREATE SCHEMA ${sql.identifier([scratch])}`);
  for (const { table } of INDEX_TABLES) {
    await connection.query(sql.unsafe`
      CREATE TABLE ${sql.identifier([scratch, table])}
        (LIKE ${sql.identifier(["public", table])} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`);
  }
  // The statements name the index's tables unqualified: here they find the scratch ones.
  await connection.query(sql.unsafe`SELECT set_config('search_path', ${`${scratch}, public`}, true)`);
  let position = 0;
  let events = 0;
  for (;;) {
    const page = await readSnapshotPage(connection, position, REPLAY_PAGE, options.upcasters);
    if (page.length === 0) break;
    await replay(connection, page);
    position = page.at(-1)!.globalPosition;
    events += page.length;
    options.onProgress?.({ events, position });
  }
  await connection.query(sql.unsafe`SELECT set_config('search_path', 'public', true)`);
  const tables: TableComparison[] = [];
  for (const { table, ignore } of INDEX_TABLES) {
    tables.push(
      await compareRelations(
        connection,
        table,
        sql.identifier(["public", table]),
        sql.identifier([scratch, table]),
        ignore,
      ),
    );
  }
  return {
    name: "index",
    position,
    events,
    tables,
    equal: tables.every((t) => t.onlyLive === 0 && t.onlyRebuilt === 0),
  };
}

/** Applies events as commands did: each run of one stream's events in one call, in log order. */
async function replay(connection: CommonQueryMethods, page: readonly RecordedEvent[]) {
  for (let start = 0; start < page.length; ) {
    let end = start + 1;
    while (end < page.length && page[end]!.streamId === page[start]!.streamId) end += 1;
    const run = page.slice(start, end);
    const streamId = run[0]!.streamId;
    const domain = run.map((event) => parseDomainEvent(event));
    if (streamId.startsWith("user-")) {
      await applyUserEvents(
        connection,
        streamId.slice("user-".length),
        domain as UserEvent[],
        run.at(-1)!.streamVersion,
      );
    } else if (streamId.startsWith("mailbox-")) {
      await applyMailboxEvents(connection, streamId.slice("mailbox-".length), domain as MailboxEvent[]);
    }
    start = end;
  }
}
