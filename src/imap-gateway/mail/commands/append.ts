// APPEND (RFC 3501 6.3.11) with UIDPLUS APPENDUID (RFC 4315), MULTIAPPEND (RFC 3502) and
// APPENDLIMIT (RFC 7889). Literals above the codec's stream threshold are spooled to a private
// temporary file while they arrive and streamed from it into the blob store, so a 50 MB message
// is never held in memory.
//
// MULTIAPPEND is all or nothing for the refusals a client can cause: the target and every
// message's size are checked before the first message is stored. The messages are then appended
// one by one, each in its own transaction (the command side has no multi-message APPEND); if a
// later one fails for another reason (the mailbox deleted meanwhile, a database failure), the
// earlier ones stay and the NO says how many were appended.
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { appendMessage, canonicalMailboxName, effectiveAppendLimit } from "../../../commands/index.ts";
import { findAppendTarget } from "../../../commands/writeModel.ts";
import type { AppendMessage, LiteralValue, StreamedLiteralInfo } from "../../codec/index.ts";
import { encodeSequenceNumbers } from "../../codec/index.ts";
import { ImapError, no } from "../../errors.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand, type SessionLiteralSink } from "../../module.ts";
import { MailboxController } from "../mailboxController.ts";
import { awaitVisible, domainContext, type MailServices } from "../services.ts";
import { asImapError, domainCall, userIdOf } from "../session.ts";

/**
 * A spooled literal nobody consumed (the command failed to parse after its literal, or the
 * connection went away between the literal and the handler) is removed after this long.
 */
export const ORPHAN_SPOOL_TTL_MS = 10 * 60_000;

/** Where a streamed APPEND literal went: a temporary file only this process knows. */
export class LiteralSpool {
  readonly path: string;
  readonly size: number;
  readonly #stream: WriteStream;
  readonly #written: Promise<void>;
  readonly #orphanTimer: NodeJS.Timeout;
  #released = false;

  constructor(directory: string, size: number) {
    this.path = join(directory, `mailledger-append-${randomUUID()}`);
    this.size = size;
    this.#stream = createWriteStream(this.path, { flags: "wx", mode: 0o600 });
    this.#written = finished(this.#stream);
    // Observed here, reported by written(): an unobserved rejection must not crash the node.
    this.#written.catch(() => {});
    this.#orphanTimer = setTimeout(() => void this.release(), ORPHAN_SPOOL_TTL_MS);
    this.#orphanTimer.unref();
  }

  sink(): SessionLiteralSink {
    return {
      handle: this,
      write: (chunk) => this.#stream.write(chunk),
      drained: () =>
        this.#stream.writableNeedDrain
          ? new Promise<void>((resolve) => {
              this.#stream.once("drain", resolve);
              this.#stream.once("close", resolve);
            })
          : Promise.resolve(),
      end: () => this.#stream.end(),
      abort: () => void this.release(),
    };
  }

  /** Resolves once every byte is on disk; rejects if writing failed. */
  written(): Promise<void> {
    return this.#written;
  }

  read(): Readable {
    return createReadStream(this.path);
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearTimeout(this.#orphanTimer);
    this.#stream.destroy();
    await unlink(this.path).catch(() => {});
  }
}

interface PreparedBody {
  readonly body: Buffer | Readable;
  readonly size: number;
}

async function prepareBody(literal: LiteralValue): Promise<PreparedBody> {
  if (literal.kind === "buffered") return { body: literal.data, size: literal.data.length };
  if (!(literal.handle instanceof LiteralSpool)) throw new Error("APPEND literal was streamed elsewhere");
  await literal.handle.written();
  return { body: literal.handle.read(), size: literal.size };
}

function spoolsOf(messages: readonly AppendMessage[]): LiteralSpool[] {
  return messages.flatMap(({ literal }) =>
    literal.kind === "streamed" && literal.handle instanceof LiteralSpool ? [literal.handle] : [],
  );
}

function literalSize(literal: LiteralValue): number {
  return literal.kind === "buffered" ? literal.data.length : literal.size;
}

/** MULTIAPPEND: refuse up front what would refuse any one message, before storing any. */
async function checkAll(
  services: MailServices,
  userId: string,
  mailboxName: string,
  messages: readonly AppendMessage[],
): Promise<void> {
  const name = await domainCall(async () => canonicalMailboxName(mailboxName));
  const target = await findAppendTarget(services.pool, userId, name);
  if (target === null) throw no(`no mailbox named "${name}"`, "TRYCREATE");
  const limit = effectiveAppendLimit(target.append_limit, target.user_append_limit, services.appendLimit);
  if (limit === null) return;
  messages.forEach(({ literal }, index) => {
    const size = literalSize(literal);
    if (size > limit) {
      throw no(`message ${index + 1} is ${size} octets, above the append limit of ${limit}`, "TOOBIG");
    }
  });
}

export function appendCommand(services: MailServices) {
  return defineCommand({
    names: ["APPEND"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => [
      "UIDPLUS",
      "MULTIAPPEND",
      // RFC 7889 section 3: without a value, the limit is per mailbox (STATUS APPENDLIMIT).
      services.appendLimit === null ? "APPENDLIMIT" : `APPENDLIMIT=${services.appendLimit}`,
    ],
    maxLiteralSize: (_session, limits) =>
      Math.min(limits.maxAppendLiteralSize, services.appendLimit ?? Infinity),
    openLiteralSink: (info: StreamedLiteralInfo) => new LiteralSpool(tmpdir(), info.size).sink(),
    async handle(command, context) {
      const { mailbox, messages } = command.args;
      try {
        const userId = userIdOf(context.session);
        if (messages.length > 1) await checkAll(services, userId, mailbox, messages);
        const ctx = domainContext(services, context);
        const appended: { mailboxId: string; uidValidity: number; uid: number }[] = [];
        let lastPosition: number | undefined;
        let failure: unknown;
        for (const message of messages) {
          try {
            const { body, size } = await prepareBody(message.literal);
            const outcome = await appendMessage(ctx, {
              userId,
              mailboxName: mailbox,
              body,
              declaredSize: size,
              flags: message.flags,
              ...(message.internalDate ? { internalDate: message.internalDate } : {}),
            });
            appended.push(outcome);
            lastPosition = outcome.lastGlobalPosition;
          } catch (error) {
            failure = error;
            break;
          }
        }
        await awaitVisible(services, { userId }, lastPosition);
        const selected = context.session.selected;
        if (
          selected instanceof MailboxController &&
          appended.some((a) => a.mailboxId === selected.mailboxId)
        ) {
          // RFC 3501 6.3.11: the session learns of the new message (EXISTS) before the OK.
          selected.markDirty(lastPosition);
        }
        if (failure !== undefined) throw partialFailure(failure, appended.length, messages.length);
        const last = appended.at(-1)!;
        const uids = appended.filter((a) => a.uidValidity === last.uidValidity).map((a) => a.uid);
        return {
          code: `APPENDUID ${last.uidValidity} ${encodeSequenceNumbers(uids)}`,
          text: "APPEND completed",
        };
      } finally {
        await Promise.all(spoolsOf(messages).map((spool) => spool.release()));
      }
    },
  });
}

/** The error of a failed message; for MULTIAPPEND, says how many went in before it. */
function partialFailure(error: unknown, appended: number, total: number): unknown {
  const mapped = asImapError(error);
  if (total === 1 || !(mapped instanceof ImapError)) return mapped;
  return new ImapError(
    mapped.status,
    `${mapped.message} (message ${appended + 1} of ${total}; the ${appended} before it were appended)`,
    mapped.code,
  );
}
