// The limits every session enforces, as one type: the command modules read it (module.ts) and
// the server's options set it (options.ts, with each default and its reason). Its own file, so
// neither of those imports the other.
import type { LoginThrottleLimits } from "../auth/loginThrottle.ts";

export interface GatewayLimits extends LoginThrottleLimits {
  readonly maxLineLength: number;
  /** Literals of commands that declare no limit of their own (LOGIN passwords, search strings, ...). */
  readonly maxLiteralSize: number;
  /** APPEND's literal limit (advertised as APPENDLIMIT by the APPEND module). */
  readonly maxAppendLiteralSize: number;
  readonly maxNestingDepth: number;
  readonly maxCommandsPerSecondBeforeAuth: number;
  readonly maxConsecutiveBadBeforeAuth: number;
  readonly idleTimeoutBeforeAuthMs: number;
  /** Autologout of authenticated sessions; RFC 3501 wants >= 30 minutes (a smaller value is logged as a warning). */
  readonly idleTimeoutAuthenticatedMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerUser: number;
  readonly maxPipelinedCommands: number;
  readonly shutdownGraceMs: number;
}
