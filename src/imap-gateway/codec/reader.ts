// Incremental framing of the client's byte stream into complete commands (line + literals).
//
// The reader is a state machine fed whatever the socket delivers. It never throws: every outcome,
// including malformed or hostile input, is a ReaderResult the session acts on. Its own memory is
// bounded by maxLineLength + maxCommandSize; literals above streamThreshold go to a caller-supplied
// sink chunk by chunk, so an APPEND body can be written to disk while it arrives.
// Models: go-imap v2 internal/imapwire, Stalwart imap-proto receiver.

import { type CommandFrame, type LiteralValue, peekTagAndName } from "./frame.ts";
import {
  DEFAULT_MAX_COMMAND_SIZE,
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_LITERAL_SIZE,
  DEFAULT_STREAM_THRESHOLD,
  LITERAL_MINUS_MAX,
} from "./limits.ts";

/** Destination of a streamed literal. */
export interface LiteralSink {
  /** Returns false when the destination is saturated: the session should pause the socket until it drains. */
  write(chunk: Buffer): boolean;
  /** All `size` bytes arrived. */
  end(): void;
  /** The command was abandoned (connection closed, sink failure); discard what was written. */
  abort(reason: string): void;
  /** What the parsed command carries in place of the bytes (a temp file path, a blob upload id, ...). */
  readonly handle: unknown;
}

export interface StreamedLiteralInfo {
  readonly tag: string | undefined;
  readonly name: string | undefined;
  readonly size: number;
  /** Position of this literal within the command (MULTIAPPEND sends several). */
  readonly index: number;
  readonly nonSync: boolean;
}

/**
 * Which non-synchronizing literals the server advertised: "plus" = LITERAL+ (any size up to the limit),
 * "minus" = LITERAL- (RFC 7888: at most 4096 octets), "none" = neither.
 */
export type NonSyncLiteralMode = "plus" | "minus" | "none";

export interface CommandReaderOptions {
  readonly maxLineLength?: number;
  /** Default limit for a literal when literalLimit gives none. */
  readonly maxLiteralSize?: number;
  /** Bytes of lines and buffered literals one command may hold. */
  readonly maxCommandSize?: number;
  /** Literals larger than this are streamed to openLiteralSink (when given) instead of buffered. */
  readonly streamThreshold?: number;
  /** Per-command literal limit (e.g. APPEND → APPENDLIMIT); undefined means maxLiteralSize. */
  readonly literalLimit?: (name: string | undefined, tag: string | undefined) => number | undefined;
  readonly openLiteralSink?: (info: StreamedLiteralInfo) => LiteralSink;
  readonly nonSyncLiterals?: NonSyncLiteralMode;
}

export type ReaderResult =
  | { readonly kind: "command"; readonly frame: CommandFrame }
  /** All input consumed. backpressure: the last streamed chunk saturated its sink. */
  | { readonly kind: "need-more"; readonly backpressure: boolean }
  /** A synchronizing literal is acceptable: send `+ ...`, then keep feeding. (Or cancelCommand() to refuse.) */
  | {
      readonly kind: "continuation-needed";
      readonly tag: string | undefined;
      readonly name: string | undefined;
      readonly size: number;
    }
  /**
   * The current command is refused; answer `tag status [code] message` (untagged when tag is undefined).
   * The reader has already arranged to skip the rest of that command.
   */
  | {
      readonly kind: "error";
      readonly tag: string | undefined;
      readonly status: "BAD" | "NO";
      readonly code: "TOOBIG" | undefined;
      /** Which rule refused it, for metrics and the session's triage (never the message text). */
      readonly reason: ReaderRefusal;
      readonly message: string;
    };

/** Why the reader refused a command. */
export type ReaderRefusal =
  | "line-too-long"
  | "literal-too-big"
  | "command-too-big"
  | "non-sync-literal"
  | "literal-not-stored";

type LiteralMarker = { size: number; kind: "sync" | "plus" | "minus" };

type Phase =
  | { kind: "line" }
  | {
      kind: "literal";
      remaining: number;
      size: number;
      nonSync: boolean;
      chunks: Buffer[] | undefined;
      sink: LiteralSink | undefined;
      /** A synchronizing literal for which no byte has arrived yet: the session may still refuse it. */
      untouched: boolean;
    }
  | { kind: "discard"; remaining: number };

const EMPTY = Buffer.alloc(0);
const LF = 0x0a;
const CR = 0x0d;
/** Enough of a discarded line's end to recognise a literal marker `{<digits>+}`. */
const TAIL_KEEP = 64;
const NEED_MORE: ReaderResult = { kind: "need-more", backpressure: false };

const TAG_RE = /^[\x21-\x7e]+$/;
const TAG_FORBIDDEN = /[(){%*"\\+]/;

/** A tag safe to echo in a response: RFC 3501 tag = 1*<any ASTRING-CHAR except "+">. */
export function isValidTag(tag: string | undefined): tag is string {
  return tag !== undefined && tag.length <= 128 && TAG_RE.test(tag) && !TAG_FORBIDDEN.test(tag);
}

/** Recognises `{n}`, `{n+}`, `{n-}` at the very end of a line (CR already stripped). */
export function parseLiteralMarker(line: Buffer): LiteralMarker | undefined {
  let i = line.length - 1;
  if (i < 2 || line[i] !== 0x7d) return undefined; // "}"
  i--;
  let kind: LiteralMarker["kind"] = "sync";
  if (line[i] === 0x2b) kind = "plus";
  else if (line[i] === 0x2d) kind = "minus";
  if (kind !== "sync") i--;
  const digitsEnd = i + 1;
  while (i >= 0 && line[i]! >= 0x30 && line[i]! <= 0x39) i--;
  if (i < 0 || line[i] !== 0x7b || digitsEnd - (i + 1) === 0) return undefined; // "{" and at least one digit
  const digits = line.subarray(i + 1, digitsEnd).toString("latin1");
  // Absurd sizes stay numbers (Infinity) so they are refused as too big rather than mis-framed.
  const size = digits.length > 15 ? Number.POSITIVE_INFINITY : Number(digits);
  return { size, kind };
}

export class CommandReader {
  readonly #maxLineLength: number;
  readonly #maxLiteralSize: number;
  readonly #maxCommandSize: number;
  readonly #streamThreshold: number;
  readonly #literalLimit: CommandReaderOptions["literalLimit"];
  readonly #openLiteralSink: CommandReaderOptions["openLiteralSink"];
  readonly #nonSync: NonSyncLiteralMode;

  #input: Buffer = EMPTY;
  #pos = 0;
  #phase: Phase = { kind: "line" };
  #line: Buffer[] = [];
  #lineLength = 0;
  /** While skipping a refused command, only the end of each line is kept. */
  #tail: Buffer = EMPTY;
  #skipping = false;
  #segments: Buffer[] = [];
  #literals: LiteralValue[] = [];
  #commandBytes = 0;
  #tag: string | undefined;
  #name: string | undefined;

  constructor(options: CommandReaderOptions = {}) {
    this.#maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.#maxLiteralSize = options.maxLiteralSize ?? DEFAULT_MAX_LITERAL_SIZE;
    this.#maxCommandSize = options.maxCommandSize ?? DEFAULT_MAX_COMMAND_SIZE;
    this.#streamThreshold = options.streamThreshold ?? DEFAULT_STREAM_THRESHOLD;
    this.#literalLimit = options.literalLimit;
    this.#openLiteralSink = options.openLiteralSink;
    this.#nonSync = options.nonSyncLiterals ?? "plus";
  }

  /** Appends bytes from the socket. Call next() until it answers need-more. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.#pos >= this.#input.length) {
      this.#input = chunk;
    } else {
      this.#input = Buffer.concat([this.#input.subarray(this.#pos), chunk]);
    }
    this.#pos = 0;
  }

  /** Bytes the reader holds for the command in progress (not counting input not yet examined). */
  get bufferedBytes(): number {
    return this.#lineLength + this.#tail.length + this.#commandBytes;
  }

  /** A command has begun to arrive and is not complete yet (a literal upload, a partial line). */
  get midCommand(): boolean {
    return this.#phase.kind !== "line" || this.#lineLength > 0 || this.#segments.length > 0;
  }

  /** Bytes pushed but not yet examined (e.g. while a continuation is outstanding). */
  get unreadBytes(): number {
    return this.#input.length - this.#pos;
  }

  /**
   * Refuses the synchronizing literal just announced by continuation-needed (e.g. APPEND to a
   * mailbox that does not exist): the client sends nothing more for this command. Returns false
   * when there is no such literal to refuse.
   */
  cancelCommand(reason = "command refused"): boolean {
    const phase = this.#phase;
    if (phase.kind !== "literal" || phase.nonSync || !phase.untouched) return false;
    phase.sink?.abort(reason);
    this.#resetCommand();
    return true;
  }

  /** The connection is gone: abandon any literal being streamed. */
  close(reason = "connection closed"): void {
    const phase = this.#phase;
    if (phase.kind === "literal") phase.sink?.abort(reason);
    this.#resetCommand();
    this.#input = EMPTY;
    this.#pos = 0;
  }

  next(): ReaderResult {
    for (;;) {
      const phase = this.#phase;
      let result: ReaderResult | undefined;
      if (phase.kind === "line") result = this.#scanLine();
      else if (phase.kind === "literal") result = this.#readLiteral(phase);
      else result = this.#discard(phase);
      if (result !== undefined) return result;
    }
  }

  #scanLine(): ReaderResult | undefined {
    const input = this.#input;
    const start = this.#pos;
    if (start >= input.length) return NEED_MORE;
    const lf = input.indexOf(LF, start);
    const piece = input.subarray(start, lf === -1 ? input.length : lf);
    this.#pos = lf === -1 ? input.length : lf + 1;

    let error: ReaderResult | undefined;
    if (this.#skipping) {
      this.#keepTail(piece);
    } else if (this.#lineLength + piece.length > this.#maxLineLength + 1) {
      // +1: the CR of CRLF is still part of the piece here.
      error = this.#error("line-too-long", "BAD", undefined, "command line too long", piece);
      // The literal marker that decides how the line ends may straddle what was held and this piece.
      const held = this.#line;
      this.#startSkipping();
      for (const part of held) this.#keepTail(part);
      this.#keepTail(piece);
    } else {
      this.#line.push(piece);
      this.#lineLength += piece.length;
    }
    if (lf === -1) return error ?? NEED_MORE;

    if (this.#skipping) {
      this.#endSkippedLine();
      return error;
    }
    return this.#endLine();
  }

  /** A full line of the command in progress arrived: either the command is complete or a literal follows. */
  #endLine(): ReaderResult | undefined {
    let segment = this.#line.length === 1 ? this.#line[0]! : Buffer.concat(this.#line, this.#lineLength);
    if (segment.length > 0 && segment[segment.length - 1] === CR) segment = segment.subarray(0, -1);
    this.#line = [];
    this.#lineLength = 0;
    if (this.#segments.length === 0) ({ tag: this.#tag, name: this.#name } = peekTagAndName(segment));
    this.#segments.push(segment);
    this.#commandBytes += segment.length;

    const marker = parseLiteralMarker(segment);
    if (marker === undefined) {
      const frame: CommandFrame = {
        segments: this.#segments,
        literals: this.#literals,
        tag: this.#tag,
        name: this.#name,
      };
      this.#resetCommand();
      return { kind: "command", frame };
    }
    return this.#startLiteral(marker);
  }

  #startLiteral(marker: LiteralMarker): ReaderResult | undefined {
    const nonSync = marker.kind !== "sync";
    const { size } = marker;
    const refuse = (
      reason: ReaderRefusal,
      status: "BAD" | "NO",
      code: "TOOBIG" | undefined,
      message: string,
    ): ReaderResult => {
      const error = this.#error(reason, status, code, message);
      if (nonSync) {
        // The bytes are coming regardless: drop them as they arrive, then skip the rest of the command.
        this.#startSkipping();
        this.#phase = { kind: "discard", remaining: size };
      } else {
        // The client waits for "+" and, refused, sends nothing more for this command.
        this.#resetCommand();
      }
      return error;
    };

    if (nonSync && this.#nonSync === "none")
      return refuse("non-sync-literal", "BAD", undefined, "non-synchronizing literals are not supported");
    if (nonSync && (marker.kind === "minus" || this.#nonSync === "minus") && size > LITERAL_MINUS_MAX) {
      return refuse(
        "non-sync-literal",
        "BAD",
        "TOOBIG",
        `non-synchronizing literal larger than ${LITERAL_MINUS_MAX} octets (LITERAL-)`,
      );
    }
    const limit = this.#callLimit() ?? this.#maxLiteralSize;
    if (size > limit)
      return refuse(
        "literal-too-big",
        "NO",
        "TOOBIG",
        `literal of ${size} octets exceeds the limit of ${limit}`,
      );

    const streamed = this.#openLiteralSink !== undefined && size > this.#streamThreshold;
    if (!streamed && this.#commandBytes + size > this.#maxCommandSize) {
      return refuse("command-too-big", "NO", "TOOBIG", `command larger than ${this.#maxCommandSize} octets`);
    }
    let sink: LiteralSink | undefined;
    if (streamed) {
      try {
        sink = this.#openLiteralSink!({
          tag: this.#tag,
          name: this.#name,
          size,
          index: this.#literals.length,
          nonSync,
        });
      } catch (cause) {
        return refuse("literal-not-stored", "NO", undefined, `cannot store literal: ${describe(cause)}`);
      }
    }
    this.#phase = {
      kind: "literal",
      remaining: size,
      size,
      nonSync,
      chunks: streamed ? undefined : [],
      sink,
      untouched: !nonSync,
    };
    if (nonSync) return undefined;
    return { kind: "continuation-needed", tag: this.#tag, name: this.#name, size };
  }

  #callLimit(): number | undefined {
    try {
      return this.#literalLimit?.(this.#name, this.#tag);
    } catch {
      // A faulty hook must not break framing: fall back to the default limit.
      return undefined;
    }
  }

  #readLiteral(phase: Extract<Phase, { kind: "literal" }>): ReaderResult | undefined {
    let backpressure = false;
    if (phase.remaining > 0) {
      const available = this.#input.length - this.#pos;
      if (available === 0) return NEED_MORE;
      const n = Math.min(available, phase.remaining);
      const chunk = this.#input.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      phase.remaining -= n;
      phase.untouched = false;
      if (phase.sink !== undefined) {
        try {
          backpressure = !phase.sink.write(chunk);
        } catch (cause) {
          phase.sink.abort(describe(cause));
          const error = this.#error(
            "literal-not-stored",
            "NO",
            undefined,
            `cannot store literal: ${describe(cause)}`,
          );
          this.#startSkipping();
          this.#phase = { kind: "discard", remaining: phase.remaining };
          return error;
        }
      } else {
        // Copy: the socket's buffer may be large and we keep only this part.
        phase.chunks!.push(Buffer.from(chunk));
        this.#commandBytes += n;
      }
    }
    if (phase.remaining > 0) return backpressure ? { kind: "need-more", backpressure } : NEED_MORE;

    if (phase.sink !== undefined) {
      try {
        phase.sink.end();
      } catch (cause) {
        const error = this.#error(
          "literal-not-stored",
          "NO",
          undefined,
          `cannot store literal: ${describe(cause)}`,
        );
        this.#startSkipping();
        this.#phase = { kind: "line" };
        return error;
      }
      this.#literals.push({
        kind: "streamed",
        size: phase.size,
        handle: phase.sink.handle,
        nonSync: phase.nonSync,
      });
    } else {
      this.#literals.push({ kind: "buffered", data: Buffer.concat(phase.chunks!), nonSync: phase.nonSync });
    }
    this.#phase = { kind: "line" };
    return backpressure ? { kind: "need-more", backpressure } : undefined;
  }

  #discard(phase: Extract<Phase, { kind: "discard" }>): ReaderResult | undefined {
    if (phase.remaining > 0) {
      const available = this.#input.length - this.#pos;
      if (available === 0) return NEED_MORE;
      const n = Math.min(available, phase.remaining);
      this.#pos += n;
      phase.remaining -= n;
      if (phase.remaining > 0) return NEED_MORE;
    }
    this.#phase = { kind: "line" };
    return undefined;
  }

  /** End of a line of a command already refused: follow its literals without keeping anything. */
  #endSkippedLine(): void {
    let tail = this.#tail;
    if (tail.length > 0 && tail[tail.length - 1] === CR) tail = tail.subarray(0, -1);
    const marker = parseLiteralMarker(tail);
    this.#tail = EMPTY;
    if (marker !== undefined && marker.kind !== "sync") {
      this.#phase = { kind: "discard", remaining: marker.size };
    } else {
      // End of the command, or a synchronizing literal the client will abandon on our error.
      this.#resetCommand();
    }
  }

  #startSkipping(): void {
    const phase = this.#phase;
    if (phase.kind === "literal") phase.sink?.abort("command refused");
    this.#skipping = true;
    this.#segments = [];
    this.#literals = [];
    this.#commandBytes = 0;
    this.#line = [];
    this.#lineLength = 0;
    this.#tail = EMPTY;
  }

  #keepTail(piece: Buffer): void {
    if (piece.length >= TAIL_KEEP) {
      this.#tail = Buffer.from(piece.subarray(piece.length - TAIL_KEEP));
    } else {
      const joined = Buffer.concat([this.#tail, piece]);
      this.#tail =
        joined.length > TAIL_KEEP ? Buffer.from(joined.subarray(joined.length - TAIL_KEEP)) : joined;
    }
  }

  #error(
    reason: ReaderRefusal,
    status: "BAD" | "NO",
    code: "TOOBIG" | undefined,
    message: string,
    pendingPiece?: Buffer,
  ): ReaderResult {
    let tag = this.#tag;
    if (this.#segments.length === 0) {
      // The first line is still incomplete: its start holds the tag.
      const head = Buffer.concat([...this.#line, pendingPiece ?? EMPTY]).subarray(0, 256);
      tag = peekTagAndName(head).tag;
    }
    return { kind: "error", tag: isValidTag(tag) ? tag : undefined, status, code, reason, message };
  }

  #resetCommand(): void {
    this.#phase = { kind: "line" };
    this.#line = [];
    this.#lineLength = 0;
    this.#tail = EMPTY;
    this.#skipping = false;
    this.#segments = [];
    this.#literals = [];
    this.#commandBytes = 0;
    this.#tag = undefined;
    this.#name = undefined;
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Frames a whole byte sequence at once, answering every continuation as if `+` had been sent.
 * For tests, the fuzzer and offline tools; a session drives CommandReader itself.
 */
export function readAllFrames(chunks: readonly Buffer[], options?: CommandReaderOptions): ReaderResult[] {
  const reader = new CommandReader(options);
  const results: ReaderResult[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (;;) {
      const result = reader.next();
      if (result.kind === "need-more") break;
      results.push(result);
    }
  }
  return results;
}
