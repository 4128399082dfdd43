// One IMAP connection: its state and transitions, and the loop that runs its commands one at a
// time in arrival order (RFC 3501 5.5 always allows it): guard, parse, gatekeeper, dispatch to the
// registered module, and the triage's answer for every failure (../errors.ts). Beside it: input.ts
// frames the client's bytes with backpressure, output.ts writes in order, updates.ts holds the
// unilateral updates until they may go out. All I/O is asynchronous: a slow command never blocks
// other sessions.

import type { Duplex } from "node:stream";
import {
  type CommandFrame,
  continuationRequest,
  parseCommand,
  type ResponsePart,
  type StreamedLiteralInfo,
  taggedStatus,
  untaggedStatus,
} from "../codec/index.ts";
import {
  type Answer,
  bad,
  triageHandlerError,
  triageParseFailure,
  triageReaderRefusal,
  triageUnknownCommand,
  triageWrongState,
} from "../errors.ts";
import { PreauthGuard } from "../limits/preauthGuard.ts";
import {
  imapCommandSeconds,
  imapCommands,
  imapCompress,
  imapLimitsHit,
  imapLogins,
  imapMaxBufferedBytes,
  imapRefusals,
  imapServerBugs,
  imapTls,
} from "../metrics.ts";
import { utf8Names } from "../modes.ts";
import type {
  AnyCommandModule,
  AuthenticatedUser,
  CommandContext,
  CommandOutcome,
  GatewayServices,
  LoginOutcome,
  Selection,
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
import { type InboxItem, type InputHost, SessionInput } from "./input.ts";
import { SessionOutput } from "./output.ts";
import { type FlushOptions, type FlushTarget, UpdateQueue } from "./updates.ts";
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

/** After close(), how long a peer that does not read gets before the socket is destroyed. */
const CLOSE_FLUSH_TIMEOUT_MS = 2_000;

let sessionCounter = 0;

function newSessionId(nodeId: string): string {
  sessionCounter = (sessionCounter + 1) % 0x7fffffff;
  return `${nodeId}-${Date.now().toString(36)}-${sessionCounter.toString(36)}`;
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
  readonly #input: SessionInput;
  readonly #output: SessionOutput;

  #state: SessionState = "not-authenticated";
  #user: AuthenticatedUser | undefined;
  #clientId: Map<string, string | null> | undefined;
  readonly #enabled = new Set<string>();
  #selected: Selection | undefined;
  #notifications: SessionNotifications | undefined;
  /** Updates being sent between commands (NOTIFY): the next command waits for them. */
  #pushing: Promise<void> | undefined;
  #pushAgain = false;

  #processing = false;
  /** Resolved when the command queue is empty, or a command waits for the client (#whenIdle). */
  readonly #idleWaiters: Array<() => void> = [];
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
  readonly #updates = new UpdateQueue();
  readonly #flushTarget: FlushTarget;
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
    this.#input = new SessionInput(this.#socket, this.#inputHost());
    this.#output = new SessionOutput(this.#socket, (error) => {
      this.#host.services.logger.debug("write failed", { sessionId: this.id, error: String(error) });
      this.#socket.destroy();
      this.close("write failed");
    });
    const session = this;
    this.#flushTarget = {
      get selected() {
        return session.#selected;
      },
      get notifications() {
        return session.#notifications;
      },
      get closed() {
        return session.#closed;
      },
      untagged: (...parts) => this.#send("* ", ...parts, "\r\n"),
    };
    this.#guard = new PreauthGuard(host.services.limits);
    this.#closedPromise = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Sends the greeting and starts reading. */
  start(): void {
    this.#input.attach(this.#socket);
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
  get selected(): Selection | undefined {
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
    return this.#input.bufferedBytes;
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

  select(mailbox: Selection): void {
    if (this.#state !== "authenticated" && this.#state !== "selected") {
      throw new Error("select() needs an authenticated session");
    }
    this.#updates.clear();
    this.#selected?.release?.();
    this.#selected = mailbox;
    this.#state = "selected";
  }

  unselect(): void {
    if (this.#state !== "selected") return;
    this.#selected?.release?.();
    this.#selected = undefined;
    this.#updates.clear();
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
    this.#updates.queue(update);
  }

  signalUpdates(): void {
    if (this.#closed) return;
    if (this.#state !== "selected" && this.#notifications === undefined) return;
    this.#updates.signal();
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
        await this.#output.release();
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
    return this.#updates.onUpdate(listener);
  }

  addUpdateSource(source: UpdateSource): void {
    if (this.#state === "selected") this.#updates.addSource(source);
  }

  flushUpdates(options: FlushOptions = {}): Promise<void> {
    return this.#updates.flush(this.#flushTarget, options);
  }

  /**
   * Before the tagged OK of STARTTLS: stop reading clear text and drop whatever the client
   * pipelined after the command (RFC 3501 6.2.1, RFC 7817 section 3: it must be discarded).
   */
  prepareStartTls(): void {
    this.#input.stopForLayer("STARTTLS");
  }

  /**
   * Before the tagged OK of COMPRESS: as STARTTLS, stop reading and drop what the client sent
   * after the command (RFC 4978: it must wait for the answer).
   */
  prepareCompression(): void {
    this.#input.stopForLayer("COMPRESS");
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
    this.#output.use(layer);
    this.#input.attach(layer);
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
    this.#input.close(reason);
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#wakeIdleWaiters();
    this.#updates.closeListeners();
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
    void this.#output.finish().finally(() => socket.end());
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
    const receiving = this.#input.midCommand;
    const waiting = this.#input.awaitingClient;
    const running = this.#currentCommand !== undefined && !waiting;
    if (!receiving && !running && !this.#processing) this.#bye(text);
    else if (waiting) this.#bye(text);
  }

  /** In IDLE, waiting for DONE. */
  get idling(): boolean {
    return this.#input.awaitingClient && this.#currentCommand?.endsWith(" IDLE") === true;
  }

  /** Closes at once without BYE (the server's grace period ran out). */
  destroy(): void {
    this.#socket.destroy();
    this.close("destroyed");
  }

  // ---- input (./input.ts) ------------------------------------------------------------------

  #inputHost(): InputHost {
    return {
      limits: this.#host.services.limits,
      nonSyncLiterals: this.#host.services.nonSyncLiterals ?? "plus",
      literalLimit: (name) => this.#moduleFor(name)?.maxLiteralSize?.(this, this.#host.services.limits),
      openLiteralSink: (info) => this.#openLiteralSink(info),
      queued: () => {
        if (!this.#processing) void this.#processLoop();
      },
      activity: () => this.#idleTimer?.refresh(),
      continuationNeeded: () => {
        void this.#send(continuationRequest("Ready for literal data")).catch(() => {});
        void this.#output.release();
      },
      ended: () => {
        // The client half-closed: answer what is queued, then close (a pipelined LOGOUT still gets its OK).
        void this.#whenIdle().then(() => this.close("client closed the connection"));
      },
      closed: (error) => {
        if (error === undefined) {
          this.close("connection closed");
          return;
        }
        // OpenSSL's errors carry their library and an ERR_SSL_* code: counted by those, not by text.
        const code = (error as NodeJS.ErrnoException).code;
        if ("library" in error || code?.startsWith("ERR_SSL") === true)
          imapTls.inc({ event: "handshake_error" });
        this.#host.services.logger.debug("connection error", { sessionId: this.id, error: error.message });
        this.#socket.destroy();
        this.close("connection error");
      },
      readerFailed: (error) => {
        this.#host.services.logger.error("command reader failed", {
          sessionId: this.id,
          error: String(error),
        });
        imapServerBugs.inc();
        this.#bye("internal error while reading your command", "SERVERBUG");
      },
      buffered: (bytes) => {
        if (bytes > maxBufferedBytes) {
          maxBufferedBytes = bytes;
          imapMaxBufferedBytes.set(bytes);
        }
      },
    };
  }

  #moduleFor(name: string | undefined): AnyCommandModule | undefined {
    const module = this.#host.registry.lookup(name);
    return module?.states.includes(this.#state) ? module : undefined;
  }

  #openLiteralSink(info: StreamedLiteralInfo): SessionLiteralSink {
    const module = this.#moduleFor(info.name);
    if (module?.openLiteralSink === undefined) throw new Error("this command does not take large literals");
    return module.openLiteralSink(info, this);
  }

  /** The next frame from the client, read inside a command; the queue is idle meanwhile. */
  #nextItem(): Promise<InboxItem | undefined> {
    const next = this.#input.next();
    if (this.#input.awaitingClient) this.#wakeIdleWaiters();
    return next;
  }

  /**
   * Resolves once every queued command is answered; at once when a command waits for more from
   * the client (a SASL response, IDLE's DONE), which after a half-close can never come.
   */
  #whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return this.#closed || this.#input.awaitingClient || (!this.#processing && this.#input.queuedCount === 0);
  }

  #wakeIdleWaiters(): void {
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  async #processLoop(): Promise<void> {
    this.#processing = true;
    try {
      while (!this.#closed) {
        const item = this.#input.take();
        if (item === undefined) break;
        // Updates sent between commands (NOTIFY) are finished before the command reads anything.
        if (this.#pushing !== undefined) await this.#pushing;
        // A command's responses go out together, at its tagged answer (see SessionOutput.hold).
        this.#output.hold();
        await this.#process(item);
        void this.#output.release();
        if (this.#shuttingDown && !this.#closed) this.#bye("server shutting down");
      }
    } catch (error) {
      this.#host.services.logger.error("session failed", { sessionId: this.id, error: String(error) });
      imapServerBugs.inc();
      this.#bye("internal server error", "SERVERBUG");
    } finally {
      this.#processing = false;
      if (this.#isIdle()) this.#wakeIdleWaiters();
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
      await this.#answerWith(item.tag ?? "*", triageReaderRefusal(item));
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
      utf8Accept: utf8Names(this),
      maxNestingDepth: this.#host.services.limits.maxNestingDepth,
    });
    if (!parsed.ok) {
      await this.#answerWith(parsed.tag ?? "*", triageParseFailure(parsed));
      return;
    }
    const command = parsed.command;
    const module = this.#host.registry.lookup(command.name);
    if (module === undefined) {
      await this.#answerWith(command.tag, triageUnknownCommand(command.name));
      return;
    }
    if (!module.states.includes(this.#state)) {
      await this.#answerWith(command.tag, triageWrongState(command.name, this.#state));
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
      const answer = triageHandlerError(error, command.name, this.#currentCommitted);
      if (answer.kind === "bug") this.#reportBug(command.name, error);
      else if (answer.bye === true || answer.kind === "after-commit") {
        this.#host.services.logger.warn(
          answer.bye === true
            ? "commit outcome unknown; closing the session"
            : "command failed after its commit; answered OK",
          { sessionId: this.id, command: command.name, error: String(error) },
        );
      }
      await this.#answerWith(command.tag, answer);
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
    await this.#output.release();
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

  /** Answers as the triage decided: counts its kind and limit, or says BYE when the session cannot go on. */
  async #answerWith(tag: string, answer: Answer): Promise<void> {
    imapRefusals.inc({ kind: answer.kind });
    if (answer.limit !== undefined) imapLimitsHit.inc({ limit: answer.limit });
    if (answer.bye === true) {
      this.#bye(answer.text, answer.code);
      return;
    }
    await this.#answer(tag, answer.status, answer.text, answer.code);
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
    await this.#output.release();
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
    return this.#output.send(...parts);
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
    if (this.#processing && !this.#input.awaitingClient) {
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

export type { CommandFrame };
