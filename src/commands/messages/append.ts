// APPEND (RFC 3501 6.3.11, UIDPLUS APPENDUID, APPENDLIMIT) and MULTIAPPEND (RFC 3502): the
// bodies go to the blob store before the transaction; the limit is checked before a body is
// stored (declared size) and again against what was stored. The messages of one command are
// appended in one statement, all or none, decided from the mailbox as read; when concurrent
// appenders moved it meanwhile, they are decided again under the mailbox's row lock.
import type { FragmentSqlToken } from "slonik";
import { type BlobBody, chunksOf, type StoredBlob, sha256Hex } from "../../events/blobs/blobStore.ts";
import type { MailboxEvent } from "../../events/domain/mailboxEvents.ts";
import { MAX_HEADER_BYTES, summarizeHeader } from "../../events/messageSummary.ts";
import { requireRights } from "../acl/handlers.ts";
import { commitChanges, commitOptimistically } from "../commit.ts";
import { type DomainContext, inTransaction } from "../context.ts";
import { DomainError } from "../errors.ts";
import { decide, type MailboxState } from "../mailbox/decider.ts";
import { canonicalMailboxName } from "../names.ts";
import { findAppendTarget, lockMailboxes, mailboxState, requireStorageQuota } from "../writeModel.ts";
import { rightsForStore } from "./store.ts";

export interface AppendInput {
  userId: string;
  mailboxName: string;
  body: BlobBody;
  /** The literal's announced size: refused before a byte is stored if above the limit. */
  declaredSize?: number;
  flags?: readonly string[];
  internalDate?: Date;
  /** The UID to keep (imports from a store that had one): at least UIDNEXT, else CANNOT. */
  uid?: number;
}

export interface AppendOutcome {
  mailboxId: string;
  uidValidity: number;
  uid: number;
  modseq: number;
  size: number;
  blobDigest: string;
  lastGlobalPosition: number;
}

/** The most specific limit wins: mailbox, then user, then the global option (RFC 7889). */
export function effectiveAppendLimit(
  mailboxLimit: number | null,
  userLimit: number | null,
  globalLimit: number | null | undefined,
): number | null {
  return mailboxLimit ?? userLimit ?? globalLimit ?? null;
}

export function tooBig(size: number, limit: number): DomainError {
  return new DomainError("TOOBIG", `the message is ${size} octets, above the append limit of ${limit}`);
}

/**
 * Bodies up to this size are stored by the statement that appends their event, when the blob
 * store lives in the database (BlobStore.stageInStatement); larger ones before it.
 */
export const STAGED_BODY_LIMIT = 1024 * 1024;

export interface PreparedBody {
  stored: StoredBlob;
  head: Buffer;
  /**
   * The body's store, to run in the append's statement; absent once stored. Without a
   * statement of its own, it goes in the one statement of all the command's bodies.
   */
  staged?: { statement?: FragmentSqlToken; content: Buffer };
}

/** Stores (or stages) the body while keeping its first bytes for the header summary. */
export async function storeBody(ctx: DomainContext, body: BlobBody): Promise<PreparedBody> {
  if (Buffer.isBuffer(body)) {
    const head = body.subarray(0, MAX_HEADER_BYTES);
    // stageManyInStatement extends stageInStatement: a store without the one does not stage.
    if (
      ctx.blobStore.stageInStatement &&
      ctx.blobStore.stageManyInStatement &&
      body.length <= STAGED_BODY_LIMIT
    ) {
      return { stored: { digest: sha256Hex(body), size: body.length }, head, staged: { content: body } };
    }
    if (ctx.blobStore.stageInStatement && body.length <= STAGED_BODY_LIMIT) {
      const { stored, statement } = ctx.blobStore.stageInStatement(body);
      return { stored, head, staged: { statement, content: body } };
    }
    return { stored: await ctx.blobStore.put(body), head };
  }
  const head: Buffer[] = [];
  let headLength = 0;
  async function* capture() {
    for await (const chunk of chunksOf(body)) {
      if (headLength < MAX_HEADER_BYTES) {
        head.push(chunk.subarray(0, MAX_HEADER_BYTES - headLength));
        headLength += Math.min(chunk.length, MAX_HEADER_BYTES - headLength);
      }
      yield chunk;
    }
  }
  return { stored: await ctx.blobStore.put(capture()), head: Buffer.concat(head) };
}

/** The statements that store the staged bodies: one for all when the store can, else one each. */
function stagedStatements(
  ctx: DomainContext,
  prepared: readonly PreparedBody[],
): { name: string; body: FragmentSqlToken }[] {
  const together = prepared.filter(({ staged }) => staged !== undefined && staged.statement === undefined);
  const statements = prepared.flatMap(({ staged }, i) =>
    staged?.statement ? [{ name: `blob_${i}`, body: staged.statement }] : [],
  );
  if (together.length > 0 && ctx.blobStore.stageManyInStatement) {
    const { statement } = ctx.blobStore.stageManyInStatement(together.map(({ staged }) => staged!.content));
    statements.push({ name: "blobs_staged", body: statement });
  }
  return statements;
}

export async function appendMessage(ctx: DomainContext, input: AppendInput): Promise<AppendOutcome> {
  const { body, declaredSize, flags, internalDate } = input;
  const outcome = await appendMessages(ctx, {
    userId: input.userId,
    mailboxName: input.mailboxName,
    messages: [
      {
        body,
        ...(declaredSize !== undefined ? { declaredSize } : {}),
        ...(flags ? { flags } : {}),
        ...(internalDate ? { internalDate } : {}),
        ...(input.uid !== undefined ? { uid: input.uid } : {}),
      },
    ],
  });
  const { uid, modseq, size, blobDigest } = outcome.messages[0]!;
  return {
    mailboxId: outcome.mailboxId,
    uidValidity: outcome.uidValidity,
    uid,
    modseq,
    size,
    blobDigest,
    lastGlobalPosition: outcome.lastGlobalPosition,
  };
}

export type AppendMessageInput = Omit<AppendInput, "userId" | "mailboxName">;

export interface AppendMessagesOutcome {
  mailboxId: string;
  uidValidity: number;
  /** One per message, in order; flags as stored. */
  messages: { uid: number; modseq: number; flags: string[]; size: number; blobDigest: string }[];
  /** The mailbox's HIGHESTMODSEQ the command decided on, under its lock. */
  previousHighestModSeq: number;
  lastGlobalPosition: number;
}

/**
 * Appends several messages to one mailbox, all or none (RFC 3502 MULTIAPPEND): every body is
 * stored first, then one transaction decides and appends them all, so a failure at any point
 * appends nothing. A refusal of one message says which one, for more than one.
 */
export async function appendMessages(
  ctx: DomainContext,
  input: {
    userId: string;
    mailboxName: string;
    messages: readonly AppendMessageInput[];
    /**
     * Another user appending to the owner's mailbox (RFC 4314 4): needs "i"; a flag it may not
     * set ("s" for \Seen, "t" for \Deleted, "w" for the others) is dropped.
     */
    actorId?: string;
  },
): Promise<AppendMessagesOutcome> {
  const total = input.messages.length;
  if (total === 0) throw new RangeError("appendMessages needs at least one message");
  const which = (index: number) => (error: unknown) => {
    if (total === 1 || !(error instanceof DomainError)) return error;
    return new DomainError(
      error.code,
      `message ${index + 1} of ${total}: ${error.message}; none was appended`,
    );
  };
  const name = canonicalMailboxName(input.mailboxName);
  const mailbox = await findAppendTarget(ctx.pool, input.userId, name);
  if (!mailbox) throw new DomainError("TRYCREATE", `no mailbox named "${name}"`);
  if (input.actorId !== undefined && input.actorId !== input.userId) {
    const held = await requireRights(ctx.pool, input.actorId, mailbox.id, "i", "APPEND");
    input = {
      ...input,
      messages: input.messages.map((message) => ({
        ...message,
        ...(message.flags
          ? {
              // \Seen is each user's own on a shared mailbox (RFC 4314 5.3): the appender's
              // would not be the owner's, so it is not stored in the message's flags.
              flags: message.flags.filter(
                (flag) => flag.toLowerCase() !== "\\seen" && held.includes(rightsForStore("add", [flag])),
              ),
            }
          : {}),
      })),
    };
  }
  const userLimit = mailbox.user_append_limit;
  const limitBefore = effectiveAppendLimit(mailbox.append_limit, userLimit, ctx.appendLimit);
  // Every declared size first: nothing is stored for a command that is refused anyway.
  input.messages.forEach((message, index) => {
    if (limitBefore !== null && message.declaredSize !== undefined && message.declaredSize > limitBefore) {
      throw which(index)(tooBig(message.declaredSize, limitBefore));
    }
  });
  const prepared: (PreparedBody & { message: AppendMessageInput })[] = [];
  for (const [index, message] of input.messages.entries()) {
    const body = await storeBody(ctx, message.body);
    // A body stored but refused stays unreferenced: garbage collection removes it.
    if (limitBefore !== null && body.stored.size > limitBefore)
      throw which(index)(tooBig(body.stored.size, limitBefore));
    prepared.push({ ...body, message });
  }

  const totalSize = prepared.reduce((sum, { stored }) => sum + stored.size, 0);
  const withWhich = (error: unknown) =>
    total === 1 || !(error instanceof DomainError)
      ? error
      : new DomainError(error.code, `${error.message}; none of the ${total} messages was appended`);
  /** The messages' events on the state decided from; a refusal says which message. */
  const decideAll = (before: MailboxState, appendLimit: number | null, now: Date) => {
    let state = before;
    const events: MailboxEvent[] = [];
    for (const [index, { message, stored, head }] of prepared.entries()) {
      let decided: MailboxEvent[];
      try {
        decided = decide(
          {
            type: "AppendMessage",
            flags: message.flags ?? [],
            ...(message.internalDate ? { internalDate: message.internalDate } : {}),
            size: stored.size,
            blobDigest: stored.digest,
            headerSummary: summarizeHeader(head),
            appendLimit,
            ...(message.uid !== undefined ? { uid: message.uid } : {}),
          },
          state,
          now,
        );
      } catch (error) {
        throw which(index)(error);
      }
      events.push(...decided);
      // Only UIDNEXT and HIGHESTMODSEQ decide the next append: the messages map stays as read,
      // not copied once per message (quadratic in a batch of an import's size).
      for (const event of decided) {
        if (event.type !== "MessageAppended") continue;
        state = {
          ...state,
          uidNext: Math.max(state.uidNext, event.data.uid + 1),
          highestModSeq: event.data.modseq,
        };
      }
    }
    return events;
  };
  const outcomeOf = (before: MailboxState, events: readonly MailboxEvent[], position: number) => ({
    mailboxId: before.mailboxId,
    uidValidity: before.uidValidity,
    messages: events.map((event, index) => {
      if (event.type !== "MessageAppended") throw new Error("APPEND decided something else");
      return {
        uid: event.data.uid,
        modseq: event.data.modseq,
        flags: [...event.data.flags],
        size: prepared[index]!.stored.size,
        blobDigest: prepared[index]!.stored.digest,
      };
    }),
    previousHighestModSeq: before.highestModSeq,
    lastGlobalPosition: position,
  });

  // The account's quota (RFC 9208), for all the messages at once, from the index's counters.
  if (mailbox.user_storage_limit !== null) {
    await requireStorageQuota(ctx.pool, input.userId, totalSize).catch((error: unknown) => {
      throw withWhich(error);
    });
  }
  // Decided from the read above, committed in one statement if the mailbox has not moved since.
  const read = mailboxState(mailbox);
  const decided = decideAll(read, limitBefore, ctx.now());
  const fast = await commitOptimistically(
    ctx.pool,
    input.userId,
    ctx.metadata,
    { before: read, events: decided },
    {
      appendLimit: mailbox.append_limit,
      statements: stagedStatements(ctx, prepared),
    },
  );
  if (fast) {
    ctx.onCommitted?.();
    return outcomeOf(read, decided, fast.lastGlobalPosition!);
  }

  // Decided again under the lock; the bodies staged for the statement are stored first.
  for (const body of prepared) {
    if (body.staged) await ctx.blobStore.put(body.staged.content);
  }
  return inTransaction(ctx, async (tx) => {
    const row = (await lockMailboxes(tx, input.userId, [mailbox.id])).get(mailbox.id);
    if (row?.status !== "selectable") throw new DomainError("TRYCREATE", `no mailbox named "${name}"`);
    const before = mailboxState(row);
    // The mailbox's own limit as of the lock; the user's and global as read above.
    const events = decideAll(
      before,
      effectiveAppendLimit(row.append_limit, userLimit, ctx.appendLimit),
      ctx.now(),
    );
    if (mailbox.user_storage_limit !== null) {
      await requireStorageQuota(tx, input.userId, totalSize).catch((error: unknown) => {
        throw withWhich(error);
      });
    }
    const committed = await commitChanges(tx, input.userId, ctx.metadata, null, [{ before, events }]);
    return outcomeOf(before, events, committed.lastGlobalPosition!);
  });
}
