// One IMAP connection: reads and frames commands (reading ahead for pipelining), checks the state
// (the gatekeeper), dispatches to the registered module, and sorts every failure into one answer
// (the triage). Commands of one connection run one at a time in arrival order, which RFC 3501
// section 5.5 always allows; all I/O is asynchronous, so a slow command never blocks other sessions.

import type { Duplex } from "node:stream";
import {
  type CommandFrame,
  CommandReader,
  continuationRequest,
  parseCommand,
  type ReaderResult,
  type ResponsePart,
  ResponseWriter,
  type StreamedLiteralInfo,
  taggedStatus,
  untaggedStatus,
} from "../codec/index.ts";
import { bad, type TriagedError, triageError } from "../errors.ts";
import { PreauthGuard } from "../limits/preauthGuard.ts";
import {
  imapCommandSeconds,
  imapCommands,
  imapCompress,
  imapLimitsHit,
  imapLogins,
  imapMaxBufferedBytes,
  imapServerBugs,
  imapTls,
} from "../metrics.ts";
import type {
  AnyCommandModule,
  AuthenticatedUser,
  CommandContext,
  CommandOutcome,
  GatewayServices,
  LoginOutcome,
  SelectedMailbox,
  SessionControl,
  SessionEventMetadata,
  SessionLiteralSink,
  SessionNotifications,
  SessionState,
  UnilateralUpdate,
  UpdateSource,
} from "../module.ts";
import type { CommandRegistry } from "../registry.ts";
import { deflateDuplex } from "./compression.ts";
import { describeClientFrame, describeServerParts, REDACTED, type WireDirection } from "./wireLog.ts";

/** The connection a session runs on, and how to put TLS under it (absent: STARTTLS not offered). */
export interface SessionTransport {
  readonly socket: Duplex;
  readonly remoteAddress: string;
  readonly secure: boolean;
  readonly upgradeToTls?: (socket: Duplex) => Duplex;
}

/** What the server provides to each of its sessions. */
export interface SessionHost {
  readonly registry: CommandRegistry;
  readonly services: GatewayServices;
  readonly nodeId: string;
  readonly allowInsecureAuth: boolean;
  readonly greeting: string;
  claimUserConnection(userId: string): boolean;
  releaseUserConnection(userId: string): void;
  sessionClosed(session: Session): void;
  /** Should this session's wire traffic be logged now? */
  wireLogEnabled(username: string | undefined): boolean;
  wireLog(line: string): void;
}

export class ConnectionClosedError extends Error {
  override readonly name = "ConnectionClosedError";
  constructor() {
    super("connection closed");
  }
}

type InboxItem = Extract<ReaderResult, { kind: "command" } | { kind: "error" }>;

/** After close(), how long a peer that does not read gets before the socket is destroyed. */
const CLOSE_FLUSH_TIMEOUT_MS = 2_000;

let sessionCounter = 0;

function newSessionId(nodeId: string): string {
  sessionCounter = (sessionCounter + 1) % 0x7fffffff;
  return `${nodeId}-${Date.now().toString(36)}-${sessionCounter.toString(36)}`;
}

function frameSize(item: InboxItem): number {
  if (item.kind === "error") return 0;
  let size = 0;
  for (const segment of item.frame.segments) size += segment.length;
  for (const literal of item.frame.literals) if (literal.kind === "buffered") size += literal.data.length;
  return size;
}

export class Session implements SessionControl {
  readonly id: string;
  readonly nodeId: string;
  readonly remoteAddress: string;

  readonly #host: SessionHost;
  readonly #upgradeToTls: SessionTransport["upgradeToTls"];
  #socket: Duplex;
  #secure: boolean;
  #compressed = false;
  #writer: ResponseWriter;
  #writeChain: Promise<void> = Promise.resolve();
  #reader: CommandReader;

  #state: SessionState = "not-authenticated";
  #user: AuthenticatedUser | undefined;
  #clientId: Map<string, string | null> | undefined;
  readonly #enabled = new Set<string>();
  #selected: SelectedMailbox | undefined;
  #notifications: SessionNotifications | undefined;
  /** Updates being sent between commands (NOTIFY): the next command waits for them. */
  #pushing: Promise<void> | undefined;
  #pushAgain = false;

  readonly #inbox: InboxItem[] = [];
  #inboxBytes = 0;
  #lineWaiter: ((item: InboxItem | undefined) => void) | undefined;
  #processing = false;
  #paused = false;
  #waitingForSink = false;
  #currentSink: SessionLiteralSink | undefined;
  #currentCommand: string | undefined;
  /** The command in progress committed a write (CommandContext.noteCommitted): it may not answer NO. */
  #currentCommitted = false;
  #shuttingDown = false;
  #closed = false;
  readonly #abort = new AbortController();
  #idleTimer: NodeJS.Timeout | undefined;
  #loggedInAt = 0;
  #commandsSinceLogin = 0;
  /** The command being answered, for its count and latency (set in #process, read in #answer). */
  #timing: { command: string; started: number } | undefined;
  readonly #guard: PreauthGuard;
  readonly #updates: UnilateralUpdate[] = [];
  #updateSources: UpdateSource[] = [];
  readonly #updateListeners = new Set<() => void>();
  readonly #closedPromise: Promise<void>;
  #resolveClosed: () => void = () => {};

  constructor(transport: SessionTransport, host: SessionHost) {
    this.#host = host;
    this.nodeId = host.nodeId;
    this.id = newSessionId(host.nodeId);
    this.remoteAddress = transport.remoteAddress;
    this.#socket = transport.socket;
    this.#secure = transport.secure;
    this.#upgradeToTls = transport.upgradeToTls;
    this.#writer = new ResponseWriter(this.#socket);
    this.#reader = this.#newReader();
    this.#guard = new PreauthGuard(host.services.limits);
    this.#closedPromise = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Sends the greeting and starts reading. */
  start(): void {
    this.#attach(this.#socket);
    this.#armIdleTimer();
    void this.#send(untaggedStatus("OK", this.#host.greeting, `CAPABILITY ${this.capabilities().join(" ")}`));
  }

  // ---- SessionInfo -------------------------------------------------------------------------

  get state(): SessionState {
    return this.#state;
  }
  get user(): AuthenticatedUser | undefined {
    return this.#user;
  }
  get secure(): boolean {
    return this.#secure;
  }
  get compressed(): boolean {
    return this.#compressed;
  }
  get canStartTls(): boolean {
    return !this.#secure && this.#upgradeToTls !== undefined;
  }
  get authAllowed(): boolean {
    return this.#secure || this.#host.allowInsecureAuth;
  }
  get clientId(): ReadonlyMap<string, string | null> | undefined {
    return this.#clientId;
  }
  get enabled(): ReadonlySet<string> {
    return this.#enabled;
  }
  get selected(): SelectedMailbox | undefined {
    return this.#selected;
  }
  get notifications(): SessionNotifications | undefined {
    return this.#notifications;
  }
  get closed(): boolean {
    return this.#closed;
  }
  /** Resolves once the connection is closed. */
  get whenClosed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Bytes this session holds for input not yet executed: the reader's buffers plus read-ahead frames. */
  get bufferedBytes(): number {
    return this.#reader.bufferedBytes + this.#reader.unreadBytes + this.#inboxBytes;
  }

  // ---- SessionControl ----------------------------------------------------------------------

  capabilities(): string[] {
    return this.#host.registry.capabilities(this);
  }

  authenticate(user: AuthenticatedUser): LoginOutcome {
    if (this.#state !== "not-authenticated")
      throw new Error("authenticate() outside not-authenticated state");
    if (!this.#host.claimUserConnection(user.userId)) {
      imapLogins.inc({ result: "user_connection_limit" });
      imapLimitsHit.inc({ limit: "user_connections" });
      return { ok: false, reason: "user-connection-limit" };
    }
    this.#user = user;
    this.#state = "authenticated";
    this.#loggedInAt = performance.now();
    this.#commandsSinceLogin = 0;
    this.#host.services.logger.info("login", this.#sessionFields());
    this.#armIdleTimer();
    return { ok: true };
  }

  select(mailbox: SelectedMailbox): void {
    if (this.#state !== "authenticated" && this.#state !== "selected") {
      throw new Error("select() needs an authenticated session");
    }
    if (this.#selected !== undefined) this.#updates.length = 0;
    this.#updateSources = [];
    this.#selected?.release?.();
    this.#selected = mailbox;
    this.#state = "selected";
  }

  unselect(): void {
    if (this.#state !== "selected") return;
    this.#selected?.release?.();
    this.#selected = undefined;
    this.#updates.length = 0;
    this.#updateSources = [];
    this.#state = "authenticated";
  }

  unauthenticate(): void {
    if (this.#state !== "authenticated" && this.#state !== "selected") {
      throw new Error("unauthenticate() needs an authenticated session");
    }
    this.unselect();
    this.#notifications?.release();
    this.#notifications = undefined;
    this.#enabled.clear();
    const user = this.#user;
    if (user !== undefined) {
      this.#host.releaseUserConnection(user.userId);
      this.#host.services.logger.info("logout", {
        ...this.#sessionFields(),
        durationMs: Math.round(performance.now() - this.#loggedInAt),
        commands: this.#commandsSinceLogin,
        reason: "unauthenticate",
      });
    }
    this.#user = undefined;
    this.#state = "not-authenticated";
    this.#armIdleTimer();
  }

  enable(extensions: readonly string[]): string[] {
    const enableable = this.enableable();
    const newlyEnabled: string[] = [];
    for (const raw of extensions) {
      const extension = raw.toUpperCase();
      if (enableable.has(extension) && !this.#enabled.has(extension)) {
        this.#enabled.add(extension);
        newlyEnabled.push(extension);
      }
    }
    return newlyEnabled;
  }

  enableable(): ReadonlySet<string> {
    return this.#host.registry.enableable;
  }

  setClientId(params: ReadonlyArray<readonly [string, string | null]> | null): void {
    this.#clientId = new Map((params ?? []).map(([field, value]) => [field.toLowerCase(), value]));
  }

  setNotifications(notifications: SessionNotifications): void {
    const previous = this.#notifications;
    this.#notifications = notifications;
    if (previous !== notifications) previous?.release();
    if (this.#closed) notifications.release();
  }

  queueUpdate(update: UnilateralUpdate): void {
    if (this.#closed || this.#state !== "selected") return;
    this.#updates.push(update);
    for (const listener of this.#updateListeners) listener();
  }

  signalUpdates(): void {
    if (this.#closed) return;
    if (this.#state !== "selected" && this.#notifications === undefined) return;
    for (const listener of this.#updateListeners) listener();
    if (this.#notifications !== undefined) this.#push();
  }

  /**
   * Under NOTIFY, what there is to tell goes out at once while no command runs (RFC 5465 3: the
   * client asked for it); a command's end, or IDLE's listener, sends it otherwise.
   */
  #push(): void {
    if (this.#closed || this.#state === "not-authenticated") return;
    if (this.#processing || this.#pushing !== undefined) {
      this.#pushAgain = true;
      return;
    }
    this.#pushing = (async () => {
      do {
        this.#pushAgain = false;
        await this.flushUpdates({ unsolicited: true });
        await this.#releaseOutput();
      } while (this.#pushAgain && !this.#closed && !this.#processing);
    })()
      .catch((error: unknown) => {
        this.#host.services.logger.debug("unsolicited updates failed", {
          sessionId: this.id,
          error: String(error),
        });
      })
      .finally(() => {
        this.#pushing = undefined;
      });
  }

  onUpdate(listener: () => void): () => void {
    this.#updateListeners.add(listener);
    return () => this.#updateListeners.delete(listener);
  }

  addUpdateSource(source: UpdateSource): void {
    if (this.#state === "selected") this.#updateSources.push(source);
  }

  async flushUpdates(
    options: { readonly holdExpunge?: boolean; readonly unsolicited?: boolean } = {},
  ): Promise<void> {
    const selected = this.#selected;
    const notifications = this.#notifications;
    // Unsolicited under NOTIFY: only what its SELECTED group asked for (RFC 5465 5).
    const allowed = options.unsolicited && notifications !== undefined ? notifications.selected : undefined;
    const holdExpunge = options.holdExpunge === true || allowed?.expunges === false;
    const holdFlags = allowed?.flags === false;
    if (allowed !== null) {
      if (selected?.pendingUpdates !== undefined && !this.#closed) {
        for (const line of await selected.pendingUpdates({ holdExpunge, holdFlags })) {
          await this.#send("* ", line, "\r\n");
        }
      }
      for (const source of this.#updateSources) {
        if (this.#closed || this.#selected !== selected) break;
        for (const line of await source({ holdExpunge })) await this.#send("* ", line, "\r\n");
      }
    }
    if (notifications !== undefined && !this.#closed) {
      for (const line of notifications.take()) await this.#send("* ", line, "\r\n");
    }
    if (this.#updates.length === 0 || allowed === null) return;
    const held: UnilateralUpdate[] = [];
    const ready = this.#updates.splice(0);
    for (const update of ready) {
      if (update.expunge && holdExpunge) held.push(update);
      else await this.#send("* ", ...update.parts, "\r\n");
    }
    this.#updates.unshift(...held);
  }

  /**
   * Before the tagged OK of STARTTLS: stop reading clear text and drop whatever the client
   * pipelined after the command (RFC 3501 6.2.1, RFC 7817 section 3: it must be discarded).
   */
  prepareStartTls(): void {
    this.#stopReadingForLayer("STARTTLS");
  }

  /** Before the OK of a command that puts a layer under the session (STARTTLS, COMPRESS). */
  #stopReadingForLayer(name: string): void {
    const socket = this.#socket;
    this.#detach(socket);
    socket.pause();
    // What the stream already buffered was sent before our OK, without the layer: discard it.
    while (socket.read() !== null) {}
    this.#reader.close(name);
    this.#reader = this.#newReader();
    this.#inbox.length = 0;
    this.#inboxBytes = 0;
  }

  /**
   * Before the tagged OK of COMPRESS: as STARTTLS, stop reading and drop what the client sent
   * after the command (RFC 4978: it must wait for the answer).
   */
  prepareCompression(): void {
    this.#stopReadingForLayer("COMPRESS");
  }

  /** After the tagged OK of COMPRESS is written: read and write through DEFLATE. */
  startCompression(): void {
    if (this.#compressed) throw new Error("COMPRESS is active already");
    this.#useLayer(deflateDuplex(this.#socket));
    this.#compressed = true;
    imapCompress.inc();
  }

  /** Reads and writes through `layer` (TLS, DEFLATE) from now on, the old socket under it. */
  #useLayer(layer: Duplex): void {
    this.#socket = layer;
    this.#writer = new ResponseWriter(layer);
    this.#writeChain = Promise.resolve();
    this.#paused = false;
    this.#attach(layer);
  }

  /** After the tagged OK of STARTTLS is written: wrap the socket in TLS and read from that. */
  async startTls(): Promise<void> {
    if (this.#upgradeToTls === undefined || this.#secure) throw new Error("STARTTLS is not possible here");
    const raw = this.#socket;
    // A late error on the raw socket (reset during the handshake) must not go unhandled.
    raw.on("error", () => {});
    this.#useLayer(this.#upgradeToTls(raw));
    this.#secure = true;
    imapTls.inc({ event: "starttls" });
  }

  close(reason = "closed"): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#state = "logout";
    this.#abort.abort(new ConnectionClosedError());
    this.#reader.close(reason);
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    const waiter = this.#lineWaiter;
    this.#lineWaiter = undefined;
    waiter?.(undefined);
    this.#inbox.length = 0;
    this.#inboxBytes = 0;
    this.#updateListeners.clear();
    this.#selected?.release?.();
    this.#notifications?.release();
    if (this.#user !== undefined) {
      this.#host.releaseUserConnection(this.#user.userId);
      this.#host.services.logger.info("logout", {
        ...this.#sessionFields(),
        durationMs: Math.round(performance.now() - this.#loggedInAt),
        commands: this.#commandsSinceLogin,
        reason,
      });
    }
    this.#host.sessionClosed(this);
    const socket = this.#socket;
    const destroyTimer = setTimeout(() => socket.destroy(), CLOSE_FLUSH_TIMEOUT_MS);
    destroyTimer.unref();
    const writer = this.#writer;
    void this.#writeChain
      .then(() => writer.release())
      .catch(() => {})
      .finally(() => {
        socket.end();
      });
    socket.once("close", () => clearTimeout(destroyTimer));
    this.#resolveClosed();
  }

  /** Graceful shutdown: BYE now if idle, else once the command in progress is answered. */
  shutdown(text = "server shutting down"): void {
    if (this.#closed) return;
    this.#shuttingDown = true;
    // A command that waits for the client (IDLE's DONE, a SASL response) is idle: BYE now
    // (RFC 2177 lets a server end IDLE so). One whose literal is arriving, or that runs, finishes
    // first (#processLoop sends the BYE after its answer), within the server's grace period.
    const receiving = this.#reader.midCommand;
    const running = this.#currentCommand !== undefined && this.#lineWaiter === undefined;
    if (!receiving && !running && !this.#processing) this.#bye(text);
    else if (this.#lineWaiter !== undefined) this.#bye(text);
  }

  /** In IDLE, waiting for DONE. */
  get idling(): boolean {
    return this.#lineWaiter !== undefined && this.#currentCommand?.endsWith(" IDLE") === true;
  }

  /** Closes at once without BYE (the server's grace period ran out). */
  destroy(): void {
    this.#socket.destroy();
    this.close("destroyed");
  }

  // ---- input -------------------------------------------------------------------------------

  #newReader(): CommandReader {
    const limits = this.#host.services.limits;
    return new CommandReader({
      maxLineLength: limits.maxLineLength,
      maxLiteralSize: limits.maxLiteralSize,
      literalLimit: (name) => this.#literalLimit(name),
      openLiteralSink: (info) => this.#openLiteralSink(info),
      nonSyncLiterals: "plus",
    });
  }

  #moduleFor(name: string | undefined): AnyCommandModule | undefined {
    const module = this.#host.registry.lookup(name);
    return module?.states.includes(this.#state) ? module : undefined;
  }

  #literalLimit(name: string | undefined): number | undefined {
    return this.#moduleFor(name)?.maxLiteralSize?.(this, this.#host.services.limits);
  }

  #openLiteralSink(info: StreamedLiteralInfo): SessionLiteralSink {
    const module = this.#moduleFor(info.name);
    if (module?.openLiteralSink === undefined) throw new Error("this command does not take large literals");
    const sink = module.openLiteralSink(info, this);
    this.#currentSink = sink;
    return sink;
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#closed) return;
    this.#idleTimer?.refresh();
    this.#reader.push(chunk);
    this.#pump();
  };

  readonly #onEnd = (): void => {
    // The client half-closed: answer what is queued, then close (a pipelined LOGOUT still gets its OK).
    if (!this.#processing && this.#inbox.length === 0) this.close("client closed the connection");
    else void this.#whenIdle().then(() => this.close("client closed the connection"));
  };

  readonly #onClose = (): void => {
    this.close("connection closed");
  };

  readonly #onError = (error: Error): void => {
    if (error.message.includes("SSL") || "library" in error) imapTls.inc({ event: "handshake_error" });
    this.#host.services.logger.debug("connection error", { sessionId: this.id, error: error.message });
    this.#socket.destroy();
    this.close("connection error");
  };

  #attach(socket: Duplex): void {
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onClose);
    socket.on("error", this.#onError);
  }

  #detach(socket: Duplex): void {
    socket.off("data", this.#onData);
    socket.off("end", this.#onEnd);
    socket.off("close", this.#onClose);
    socket.off("error", this.#onError);
  }

  /** Frames what has arrived, as far as read-ahead allows; pauses the socket when it is far enough ahead. */
  #pump(): void {
    const maxAhead = this.#host.services.limits.maxPipelinedCommands;
    while (!this.#closed) {
      if (this.#inbox.length >= maxAhead && this.#lineWaiter === undefined) {
        this.#pause();
        return;
      }
      let result: ReaderResult;
      try {
        result = this.#reader.next();
      } catch (error) {
        // The reader promises not to throw; if it does, this connection's framing is lost.
        this.#host.services.logger.error("command reader failed", {
          sessionId: this.id,
          error: String(error),
        });
        imapServerBugs.inc();
        this.#bye("internal error while reading your command", "SERVERBUG");
        return;
      }
      switch (result.kind) {
        case "need-more": {
          this.#recordBuffered();
          const sink = this.#currentSink;
          if (result.backpressure && sink?.drained !== undefined) {
            this.#waitForSink(sink.drained());
          } else if (!this.#waitingForSink) {
            this.#resume();
          }
          return;
        }
        case "continuation-needed":
          void this.#send(continuationRequest("Ready for literal data")).catch(() => {});
          void this.#releaseOutput();
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
    drained.then(
      () => {
        this.#waitingForSink = false;
        this.#pump();
      },
      () => {
        this.#waitingForSink = false;
        this.#pump();
      },
    );
  }

  #recordBuffered(): void {
    const buffered = this.bufferedBytes;
    if (buffered > maxBufferedBytes) {
      maxBufferedBytes = buffered;
      imapMaxBufferedBytes.set(buffered);
    }
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
    const waiter = this.#lineWaiter;
    if (waiter !== undefined) {
      this.#lineWaiter = undefined;
      waiter(item);
      return;
    }
    this.#inbox.push(item);
    this.#inboxBytes += frameSize(item);
    if (!this.#processing) void this.#processLoop();
  }

  #takeItem(): InboxItem | undefined {
    const item = this.#inbox.shift();
    if (item !== undefined) this.#inboxBytes -= frameSize(item);
    return item;
  }

  /** The next frame from the client, for continuation responses (SASL) read inside a command. */
  #nextItem(): Promise<InboxItem | undefined> {
    const queued = this.#takeItem();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closed) return Promise.resolve(undefined);
    const pending = new Promise<InboxItem | undefined>((resolve) => {
      this.#lineWaiter = resolve;
    });
    if (this.#paused && !this.#waitingForSink) this.#pump();
    return pending;
  }

  /**
   * Resolves once every queued command is answered; at once when a command waits for more from
   * the client (a SASL response, IDLE's DONE), which after a half-close can never come.
   */
  async #whenIdle(): Promise<void> {
    while ((this.#processing || this.#inbox.length > 0) && this.#lineWaiter === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (this.#closed) return;
    }
  }

  async #processLoop(): Promise<void> {
    this.#processing = true;
    try {
      while (!this.#closed) {
        const item = this.#takeItem();
        if (item === undefined) break;
        if (this.#paused && !this.#waitingForSink) this.#pump();
        // Updates sent between commands (NOTIFY) are finished before the command reads anything.
        if (this.#pushing !== undefined) await this.#pushing;
        // A command's responses go out together, at its tagged answer (see #releaseOutput).
        this.#writer.hold();
        await this.#process(item);
        void this.#releaseOutput();
        if (this.#shuttingDown && !this.#closed) this.#bye("server shutting down");
      }
    } catch (error) {
      this.#host.services.logger.error("session failed", { sessionId: this.id, error: String(error) });
      imapServerBugs.inc();
      this.#bye("internal server error", "SERVERBUG");
    } finally {
      this.#processing = false;
      // Updates signalled after the last command's own flush go out now.
      if (this.#pushAgain) this.#push();
    }
  }

  // ---- one command: guard, parse, gatekeeper, dispatch, triage -----------------------------

  async #process(item: InboxItem): Promise<void> {
    // Unparsable, unknown and refused commands count under one name: labels stay bounded.
    const timing = { command: INVALID_COMMAND, started: performance.now() };
    this.#timing = timing;
    if (item.kind === "error") {
      this.#wire("C", `<command refused while reading: ${item.message}>`);
      if (item.code === "TOOBIG") imapLimitsHit.inc({ limit: "literal_too_big" });
      if (item.message.includes("line too long")) imapLimitsHit.inc({ limit: "line_too_long" });
      await this.#answer(item.tag ?? "*", item.status, item.message, item.code);
      return;
    }
    const frame = item.frame;
    this.#wire("C", describeClientFrame(frame));
    if (this.#state === "not-authenticated") {
      const verdict = this.#guard.onCommand(frame);
      if (verdict.kind === "bye") {
        imapLimitsHit.inc({ limit: verdict.reason === "rate" ? "preauth_rate" : "preauth_garbage" });
        this.#bye(verdict.text);
        return;
      }
    }
    const parsed = parseCommand(frame, {
      utf8Accept: this.#enabled.has("UTF8=ACCEPT"),
      maxNestingDepth: this.#host.services.limits.maxNestingDepth,
    });
    if (!parsed.ok) {
      await this.#answer(parsed.tag ?? "*", parsed.status, parsed.message, parsed.code);
      return;
    }
    const command = parsed.command;
    const module = this.#host.registry.lookup(command.name);
    if (module === undefined) {
      await this.#answer(command.tag, "BAD", `${command.name} is not supported by this server`);
      return;
    }
    if (!module.states.includes(this.#state)) {
      await this.#answer(command.tag, "BAD", `${command.name} is not allowed ${describeState(this.#state)}`);
      return;
    }
    timing.command = command.name;
    this.#commandsSinceLogin++;
    this.#currentCommand = `${command.tag} ${command.name}`;
    this.#currentCommitted = false;
    let outcome: CommandOutcome | undefined;
    try {
      if (this.#state === "selected") await this.#selected?.authorize?.(command.name);
      if (module.selectedView === "looks-first") await this.#syncSelected();
      outcome = await module.handle(command, this.#context(command.tag));
    } catch (error) {
      this.#currentCommand = undefined;
      if (this.#closed) return;
      const triaged = triageError(error);
      if (triaged.bye) {
        this.#host.services.logger.warn("commit outcome unknown; closing the session", {
          sessionId: this.id,
          command: command.name,
          error: String(error),
        });
        this.#bye(triaged.text, triaged.code);
        return;
      }
      if (this.#currentCommitted && triaged.status === "NO") {
        // NO means not done, and this command's write is committed: what failed came after it
        // (reading back its result). The client learns the rest on its next command (contract 9).
        this.#host.services.logger.warn("command failed after its commit; answered OK", {
          sessionId: this.id,
          command: command.name,
          error: String(error),
        });
        await this.#answer(command.tag, "OK", `${command.name} completed; its result could not be read back`);
        return;
      }
      if (triaged.bug) this.#reportBug(command.name, error);
      await this.#answerTriaged(command.tag, triaged);
      return;
    }
    this.#currentCommand = undefined;
    if (this.#closed) return;
    await this.flushUpdates({ holdExpunge: module.holdsExpunge === true });
    await this.#answer(command.tag, "OK", outcome?.text ?? `${command.name} completed`, outcome?.code);
    if (outcome?.afterResponse !== undefined) {
      try {
        await outcome.afterResponse();
      } catch (error) {
        this.#reportBug(`${command.name} (after response)`, error);
        this.#socket.destroy();
        this.close("failure after response");
      }
    }
  }

  /**
   * Contract 9, for commands that look first (CommandModule.selectedView): learn what changed in
   * the index since the session last looked, and announce new messages and flags (never EXPUNGE:
   * the client's sequence numbers in this command are the ones it had), so that `UID COPY`, SORT
   * and NOOP right after another node's OK include that node's change.
   */
  async #syncSelected(): Promise<void> {
    // NOTIFY's other mailboxes too: a lost doorbell is made up by the next NOOP or IDLE.
    await this.#notifications?.look();
    if (this.#state !== "selected" || this.#selected?.sync === undefined) return;
    await this.#selected.sync();
    await this.flushUpdates({ holdExpunge: true });
  }

  #context(tag: string): CommandContext {
    return {
      tag,
      session: this,
      services: this.#host.services,
      signal: this.#abort.signal,
      untagged: (...parts) => this.#send("* ", ...parts, "\r\n"),
      continuation: (text) => this.#continuation(text),
      eventMetadata: () => this.#eventMetadata(),
      noteCommitted: () => {
        this.#currentCommitted = true;
      },
    };
  }

  async #continuation(text = ""): Promise<string> {
    void this.#send(continuationRequest(text)).catch(() => {});
    await this.#releaseOutput();
    const item = await this.#nextItem();
    if (item === undefined) throw new ConnectionClosedError();
    // Continuation responses are SASL payloads or similar: never log them.
    this.#wire("C", REDACTED);
    if (item.kind === "error") throw bad(item.message);
    if (item.frame.literals.length > 0) throw bad("a literal is not allowed in a continuation response");
    return item.frame.segments[0]?.toString("latin1") ?? "";
  }

  /** Who this session is, for its login and logout lines: never a password, never a body. */
  #sessionFields(): Record<string, unknown> {
    const metadata = this.#eventMetadata();
    return {
      sessionId: this.id,
      user: this.#user?.username,
      remoteAddress: this.remoteAddress,
      clientId: metadata.clientId ?? null,
      secure: this.#secure,
    };
  }

  #eventMetadata(): SessionEventMetadata {
    const name = this.#clientId?.get("name");
    const version = this.#clientId?.get("version");
    return {
      userId: this.#user?.userId,
      sessionId: this.id,
      nodeId: this.nodeId,
      remoteAddress: this.remoteAddress,
      clientId: name ? (version ? `${name}/${version}` : name) : undefined,
      command: this.#currentCommand,
    };
  }

  #reportBug(name: string, error: unknown): void {
    imapServerBugs.inc();
    this.#host.services.logger.error("command failed unexpectedly", {
      sessionId: this.id,
      command: name,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }

  async #answerTriaged(tag: string, triaged: TriagedError): Promise<void> {
    await this.#answer(tag, triaged.status, triaged.text, triaged.code);
  }

  /** The one place status answers are written; BADs before authentication count toward the guard. */
  async #answer(tag: string, status: "OK" | "NO" | "BAD", text: string, code?: string): Promise<void> {
    const line = tag === "*" ? untaggedStatus(status, text, code) : taggedStatus(tag, status, text, code);
    const timing = this.#timing;
    if (timing !== undefined && tag !== "*") {
      this.#timing = undefined;
      const labels = { command: timing.command, result: status };
      imapCommands.inc(labels);
      imapCommandSeconds.observe(labels, (performance.now() - timing.started) / 1000);
    }
    // Written, not only queued, when this returns: STARTTLS wraps the socket right after its OK.
    void this.#send(line).catch(() => {});
    await this.#releaseOutput();
    if (status === "OK") {
      if (this.#state === "not-authenticated") this.#guard.onGood();
      return;
    }
    if (status === "BAD" && this.#state === "not-authenticated") {
      const verdict = this.#guard.onBad();
      if (verdict.kind === "bye") {
        imapLimitsHit.inc({ limit: "preauth_bad_commands" });
        this.#bye(verdict.text);
      }
    }
  }

  // ---- output ------------------------------------------------------------------------------

  /** Queues parts for the wire; resolves when written, rejects if the connection is gone. */
  #send(...parts: ResponsePart[]): Promise<void> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError());
    if (this.#host.wireLogEnabled(this.#user?.username)) this.#wire("S", describeServerParts(parts));
    const writer = this.#writer;
    const written = this.#writeChain.then(() => writer.write(...parts));
    this.#writeChain = written.catch((error: unknown) => {
      this.#host.services.logger.debug("write failed", { sessionId: this.id, error: String(error) });
      this.#socket.destroy();
      this.close("write failed");
    });
    return written;
  }

  /**
   * Writes what the writer holds, after everything queued before: at a command's answer, before
   * a continuation request the client must see to go on, and before the connection closes.
   */
  #releaseOutput(): Promise<void> {
    const writer = this.#writer;
    this.#writeChain = this.#writeChain
      .then(() => writer.release())
      .catch((error: unknown) => {
        this.#host.services.logger.debug("write failed", { sessionId: this.id, error: String(error) });
        this.#socket.destroy();
        this.close("write failed");
      });
    return this.#writeChain;
  }

  #bye(text: string, code?: string): void {
    if (this.#closed) return;
    void this.#send(untaggedStatus("BYE", text, code)).catch(() => {});
    this.close(text);
  }

  #wire(direction: WireDirection, text: string): void {
    if (!this.#host.wireLogEnabled(this.#user?.username)) return;
    this.#host.wireLog(`${new Date().toISOString()} ${this.id} ${direction}: ${text}`);
  }

  // ---- autologout ---------------------------------------------------------------------------

  #armIdleTimer(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    const limits = this.#host.services.limits;
    const timeout =
      this.#state === "not-authenticated"
        ? limits.idleTimeoutBeforeAuthMs
        : limits.idleTimeoutAuthenticatedMs;
    this.#idleTimer = setTimeout(() => this.#onIdle(), timeout);
    this.#idleTimer.unref();
  }

  #onIdle(): void {
    if (this.#closed) return;
    if (this.#processing && this.#lineWaiter === undefined) {
      // A command is still being answered (a long FETCH to a slow reader): not the client's idleness.
      this.#idleTimer?.refresh();
      return;
    }
    imapLimitsHit.inc({ limit: "idle_timeout" });
    this.#bye("autologout; idle for too long");
  }
}

const INVALID_COMMAND = "(invalid)";

/** The most input one session has held, across the process (the gauge only rises). */
let maxBufferedBytes = 0;

function describeState(state: SessionState): string {
  switch (state) {
    case "not-authenticated":
      return "before authentication";
    case "authenticated":
      return "in the authenticated state (no mailbox selected)";
    case "selected":
      return "while a mailbox is selected";
    case "logout":
      return "after LOGOUT";
    default: {
      const unknown: never = state;
      return String(unknown);
    }
  }
}

export type { CommandFrame };
