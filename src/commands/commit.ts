// One command's unit of work: append the decided events to their streams (all or none) and
// apply them to the mailbox index, inside the caller's transaction (DESIGN.md: the index is an
// inline projection, committed with the events it is made from).
import {
  type CommonQueryMethods,
  type DatabaseTransactionConnection,
  type FragmentSqlToken,
  sql,
} from "slonik";
import { type AppendSuccess, appendToStream } from "../events/appendToStream.ts";
import { appendToStreams, type StreamAppend } from "../events/appendToStreams.ts";
import { mayHaveCommitted, noteEventWritten, resolveLostCommit } from "../events/commitOutcome.ts";
import type { MailboxEvent } from "../events/domain/mailboxEvents.ts";
import type { UserEvent } from "../events/domain/userEvents.ts";
import { type EventMetadata, mailboxStreamId, newEventId, userStreamId } from "../events/envelope.ts";
import { StreamConflict } from "./context.ts";
import { evolveAll, type MailboxState } from "./mailbox/decider.ts";
import {
  applyMailboxEvents,
  applyUserEvents,
  type IndexStatement,
  mailboxWriteStatements,
} from "./writeModel.ts";

export interface UserStreamChange {
  /** The user row's stream_version, read under its lock (0 for a new account). */
  expectedVersion: number;
  events: readonly UserEvent[];
}

export interface MailboxStreamChange {
  /** The state decided on; its highestModSeq is the stream's version (0 for a new mailbox). */
  before: MailboxState;
  events: readonly MailboxEvent[];
}

export interface Committed {
  /** Position of the last event written; null when the command decided nothing. */
  lastGlobalPosition: number | null;
  /** The state of each changed mailbox after the command, by id. */
  mailboxes: Map<string, MailboxState>;
}

export async function commitChanges(
  tx: DatabaseTransactionConnection,
  userId: string,
  metadata: Omit<EventMetadata, "userId">,
  user: UserStreamChange | null,
  mailboxChanges: readonly MailboxStreamChange[],
): Promise<Committed> {
  const changes = mailboxChanges.filter((change) => change.events.length > 0);
  const appends: StreamAppend[] = [];
  if (user && user.events.length > 0) {
    appends.push({
      streamId: userStreamId(userId),
      expectedVersion: user.expectedVersion,
      events: user.events,
    });
  }
  for (const change of changes) {
    appends.push({
      streamId: mailboxStreamId(change.before.mailboxId),
      expectedVersion: change.before.highestModSeq,
      events: change.events,
    });
  }
  const mailboxes = new Map<string, MailboxState>();
  if (appends.length === 0) return { lastGlobalPosition: null, mailboxes };

  const fullMetadata: EventMetadata = { ...metadata, userId };
  let appended: AppendSuccess[];
  // One mailbox stream alone (APPEND, STORE, EXPUNGE): its index rows go with the append, when
  // they are one statement's worth, a round trip less under the mailbox lock.
  const carried =
    appends.length === 1 && changes.length === 1 && !user ? carriedIndex(changes[0]!) : undefined;
  if (appends.length === 1) {
    const only = appends[0]!;
    const result = await appendToStream(tx, only.streamId, only.expectedVersion, only.events, fullMetadata, {
      alongside: carried?.ctes ?? [],
    });
    if (!result.ok) throw new StreamConflict(result.streamId);
    appended = [result];
  } else {
    const result = await appendToStreams(tx, appends, fullMetadata);
    if (!result.ok) throw new StreamConflict(result.streamId);
    appended = result.streams;
  }
  noteEventWritten(tx, appended[0]!.eventIds[0]!);

  // User events first: they insert the rows of mailboxes created in this same commit.
  if (user && user.events.length > 0) {
    await applyUserEvents(tx, userId, user.events, user.expectedVersion + user.events.length);
  }
  for (const change of changes) {
    if (!carried) await applyMailboxEvents(tx, change.before.mailboxId, change.events);
    const after = evolveAll(change.before, change.events);
    mailboxes.set(after.mailboxId, after);
  }
  return { lastGlobalPosition: Math.max(...appended.map((result) => result.lastGlobalPosition)), mailboxes };
}

/** The change's index rows as one statement's CTEs, or undefined when they take several. */
function carriedIndex(change: MailboxStreamChange): IndexStatement | undefined {
  const statements = mailboxWriteStatements(change.before.mailboxId, change.events);
  return statements.length === 1 ? statements[0] : undefined;
}

/**
 * Commits one mailbox stream's events in ONE statement outside any transaction, when the caller
 * decided from an unlocked read (readMailboxForDecision): the statement locks the mailbox row
 * only if its HIGHESTMODSEQ is still the one decided on, then appends and writes the index. Null
 * when something moved meanwhile, or when the index rows take more than one statement: the
 * caller then decides again under the mailbox's lock (inTransaction), which always succeeds.
 * The lock order is the locked path's: mailbox row, then the stream's gate.
 */
export async function commitOptimistically(
  pool: CommonQueryMethods,
  userId: string,
  metadata: Omit<EventMetadata, "userId">,
  change: MailboxStreamChange,
  options: {
    /** A mailbox column the decision read besides HIGHESTMODSEQ, which must be unchanged too. */
    appendLimit?: number | null;
    /** Further statements of the command (APPEND's bodies), committed with it. */
    statements?: readonly { name: string; body: FragmentSqlToken }[];
    /** How long a lost reply waits for the database to say whether it committed. */
    resolveMs?: number;
  } = {},
): Promise<Committed | null> {
  if (change.events.length === 0) return { lastGlobalPosition: null, mailboxes: new Map() };
  const statements = mailboxWriteStatements(
    change.before.mailboxId,
    change.events,
    sql.fragment`EXISTS (SELECT 1 FROM gate)`,
  );
  if (statements.length !== 1) return null;
  // Ids drawn here, so that a statement whose reply is lost can be looked up in the log.
  const events = change.events.map((event) => ({ ...event, eventId: newEventId() }));
  const result = await appendToStream(
    pool,
    mailboxStreamId(change.before.mailboxId),
    change.before.highestModSeq,
    events,
    { ...metadata, userId },
    {
      precondition: {
        name: "decided_from",
        body: sql.fragment`
          SELECT id FROM mailboxes
          WHERE id = ${change.before.mailboxId} AND user_id = ${userId} AND status = 'selectable'
            AND highest_modseq = ${change.before.highestModSeq}
            ${
              options.appendLimit === undefined
                ? sql.fragment``
                : sql.fragment`AND append_limit IS NOT DISTINCT FROM ${options.appendLimit}::int8`
            }
          FOR UPDATE`,
      },
      alongside: [...(options.statements ?? []), ...statements[0]!.ctes],
    },
  ).catch(async (error: unknown) => {
    if (!mayHaveCommitted(error)) throw error;
    // Sent, then the connection went: committed or not, the log tells once the database answers.
    const position = await resolveLostCommit(
      pool,
      events.map((event) => event.eventId),
      options.resolveMs,
    );
    if (position === null) throw error;
    return { ok: true as const, lastGlobalPosition: position };
  });
  if (!result.ok) return null;
  const after = evolveAll(change.before, change.events);
  return { lastGlobalPosition: result.lastGlobalPosition, mailboxes: new Map([[after.mailboxId, after]]) };
}
