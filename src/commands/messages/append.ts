// APPEND (RFC 3501 6.3.11, UIDPLUS APPENDUID, APPENDLIMIT): the body goes to the blob store
// before the transaction; the limit is checked before the body is stored (declared size) and
// again against what was stored. Concurrent appenders to one mailbox queue on its row lock.
import { type BlobBody, chunksOf } from "../../events/blobs/blobStore.ts";
import { MAX_HEADER_BYTES, summarizeHeader } from "../../events/messageSummary.ts";
import { commitChanges } from "../commit.ts";
import { type CommandContext, inTransaction } from "../context.ts";
import { DomainError } from "../errors.ts";
import { decide } from "../mailbox/decider.ts";
import { canonicalMailboxName } from "../names.ts";
import { findAppendTarget, lockMailboxes, mailboxState } from "../writeModel.ts";

export interface AppendInput {
  userId: string;
  mailboxName: string;
  body: BlobBody;
  /** The literal's announced size: refused before a byte is stored if above the limit. */
  declaredSize?: number;
  flags?: readonly string[];
  internalDate?: Date;
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

function tooBig(size: number, limit: number): DomainError {
  return new DomainError("TOOBIG", `the message is ${size} octets, above the append limit of ${limit}`);
}

/** Stores the body while keeping its first bytes for the header summary. */
async function storeBody(ctx: CommandContext, body: BlobBody) {
  if (Buffer.isBuffer(body)) {
    return { stored: await ctx.blobStore.put(body), head: body.subarray(0, MAX_HEADER_BYTES) };
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

export async function appendMessage(ctx: CommandContext, input: AppendInput): Promise<AppendOutcome> {
  const name = canonicalMailboxName(input.mailboxName);
  const mailbox = await findAppendTarget(ctx.pool, input.userId, name);
  if (!mailbox) throw new DomainError("TRYCREATE", `no mailbox named "${name}"`);
  const userLimit = mailbox.user_append_limit;
  const limitBefore = effectiveAppendLimit(mailbox.append_limit, userLimit, ctx.appendLimit);
  if (limitBefore !== null && input.declaredSize !== undefined && input.declaredSize > limitBefore) {
    throw tooBig(input.declaredSize, limitBefore);
  }
  const { stored, head } = await storeBody(ctx, input.body);
  // A body stored but refused stays unreferenced: garbage collection removes it.
  if (limitBefore !== null && stored.size > limitBefore) throw tooBig(stored.size, limitBefore);
  const headerSummary = summarizeHeader(head);

  return inTransaction(ctx, async (tx) => {
    const row = (await lockMailboxes(tx, input.userId, [mailbox.id])).get(mailbox.id);
    if (row?.status !== "selectable") throw new DomainError("TRYCREATE", `no mailbox named "${name}"`);
    const before = mailboxState(row);
    const events = decide(
      {
        type: "AppendMessage",
        flags: input.flags ?? [],
        ...(input.internalDate ? { internalDate: input.internalDate } : {}),
        size: stored.size,
        blobDigest: stored.digest,
        headerSummary,
        // The mailbox's own limit as of the lock; the user's and global as read above.
        appendLimit: effectiveAppendLimit(row.append_limit, userLimit, ctx.appendLimit),
      },
      before,
      ctx.now(),
    );
    const committed = await commitChanges(tx, input.userId, ctx.metadata, null, [{ before, events }]);
    const appended = events[0]!;
    if (appended.type !== "MessageAppended") throw new Error("APPEND decided something else");
    return {
      mailboxId: row.id,
      uidValidity: row.uid_validity,
      uid: appended.data.uid,
      modseq: appended.data.modseq,
      size: stored.size,
      blobDigest: stored.digest,
      lastGlobalPosition: committed.lastGlobalPosition!,
    };
  });
}
