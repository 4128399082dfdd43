// Gateway configuration: every limit is a named constant with its reason, overridable through
// GatewayOptions.limits. Bad values stop the server at construction with a message naming the setting.

import type { Authenticator } from "./auth/authenticator.ts";
import type { LoginThrottle, LoginThrottleLimits } from "./auth/loginThrottle.ts";
import {
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_LITERAL_SIZE,
  DEFAULT_MAX_NESTING_DEPTH,
} from "./codec/index.ts";
import type { GatewayLimits } from "./limits/gatewayLimits.ts";
import type { Logger } from "./logger.ts";
import type { AnyCommandModule } from "./module.ts";

/** RFC 3501 section 5.4: an autologout timer for authenticated clients must be at least 30 minutes. */
export const RFC3501_MIN_AUTOLOGOUT_MS = 30 * 60_000;
/** Before authentication a client has no reason to sit idle: drop it quickly. */
export const DEFAULT_IDLE_TIMEOUT_BEFORE_AUTH_MS = 60_000;
/** APPEND bodies may be large (go-imap-sql's default APPENDLIMIT is in this range); other literals are small. */
export const DEFAULT_MAX_APPEND_LITERAL_SIZE = 50 * 1024 * 1024;
/** A legitimate client sends a handful of commands before LOGIN; a flood is an attack or a bug. */
export const DEFAULT_MAX_COMMANDS_PER_SECOND_BEFORE_AUTH = 20;
/** Consecutive BAD answers before authentication after which the peer is treated as not speaking IMAP. */
export const DEFAULT_MAX_CONSECUTIVE_BAD_BEFORE_AUTH = 3;
/** Failed logins from one address within the window before that address is refused for a while. */
export const DEFAULT_MAX_FAILED_LOGINS_PER_ADDRESS = 10;
/** Failed logins for one user (from any address) within the window before the user is refused for a while. */
export const DEFAULT_MAX_FAILED_LOGINS_PER_USER = 20;
export const DEFAULT_FAILED_LOGIN_WINDOW_MS = 15 * 60_000;
export const DEFAULT_FAILED_LOGIN_LOCKOUT_MS = 15 * 60_000;
/** Delay before answering a failed login, doubled with each further failure from the same address. */
export const DEFAULT_FAILED_LOGIN_BASE_DELAY_MS = 250;
export const DEFAULT_FAILED_LOGIN_MAX_DELAY_MS = 8_000;
export const DEFAULT_MAX_CONNECTIONS = 20_000;
export const DEFAULT_MAX_CONNECTIONS_PER_USER = 50;
/** Commands read ahead of the one being executed (pipelining); beyond this the socket is paused. */
export const DEFAULT_MAX_PIPELINED_COMMANDS = 32;
/** Time a graceful close waits for commands in progress before cutting connections. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;

export type { GatewayLimits };

export const DEFAULT_LIMITS: GatewayLimits = {
  maxLineLength: DEFAULT_MAX_LINE_LENGTH,
  maxLiteralSize: DEFAULT_MAX_LITERAL_SIZE,
  maxAppendLiteralSize: DEFAULT_MAX_APPEND_LITERAL_SIZE,
  maxNestingDepth: DEFAULT_MAX_NESTING_DEPTH,
  maxCommandsPerSecondBeforeAuth: DEFAULT_MAX_COMMANDS_PER_SECOND_BEFORE_AUTH,
  maxConsecutiveBadBeforeAuth: DEFAULT_MAX_CONSECUTIVE_BAD_BEFORE_AUTH,
  maxFailedLoginsPerAddress: DEFAULT_MAX_FAILED_LOGINS_PER_ADDRESS,
  maxFailedLoginsPerUser: DEFAULT_MAX_FAILED_LOGINS_PER_USER,
  failedLoginWindowMs: DEFAULT_FAILED_LOGIN_WINDOW_MS,
  failedLoginLockoutMs: DEFAULT_FAILED_LOGIN_LOCKOUT_MS,
  failedLoginBaseDelayMs: DEFAULT_FAILED_LOGIN_BASE_DELAY_MS,
  failedLoginMaxDelayMs: DEFAULT_FAILED_LOGIN_MAX_DELAY_MS,
  idleTimeoutBeforeAuthMs: DEFAULT_IDLE_TIMEOUT_BEFORE_AUTH_MS,
  idleTimeoutAuthenticatedMs: RFC3501_MIN_AUTOLOGOUT_MS,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  maxConnectionsPerUser: DEFAULT_MAX_CONNECTIONS_PER_USER,
  maxPipelinedCommands: DEFAULT_MAX_PIPELINED_COMMANDS,
  shutdownGraceMs: DEFAULT_SHUTDOWN_GRACE_MS,
};

export interface TlsOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface GatewayOptions {
  /** Default 127.0.0.1 (DESIGN.md IMAP_HOST). */
  readonly host?: string;
  /** Clear-text port with STARTTLS; 0 picks a free port. Default 1143. */
  readonly port?: number;
  /** Implicit-TLS port (IMAPS); requires tls. */
  readonly tlsPort?: number;
  /** Certificate and key for STARTTLS and the IMAPS port. Without it STARTTLS is not offered. */
  readonly tls?: TlsOptions;
  /** Allow LOGIN/AUTHENTICATE PLAIN on a clear-text connection (ALLOW_INSECURE_AUTH). Default false. */
  readonly allowInsecureAuth?: boolean;
  readonly limits?: Partial<GatewayLimits>;
  readonly authenticator: Authenticator;
  /** Command modules beyond the core set (CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN, AUTHENTICATE, ID, ENABLE). */
  readonly modules?: readonly AnyCommandModule[];
  readonly logger?: Logger;
  /** Recorded in event metadata (DESIGN.md NODE_ID). */
  readonly nodeId?: string;
  /** Greeting text after the capability code. */
  readonly greeting?: string;
  /** Where the debug wire log goes (default: logger.info). */
  readonly debugSink?: (line: string) => void;
  /** Sent as the server's ID (RFC 2971). */
  readonly serverId?: Readonly<Record<string, string>>;
  /**
   * Makes the failed-login throttle from the resolved limits; the server closes it on close.
   * Default: counts kept in this process (MemoryLoginThrottle).
   */
  readonly loginThrottle?: (limits: LoginThrottleLimits) => LoginThrottle;
  /** Offer COMPRESS=DEFLATE (RFC 4978); default true. About 170 KiB per compressed connection. */
  readonly compression?: boolean;
  /**
   * Offer LITERAL+ (RFC 7888): non-synchronizing literals of any size up to the literal limits.
   * Default true. LITERAL- (at most 4096 octets) is offered either way; without LITERAL+ a larger
   * non-synchronizing literal gets BAD [TOOBIG] and its octets are read and dropped.
   */
  readonly literalPlus?: boolean;
}

export class GatewayConfigError extends Error {
  override readonly name = "GatewayConfigError";
}

/** Merges defaults and validates; throws GatewayConfigError naming the setting. */
export function resolveLimits(overrides: Partial<GatewayLimits> | undefined): GatewayLimits {
  const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || !Number.isInteger(value)) {
      throw new GatewayConfigError(`limits.${name} must be a non-negative integer, got ${String(value)}`);
    }
  }
  const positive: Array<keyof GatewayLimits> = [
    "maxLineLength",
    "maxConnections",
    "maxConnectionsPerUser",
    "maxPipelinedCommands",
    "idleTimeoutBeforeAuthMs",
    "idleTimeoutAuthenticatedMs",
    "maxCommandsPerSecondBeforeAuth",
    "maxConsecutiveBadBeforeAuth",
  ];
  for (const name of positive) {
    if (limits[name] === 0) throw new GatewayConfigError(`limits.${name} must be greater than 0`);
  }
  if (limits.maxLineLength < 1024) {
    throw new GatewayConfigError(
      "limits.maxLineLength must be at least 1024 (RFC 7162 section 4 wants 8192)",
    );
  }
  return limits;
}
