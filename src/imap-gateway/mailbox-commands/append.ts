// APPEND (RFC 3501 6.3.11) with UIDPLUS APPENDUID (RFC 4315), MULTIAPPEND (RFC 3502) and
// APPENDLIMIT (RFC 7889). Literals above the codec's stream threshold are spooled to a private
// temporary file while they arrive and streamed from it into the blob store, so a 50 MB message
// is never held in memory.
//
// CATENATE (RFC 4469) joins text and parts of the user's own messages, named by IMAP URLs, into
// the message to append (../catenate.ts).
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
import { type AppendMessageInput, appendMessages } from "../../commands/index.ts";
import { encodeBinaryParts } from "../../mime/index.ts";
import type {
  AppendLiteral,
  AppendMessage,
  CatenatePart,
  LiteralValue,
  StreamedLiteralInfo,
} from "../codec/index.ts";
import { encodeSequenceNumbers } from "../codec/index.ts";
import { no } from "../errors.ts";
import { catenate } from "../mail/catenate.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { resolveMailboxName } from "../mail/sharedNamespace.ts";
import {
  AUTHENTICATED_OR_SELECTED,
  type CommandContext,
  defineCommand,
  type SessionLiteralSink,
} from "../module.ts";
import { SelectedMailbox } from "../selected/mailbox.ts";

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

export interface PreparedBody {
  readonly body: Buffer | Readable;
  readonly size: number;
}

function spoolOf(literal: LiteralValue): LiteralSpool {
  if (literal.kind !== "streamed" || !(literal.handle instanceof LiteralSpool)) {
    throw new Error("APPEND literal was streamed elsewhere");
  }
  return literal.handle;
}

/** A literal's bytes in memory, spooled or not. */
async function literalBytes({ literal }: AppendLiteral): Promise<Buffer> {
  if (literal.kind === "buffered") return literal.data;
  const spool = spoolOf(literal);
  await spool.written();
  return readFile(spool.path);
}

export async function prepareLiteral(message: AppendLiteral): Promise<PreparedBody> {
  const { literal, binary } = message;
  // Binary content (literal8, RFC 3516) is re-encoded before it is stored, which needs the whole
  // message: then a large APPEND is read into memory (bounded by APPENDLIMIT).
  if (literal.kind === "buffered" || binary) {
    const data = await literalBytes(message);
    return { body: binary ? encodeBinaryParts(data) : data, size: data.length };
  }
  const spool = spoolOf(literal);
  await spool.written();
  return { body: spool.read(), size: literal.size };
}

/**
 * A CATENATE (RFC 4469) is joined in memory, bounded by APPENDLIMIT as a literal is. Its target
 * is checked first: a missing mailbox is NO [TRYCREATE] whatever its URLs say.
 */
export async function prepareCatenate(
  services: MailServices,
  context: CommandContext,
  mailbox: string,
  parts: readonly CatenatePart[],
): Promise<PreparedBody> {
  const user = context.session.user;
  if (user === undefined) throw no("not authenticated");
  const target = await services.queries.mailboxStatus(user.userId, mailbox);
  if (target === null || !target.selectable) throw no(`no mailbox named "${mailbox}"`, "TRYCREATE");
  const { body, binary } = await catenate(services, user, parts, literalBytes);
  return { body: binary ? encodeBinaryParts(body) : body, size: body.length };
}

export function spoolsOf(messages: readonly AppendMessage[]): LiteralSpool[] {
  const literals = messages.flatMap(({ content }) =>
    content.kind === "literal"
      ? [content.literal]
      : content.parts.flatMap((part) => (part.kind === "text" ? [part.literal] : [])),
  );
  return literals.flatMap((literal) =>
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
      "CATENATE",
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
        const target = await resolveMailboxName(services, context.session, mailbox);
        // A name in the other users' namespace that names nothing the user may see: as missing.
        if (target === null) throw no(`no mailbox named "${mailbox}"`, "TRYCREATE");
        const userId = target.ownerId;
        for (const message of messages) {
          const { content } = message;
          const { body, size } =
            content.kind === "literal"
              ? await prepareLiteral(content)
              : await prepareCatenate(services, context, mailbox, content.parts);
          bodies.push({
            body,
            declaredSize: size,
            flags: message.flags,
            ...(message.internalDate ? { internalDate: message.internalDate } : {}),
          });
        }
        const outcome = await appendMessages(domainContext(services, context), {
          userId,
          mailboxName: target.name,
          messages: bodies,
          ...(target.kind === "shared" ? { actorId: target.actorId } : {}),
        });
        // RFC 3501 6.3.11: a session with the mailbox selected learns of the new messages (EXISTS)
        // before the OK, and records them itself: their doorbell then finds nothing new to read.
        const selected = context.session.selected;
        if (selected instanceof SelectedMailbox && outcome.mailboxId === selected.mailboxId) {
          await selected.recordOwnAppend({
            previousHighestModSeq: outcome.previousHighestModSeq,
            lastGlobalPosition: outcome.lastGlobalPosition,
            appended: outcome.messages.map((m) => ({ uid: m.uid, flags: m.flags, modSeq: m.modseq })),
          });
        }
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
