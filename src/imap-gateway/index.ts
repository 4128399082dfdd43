// Public surface of the IMAP gateway.
export { type AuthenticationResult, type Authenticator, staticAuthenticator } from "./auth/authenticator.ts";
export { type LoginThrottle, MemoryLoginThrottle } from "./auth/loginThrottle.ts";
export { createRedisLoginThrottle } from "./auth/redisLoginThrottle.ts";
export { coreCommands } from "./connection/index.ts";
export { bad, ImapError, no, triageHandlerError } from "./errors.ts";
export { type Logger, silentLogger, stderrLogger } from "./logger.ts";
export * as gatewayMetrics from "./metrics.ts";
export * from "./module.ts";
export * from "./options.ts";
export { CommandRegistry } from "./registry.ts";
export { createImapServer, type DebugSetting, type ImapServer } from "./server.ts";
export { ConnectionClosedError, Session, type SessionTransport } from "./session/session.ts";
