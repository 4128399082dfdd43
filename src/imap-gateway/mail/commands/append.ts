// APPEND (RFC 3501 6.3.11) with UIDPLUS APPENDUID (RFC 4315), MULTIAPPEND (RFC 3502) and
// APPENDLIMIT (RFC 7889). Literals above the codec's stream threshold are spooled to a private
// temporary file while they arrive and streamed from it into the blob store, so a 50 MB message
// is never held in memory.
//
// A message sent as a literal8 (RFC 3516 BINARY) is stored with its binary parts in base64, so
// BODY[...] never has to put a NUL in a literal (encodeBinaryParts).
//
// MULTIAPPEND is all or nothing (RFC 3502): the command side checks the target and every
// message's declared size before it stores the first body, and appends the messages in one
// transaction, so a failure at any point (the mailbox deleted meanwhile, a database failure)
// appends none of them.
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { readFile, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { type AppendMessageInput, appendMessages } from "../../../commands/index.ts";
import { encodeBinaryParts } from "../../../projections/mime/index.ts";
import type { AppendMessage, LiteralValue, StreamedLiteralInfo } from "../../codec/index.ts";
import { encodeSequenceNumbers } from "../../codec/index.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand, type SessionLiteralSink } from "../../module.ts";
import { MailboxController } from "../mailboxController.ts";
import { awaitVisible, domainContext, type MailServices } from "../services.ts";
import { domainCall, userIdOf } from "../session.ts";

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

async function prepareBody(literal: LiteralValue, binary: boolean): Promise<PreparedBody> {
  if (literal.kind === "buffered") {
    return { body: binary ? encodeBinaryParts(literal.data) : literal.data, size: literal.data.length };
  }
  if (!(literal.handle instanceof LiteralSpool)) throw new Error("APPEND literal was streamed elsewhere");
  await literal.handle.written();
  // Binary content (literal8, RFC 3516) is re-encoded before it is stored, which needs the whole
  // message: the one case where a large APPEND is read into memory (bounded by APPENDLIMIT).
  if (binary) return { body: encodeBinaryParts(await readFile(literal.handle.path)), size: literal.size };
  return { body: literal.handle.read(), size: literal.size };
}

function spoolsOf(messages: readonly AppendMessage[]): LiteralSpool[] {
  return messages.flatMap(({ literal }) =>
    literal.kind === "streamed" && literal.handle instanceof LiteralSpool ? [literal.handle] : [],
  );
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
      const bodies: AppendMessageInput[] = [];
      try {
        const userId = userIdOf(context.session);
        for (const message of messages) {
          const { body, size } = await prepareBody(message.literal, message.binary);
          bodies.push({
            body,
            declaredSize: size,
            flags: message.flags,
            ...(message.internalDate ? { internalDate: message.internalDate } : {}),
          });
        }
        const outcome = await domainCall(() =>
          appendMessages(domainContext(services, context), {
            userId,
            mailboxName: mailbox,
            messages: bodies,
          }),
        );
        // RFC 3501 6.3.11: a session with the mailbox selected learns of the new messages (EXISTS)
        // before the OK. Recorded before the wait, so their notice finds nothing new to read; the
        // \Recent claim runs during the wait.
        const selected = context.session.selected;
        const recorded =
          selected instanceof MailboxController && outcome.mailboxId === selected.mailboxId
            ? selected.recordOwnAppend({
                previousHighestModSeq: outcome.previousHighestModSeq,
                lastGlobalPosition: outcome.lastGlobalPosition,
                appended: outcome.messages.map((m) => ({ uid: m.uid, flags: m.flags, modSeq: m.modseq })),
              })
            : undefined;
        await Promise.all([awaitVisible(services, { userId }, outcome.lastGlobalPosition), recorded]);
        const uids = outcome.messages.map((message) => message.uid);
        return {
          code: `APPENDUID ${outcome.uidValidity} ${encodeSequenceNumbers(uids)}`,
          text: "APPEND completed",
        };
      } finally {
        // A refused command may leave spool readers unread: close their files.
        for (const { body } of bodies) if (body instanceof Readable) body.destroy();
        await Promise.all(spoolsOf(messages).map((spool) => spool.release()));
      }
    },
  });
}
