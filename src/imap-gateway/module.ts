// What a command module is, and what it gets from the session. One module per IMAP command
// (or a small family: SELECT/EXAMINE); the gateway's registry dispatches parsed commands to them
// after the gatekeeper checked the session state.

import type { Authenticator } from "./auth/authenticator.ts";
import type { LoginThrottle } from "./auth/loginThrottle.ts";
import type {
  Command,
  CommandName,
  FetchItem,
  LiteralSink,
  ResponsePart,
  StreamedLiteralInfo,
} from "./codec/index.ts";
import type { GatewayLimits } from "./limits/gatewayLimits.ts";
import type { Logger } from "./logger.ts";

export type SessionState = "not-authenticated" | "authenticated" | "selected" | "logout";

export const ANY_STATE: readonly SessionState[] = ["not-authenticated", "authenticated", "selected"];
export const NOT_AUTHENTICATED: readonly SessionState[] = ["not-authenticated"];
export const AUTHENTICATED_OR_SELECTED: readonly SessionState[] = ["authenticated", "selected"];
export const SELECTED: readonly SessionState[] = ["selected"];

export type CommandOf<N extends CommandName> = Extract<Command, { name: N }>;

export interface AuthenticatedUser {
  readonly userId: string;
  /** As the client typed it; for logs and the debug switch. */
  readonly username: string;
}

/** The slot a SELECT module fills; the gateway only needs the name and whether writes are allowed. */
export interface Selection {
  readonly name: string;
  readonly readOnly: boolean;
  /**
   * The untagged updates to send now (each without `* ` and CRLF), computed at the moment they
   * are sent so their sequence numbers are right; EXPUNGEs stay pending while `holdExpunge`.
   */
  readonly pendingUpdates?: (options: {
    readonly holdExpunge: boolean;
    /** Flag changes stay pending too (NOTIFY without FlagChange, between commands). */
    readonly holdFlags?: boolean;
  }) => Promise<string[]>;
  /**
   * Before each command (DESIGN.md contract 9): compare the index's HIGHESTMODSEQ with what the
   * session knows and queue what changed, so a command that starts after another's OK, on any
   * node, sees its effect whether or not its doorbell came.
   */
  readonly sync?: () => Promise<void>;
  /** The session leaves the mailbox (another SELECT, CLOSE, UNSELECT, LOGOUT, disconnect). */
  readonly release?: () => void;
  /**
   * Before each command while the mailbox is selected: throws (NO) when the session's user may no
   * longer run `command` on it (RFC 4314: another user's mailbox whose rights were taken away).
   */
  readonly authorize?: (command: string) => Promise<void>;
}

/**
 * A pending unilateral response (RFC 3501 7: EXISTS, RECENT, EXPUNGE, FETCH FLAGS, VANISHED, ...),
 * queued by the storage side and sent by the session before the next tagged response it may precede.
 */
export interface UnilateralUpdate {
  /** EXPUNGE/VANISHED: held back while a FETCH, STORE or SEARCH is being answered (RFC 3501 7.4.1). */
  readonly expunge: boolean;
  /** Everything after `* `, CRLF excluded. */
  readonly parts: readonly ResponsePart[];
}

/** See SessionControl.addUpdateSource. */
export type UpdateSource = (options: { readonly holdExpunge: boolean }) => Promise<readonly string[]>;

/**
 * What a NOTIFY (RFC 5465) asked the session to tell without being asked: the selected mailbox's
 * changes between commands, and STATUS and LIST responses about the user's other mailboxes.
 */
export interface SessionNotifications {
  /**
   * What goes out about the selected mailbox between commands and in IDLE (SELECTED or
   * SELECTED-DELAYED with events): null for nothing, its changes then wait for a command's end.
   */
  readonly selected: { readonly expunges: boolean; readonly flags: boolean } | null;
  /** MessageNew's fetch attributes for the selected mailbox (RFC 5465 5.2), if asked. */
  readonly newMessageItems: readonly FetchItem[] | undefined;
  /** The lines (without `* `) about other mailboxes to send now; taken once returned. */
  take(): string[];
  /** Look at the index now, whatever the doorbell said (contract 9); resolves once looked. */
  look(): Promise<void>;
  /** NOTIFY is replaced, or the session ends. */
  release(): void;
}

/** Metadata every event appended on behalf of this session carries (DESIGN.md, Events). */
export interface SessionEventMetadata {
  readonly userId: string | undefined;
  readonly sessionId: string;
  readonly nodeId: string;
  readonly remoteAddress: string;
  /** The client's ID (RFC 2971) as `name/version`, if it sent one. */
  readonly clientId: string | undefined;
  /** `tag NAME` of the command in progress. */
  readonly command: string | undefined;
}

/** Read-only facts about a session (what capability builders and literal-limit hooks see). */
export interface SessionInfo {
  readonly id: string;
  readonly nodeId: string;
  readonly state: SessionState;
  readonly user: AuthenticatedUser | undefined;
  readonly remoteAddress: string;
  /** TLS is in place (IMAPS or after STARTTLS). */
  readonly secure: boolean;
  /** COMPRESS=DEFLATE is active (RFC 4978). */
  readonly compressed: boolean;
  /** STARTTLS is possible on this connection now. */
  readonly canStartTls: boolean;
  /** LOGIN/AUTHENTICATE may be used: the connection is secure, or the operator allows insecure auth. */
  readonly authAllowed: boolean;
  /** The client's ID parameters (RFC 2971), undefined until it sends ID. */
  readonly clientId: ReadonlyMap<string, string | null> | undefined;
  /** Extensions turned on with ENABLE (RFC 5161), upper-cased: CONDSTORE, QRESYNC, UTF8=ACCEPT, ... */
  readonly enabled: ReadonlySet<string>;
  readonly selected: Selection | undefined;
  /** What the last NOTIFY asked for (RFC 5465); undefined when the client never sent one. */
  readonly notifications: SessionNotifications | undefined;
}

export type LoginOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "user-connection-limit" };

/** A session as a command handler sees it: facts plus the state transitions a handler may cause. */
export interface SessionControl extends SessionInfo {
  /** The capability list for the current state, built from the registered modules. */
  capabilities(): string[];
  /** not-authenticated → authenticated. Refused when the user already has too many connections. */
  authenticate(user: AuthenticatedUser): LoginOutcome;
  /** authenticated/selected → selected (a previously selected mailbox is replaced). */
  select(mailbox: Selection): void;
  /** selected → authenticated; pending updates of the old mailbox are dropped. */
  unselect(): void;
  /**
   * authenticated/selected → not authenticated (RFC 8437 UNAUTHENTICATE): leaves the mailbox
   * without expunging, forgets the user, ENABLEd extensions and NOTIFY; TLS and COMPRESS stay.
   */
  unauthenticate(): void;
  /** Records extensions as enabled; returns those newly enabled. */
  enable(extensions: readonly string[]): string[];
  /** Extensions that ENABLE can turn on (declared by the registered modules). */
  enableable(): ReadonlySet<string>;
  setClientId(params: ReadonlyArray<readonly [string, string | null]> | null): void;
  /** NOTIFY SET or NONE (RFC 5465): replaces (and releases) what an earlier NOTIFY asked for. */
  setNotifications(notifications: SessionNotifications): void;
  /** Queue an unilateral update for this session (the doorbell side calls this). */
  queueUpdate(update: UnilateralUpdate): void;
  /**
   * The selected mailbox (or NOTIFY) has updates for flushUpdates(): wakes the listeners (IDLE),
   * and under NOTIFY sends them at once when no command is running (RFC 5465 3).
   */
  signalUpdates(): void;
  /** Called whenever an update is queued (IDLE sends it at once). Returns an unsubscribe function. */
  onUpdate(listener: () => void): () => void;
  /**
   * Adds updates of the selected mailbox that its tracker does not make itself (RFC 5267 ADDTO and
   * REMOVEFROM of a live search): after the mailbox's own updates, each source gives the lines to
   * send (without `* `). Dropped when the session leaves the mailbox.
   */
  addUpdateSource(source: UpdateSource): void;
  /**
   * Sends queued updates now (IDLE, NOOP); EXPUNGEs too unless holdExpunge. `unsolicited`: sent
   * while the client waits (IDLE, or between commands under NOTIFY), so only what NOTIFY allows.
   */
  flushUpdates(options?: { readonly holdExpunge?: boolean; readonly unsolicited?: boolean }): Promise<void>;
  /** In STARTTLS's handler, before the OK: stop reading clear text and drop pipelined input. */
  prepareStartTls(): void;
  /** After the tagged OK of STARTTLS: upgrade the connection in place. */
  startTls(): Promise<void>;
  /** In COMPRESS's handler, before the OK: stop reading uncompressed text, drop pipelined input. */
  prepareCompression(): void;
  /** After the tagged OK of COMPRESS: compress and decompress the connection from here on. */
  startCompression(): void;
  /** After the tagged OK of LOGOUT: close the connection. */
  close(reason?: string): void;
}

/** Shared services a handler may need (authentication, limits, metrics). */
export interface GatewayServices {
  readonly authenticator: Authenticator;
  readonly loginThrottle: LoginThrottle;
  readonly limits: GatewayLimits;
  readonly logger: Logger;
  readonly serverId: Readonly<Record<string, string>>;
  /** RFC 7888: "plus" offers LITERAL+ and LITERAL-, "minus" LITERAL- alone (default "plus"). */
  readonly nonSyncLiterals?: "plus" | "minus";
}

export interface CommandContext {
  readonly tag: string;
  readonly session: SessionControl;
  readonly services: GatewayServices;
  /** Aborted when the connection goes away mid-command. */
  readonly signal: AbortSignal;
  /**
   * Writes `* ` + parts + CRLF. Parts are already-encoded strings/Buffers (use the codec's encoders)
   * or `streamedLiteral(size, source)` to stream a literal with backpressure.
   */
  untagged(...parts: ResponsePart[]): Promise<void>;
  /** Sends `+ text` and resolves with the client's next line (CRLF stripped), e.g. a SASL response. */
  continuation(text?: string): Promise<string>;
  /** The metadata an event appended by this command must carry. */
  eventMetadata(): SessionEventMetadata;
  /**
   * Called after each commit of the command's writes: from then on the command answers OK
   * whatever fails later (NO would tell the client its write was not done).
   */
  noteCommitted(): void;
}

/** What a handler returns for the tagged OK; nothing means `OK <NAME> completed`. */
export interface CommandOutcome {
  readonly text?: string;
  readonly code?: string;
  /** Runs once the tagged OK is on the wire (STARTTLS upgrades, LOGOUT closes). */
  readonly afterResponse?: () => Promise<void> | void;
}

/** A literal sink whose destination can be waited on when write() answered false. */
export interface SessionLiteralSink extends LiteralSink {
  drained?(): Promise<void>;
}

export interface CommandModule<N extends CommandName = CommandName> {
  readonly names: readonly N[];
  /** States the command is valid in; the gatekeeper answers BAD elsewhere. */
  readonly states: readonly SessionState[];
  /** Capabilities this module contributes in the session's current state. */
  capabilities?(session: SessionInfo): readonly string[];
  /** Capability names ENABLE may turn on because this module implements them (RFC 5161). */
  readonly enableable?: readonly string[];
  /** True for FETCH, STORE, SEARCH: pending EXPUNGEs wait until the command is done (RFC 3501 7.4.1). */
  readonly holdsExpunge?: boolean;
  /**
   * How the command keeps contract 9 (a command that starts after another's OK, on any node, sees
   * its effect) for the selected mailbox, whose sequence numbers the session holds:
   * - "looks-first": the session reads what changed in the index and announces new messages and
   *   flags before the command runs (COPY, MOVE, SORT, THREAD, NOOP, CHECK, IDLE);
   * - "compares-itself": the command's own read of the index tells whether the mailbox moved
   *   since the session last looked, and the module looks then (FETCH, STORE, SEARCH, EXPUNGE):
   *   a round trip less per command when nothing moved;
   * - absent: the command does not read the selected mailbox through the session's numbering
   *   (APPEND, LIST, STATUS, SELECT, ...); it reads the index directly.
   */
  readonly selectedView?: "looks-first" | "compares-itself";
  /** Largest literal this command accepts (default limits.maxLiteralSize), checked before `+` is sent. */
  maxLiteralSize?(session: SessionInfo, limits: GatewayLimits): number;
  /** Destination for literals larger than the codec's stream threshold (APPEND bodies). */
  openLiteralSink?(info: StreamedLiteralInfo, session: SessionInfo): SessionLiteralSink;
  /** Throws ImapError for NO/BAD; any other error becomes NO [SERVERBUG]. */
  handle(command: CommandOf<N>, context: CommandContext): Promise<CommandOutcome | undefined>;
}

/** Any module, whatever commands it handles (method parameters are bivariant, so this accepts all). */
export type AnyCommandModule = CommandModule<CommandName>;

/** Identity helper that keeps `handle`'s command type narrow while registering as AnyCommandModule. */
export function defineCommand<N extends CommandName>(module: CommandModule<N>): AnyCommandModule {
  return module as unknown as AnyCommandModule;
}
