// The session's input: the socket's bytes framed into commands by the reader, read ahead for
// pipelining into a bounded inbox, with backpressure both ways: the socket is paused when the
// inbox is full or a streamed literal's sink is saturated, and resumed when they drain. A command
// that waits for more from the client (a SASL response, IDLE's DONE) takes the next frame itself.
import type { Duplex } from "node:stream";
import {
  CommandReader,
  type NonSyncLiteralMode,
  type ReaderResult,
  type StreamedLiteralInfo,
} from "../codec/index.ts";
import type { GatewayLimits } from "../limits/gatewayLimits.ts";
import type { SessionLiteralSink } from "../module.ts";

/** A framed command, or the reader's refusal of one. */
export type InboxItem = Extract<ReaderResult, { kind: "command" } | { kind: "error" }>;

/** What the input asks of its session. */
export interface InputHost {
  readonly limits: GatewayLimits;
  /** RFC 7888: LITERAL+ (non-synchronizing literals of any size) or LITERAL- (4096 octets at most). */
  readonly nonSyncLiterals: NonSyncLiteralMode;
  /** The largest literal the named command accepts in the session's state (undefined: the default). */
  literalLimit(name: string | undefined): number | undefined;
  /** A sink for a literal too large to buffer (APPEND bodies); throws if the command takes none. */
  openLiteralSink(info: StreamedLiteralInfo): SessionLiteralSink;
  /** A frame was queued while no command waited for one: run the queue if it is not running. */
  queued(): void;
  /** Bytes arrived (for the autologout timer). */
  activity(): void;
  /** The client sent a synchronizing literal's marker: send `+` so it goes on. */
  continuationNeeded(): void;
  /** The client half-closed its side. */
  ended(): void;
  /** The connection closed, or failed with `error`. */
  closed(error?: Error): void;
  /** The reader broke its promise not to throw: this connection's framing is lost. */
  readerFailed(error: unknown): void;
  /** The most input held so far rose (for the buffered-bytes gauge). */
  buffered(bytes: number): void;
}

function frameSize(item: InboxItem): number {
  if (item.kind === "error") return 0;
  let size = 0;
  for (const segment of item.frame.segments) size += segment.length;
  for (const literal of item.frame.literals) if (literal.kind === "buffered") size += literal.data.length;
  return size;
}

export class SessionInput {
  readonly #host: InputHost;
  #socket: Duplex;
  #reader: CommandReader;
  readonly #inbox: InboxItem[] = [];
  #inboxBytes = 0;
  #waiter: ((item: InboxItem | undefined) => void) | undefined;
  #paused = false;
  #waitingForSink = false;
  #currentSink: SessionLiteralSink | undefined;
  #closed = false;

  constructor(socket: Duplex, host: InputHost) {
    this.#host = host;
    this.#socket = socket;
    this.#reader = this.#newReader();
  }

  /** Bytes held for input not yet executed: the reader's buffers plus read-ahead frames. */
  get bufferedBytes(): number {
    return this.#reader.bufferedBytes + this.#reader.unreadBytes + this.#inboxBytes;
  }

  /** A command's bytes are arriving (its literal, say). */
  get midCommand(): boolean {
    return this.#reader.midCommand;
  }

  /** A command waits for the client's next line (IDLE's DONE, a SASL response). */
  get awaitingClient(): boolean {
    return this.#waiter !== undefined;
  }

  /** Frames queued and not yet taken. */
  get queuedCount(): number {
    return this.#inbox.length;
  }

  /** Starts reading `socket` (the connection, or the layer just put under the session). */
  attach(socket: Duplex): void {
    this.#socket = socket;
    this.#paused = false;
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onClose);
    socket.on("error", this.#onError);
  }

  /**
   * Before the OK of a command that puts a layer under the session (STARTTLS, COMPRESS): stops
   * reading the connection as it is and drops whatever the client pipelined after the command
   * (RFC 3501 6.2.1, RFC 7817 3, RFC 4978: it was sent without the layer and must be discarded).
   */
  stopForLayer(name: string): void {
    const socket = this.#socket;
    socket.off("data", this.#onData);
    socket.off("end", this.#onEnd);
    socket.off("close", this.#onClose);
    socket.off("error", this.#onError);
    socket.pause();
    while (socket.read() !== null) {}
    this.#reader.close(name);
    this.#reader = this.#newReader();
    this.#inbox.length = 0;
    this.#inboxBytes = 0;
  }

  /** The next queued frame, if any; reading resumes when the queue had held the socket back. */
  take(): InboxItem | undefined {
    const item = this.#inbox.shift();
    if (item !== undefined) this.#inboxBytes -= frameSize(item);
    if (this.#paused && !this.#waitingForSink) this.#pump();
    return item;
  }

  /** The next frame from the client, for a command that reads inside itself (SASL, IDLE's DONE). */
  next(): Promise<InboxItem | undefined> {
    const queued = this.take();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.resolve(undefined);
    const pending = new Promise<InboxItem | undefined>((resolve) => {
      this.#waiter = resolve;
    });
    if (this.#paused && !this.#waitingForSink) this.#pump();
    return pending;
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.close(reason);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(undefined);
    this.#inbox.length = 0;
    this.#inboxBytes = 0;
  }

  #newReader(): CommandReader {
    const limits = this.#host.limits;
    return new CommandReader({
      maxLineLength: limits.maxLineLength,
      maxLiteralSize: limits.maxLiteralSize,
      literalLimit: (name) => this.#host.literalLimit(name),
      openLiteralSink: (info) => {
        const sink = this.#host.openLiteralSink(info);
        this.#currentSink = sink;
        return sink;
      },
      nonSyncLiterals: this.#host.nonSyncLiterals,
    });
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#closed) return;
    this.#host.activity();
    this.#reader.push(chunk);
    this.#pump();
  };

  readonly #onEnd = (): void => this.#host.ended();
  readonly #onClose = (): void => this.#host.closed();
  readonly #onError = (error: Error): void => this.#host.closed(error);

  /** Frames what has arrived, as far as read-ahead allows; pauses the socket when it is far enough ahead. */
  #pump(): void {
    const maxAhead = this.#host.limits.maxPipelinedCommands;
    while (!this.#closed) {
      if (this.#inbox.length >= maxAhead && this.#waiter === undefined) {
        this.#pause();
        return;
      }
      let result: ReaderResult;
      try {
        result = this.#reader.next();
      } catch (error) {
        this.#host.readerFailed(error);
        return;
      }
      switch (result.kind) {
        case "need-more": {
          this.#host.buffered(this.bufferedBytes);
          const sink = this.#currentSink;
          if (result.backpressure && sink?.drained !== undefined) {
            this.#waitForSink(sink.drained());
          } else if (!this.#waitingForSink) {
            this.#resume();
          }
          return;
        }
        case "continuation-needed":
          this.#host.continuationNeeded();
          break;
        case "command":
        case "error":
          this.#deliver(result);
          break;
      }
    }
  }

  #waitForSink(drained: Promise<void>): void {
    this.#waitingForSink = true;
    this.#pause();
    const goOn = (): void => {
      this.#waitingForSink = false;
      this.#pump();
    };
    drained.then(goOn, goOn);
  }

  #pause(): void {
    if (!this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #resume(): void {
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  #deliver(item: InboxItem): void {
    if (item.kind === "command") this.#currentSink = undefined;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter(item);
      return;
    }
    this.#inbox.push(item);
    this.#inboxBytes += frameSize(item);
    this.#host.queued();
  }
}
