// createImapServer: the TCP (STARTTLS) and IMAPS listeners, the session registry, graceful
// shutdown, the runtime debug switch and the metrics. Storage-free: accounts come through the
// Authenticator, commands beyond the core through `modules`.

import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { MemoryLoginThrottle } from "./auth/loginThrottle.ts";
import { coreCommands } from "./connection/index.ts";
import { ConnectionLimits } from "./limits/connectionLimits.ts";
import { type Logger, stderrLogger } from "./logger.ts";
import {
  imapConnections,
  imapLimitsHit,
  imapTls,
  type SessionStateCounts,
  trackSessions,
} from "./metrics.ts";
import type { GatewayServices } from "./module.ts";
import {
  GatewayConfigError,
  type GatewayOptions,
  RFC3501_MIN_AUTOLOGOUT_MS,
  resolveLimits,
} from "./options.ts";
import { CommandRegistry } from "./registry.ts";
import { Session, type SessionHost } from "./session/session.ts";
import { createTlsContext, MIN_TLS_VERSION, startTlsUpgrader } from "./tls/tlsContext.ts";

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 1143;
export const DEFAULT_GREETING = "mailledger ready";

/** Turns the wire log on or off globally, or for one user (by login name, case-insensitive). */
export type DebugSetting = { readonly enabled: boolean; readonly user?: string };

export interface ImapServer {
  listen(): Promise<{ port: number; tlsPort?: number }>;
  /** Graceful: BYE to every session (after its command in progress), then close the listeners. */
  close(): Promise<void>;
  setDebug(setting: DebugSetting): void;
  /** Open sessions (diagnostics, tests). */
  sessions(): readonly Session[];
  /** Runs a session on any duplex stream (in-memory tests, the fuzzer); counts toward the node limit. */
  attach(
    stream: Duplex,
    info: { readonly remoteAddress: string; readonly secure: boolean },
  ): Session | undefined;
}

const NODE_LIMIT_BYE = "* BYE [UNAVAILABLE] too many connections on this server; try again later\r\n";
const SHUTDOWN_BYE = "* BYE server shutting down\r\n";

export function createImapServer(options: GatewayOptions): ImapServer {
  const limits = resolveLimits(options.limits);
  const logger: Logger = options.logger ?? stderrLogger;
  if (options.tlsPort !== undefined && options.tls === undefined) {
    throw new GatewayConfigError("tlsPort is set but tls (cert and key) is not");
  }
  if (limits.idleTimeoutAuthenticatedMs < RFC3501_MIN_AUTOLOGOUT_MS) {
    logger.warn("limits.idleTimeoutAuthenticatedMs is below the 30 minutes RFC 3501 section 5.4 asks for", {
      idleTimeoutAuthenticatedMs: limits.idleTimeoutAuthenticatedMs,
    });
  }
  const tlsContext = options.tls === undefined ? undefined : createTlsContext(options.tls);
  const nonSyncLiterals = options.literalPlus === false ? "minus" : "plus";
  const registry = new CommandRegistry(
    [...coreCommands({ compression: options.compression }), ...(options.modules ?? [])],
    { nonSyncLiterals },
  );
  const connections = new ConnectionLimits(limits.maxConnections, limits.maxConnectionsPerUser);
  const services: GatewayServices = {
    authenticator: options.authenticator,
    loginThrottle: options.loginThrottle?.(limits) ?? new MemoryLoginThrottle(limits),
    limits,
    logger,
    serverId: options.serverId ?? { name: "mailledger", version: "0.1.0" },
    nonSyncLiterals,
  };
  const sessions = new Set<Session>();
  let debugAll = false;
  const debugUsers = new Set<string>();
  const debugSink = options.debugSink ?? ((line: string) => logger.info(line, { wire: true }));
  let closing = false;

  const host: SessionHost = {
    registry,
    services,
    nodeId: options.nodeId ?? "node",
    allowInsecureAuth: options.allowInsecureAuth ?? false,
    greeting: options.greeting ?? DEFAULT_GREETING,
    claimUserConnection: (userId) => connections.tryClaimUser(userId),
    releaseUserConnection: (userId) => connections.releaseUser(userId),
    sessionClosed(session) {
      if (sessions.delete(session)) connections.closed();
    },
    wireLogEnabled: (username) =>
      debugAll || (username !== undefined && debugUsers.size > 0 && debugUsers.has(username.toLowerCase())),
    wireLog: (line) => debugSink(line),
  };

  function attach(stream: Duplex, info: { remoteAddress: string; secure: boolean }): Session | undefined {
    stream.on("error", () => {}); // errors are handled by the session; this covers the refusal paths
    if (closing) {
      imapConnections.inc({ result: "refused_shutting_down" });
      stream.end(SHUTDOWN_BYE);
      return undefined;
    }
    if (!connections.tryOpen()) {
      imapConnections.inc({ result: "refused_node_limit" });
      imapLimitsHit.inc({ limit: "node_connections" });
      stream.end(NODE_LIMIT_BYE);
      return undefined;
    }
    imapConnections.inc({ result: "accepted" });
    const session = new Session(
      {
        socket: stream,
        remoteAddress: info.remoteAddress,
        secure: info.secure,
        upgradeToTls: info.secure ? undefined : startTlsUpgrader(stream, tlsContext),
      },
      host,
    );
    sessions.add(session);
    session.start();
    return session;
  }

  const plainServer = net.createServer({ noDelay: true }, (socket) => {
    attach(socket, { remoteAddress: socket.remoteAddress ?? "unknown", secure: false });
  });
  const tlsServer =
    options.tlsPort === undefined || options.tls === undefined
      ? undefined
      : tls.createServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            minVersion: MIN_TLS_VERSION,
            handshakeTimeout: limits.idleTimeoutBeforeAuthMs,
          },
          (socket) => {
            attach(socket, { remoteAddress: socket.remoteAddress ?? "unknown", secure: true });
          },
        );
  tlsServer?.on("tlsClientError", (error) => {
    imapTls.inc({ event: "handshake_error" });
    logger.debug("TLS handshake failed", { error: error.message });
  });
  for (const server of [plainServer, tlsServer]) {
    server?.on("error", (error) => logger.error("listener error", { error: error.message }));
    // Accept errors (EMFILE under load) must not take the process down.
    server?.on("drop", () => {
      imapConnections.inc({ result: "refused_node_limit" });
      imapLimitsHit.inc({ limit: "node_connections" });
    });
  }
  plainServer.maxConnections = limits.maxConnections + 1024;

  function listenOn(server: net.Server, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: options.host ?? DEFAULT_HOST, port, backlog: 4096 }, () => {
        server.off("error", reject);
        const address = server.address();
        resolve(typeof address === "object" && address !== null ? address.port : port);
      });
    });
  }

  function closeListener(server: net.Server | undefined): Promise<void> {
    return new Promise((resolve) => {
      if (server === undefined || !server.listening) return resolve();
      server.close(() => resolve());
    });
  }

  const untrackSessions = trackSessions(() => {
    const counts: Record<string, number> = {};
    for (const session of sessions) {
      const state = session.idling ? "idle" : session.state;
      counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts satisfies SessionStateCounts;
  });

  return {
    async listen() {
      const port = await listenOn(plainServer, options.port ?? DEFAULT_PORT);
      if (tlsServer === undefined) return { port };
      const tlsPort = await listenOn(tlsServer, options.tlsPort ?? 0);
      return { port, tlsPort };
    },
    async close() {
      closing = true;
      const listenersClosed = Promise.all([closeListener(plainServer), closeListener(tlsServer)]);
      const open = [...sessions];
      for (const session of open) session.shutdown();
      let graceTimer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        graceTimer = setTimeout(resolve, limits.shutdownGraceMs);
      });
      await Promise.race([Promise.all(open.map((s) => s.whenClosed)), grace]);
      clearTimeout(graceTimer);
      for (const session of sessions) session.destroy();
      await listenersClosed;
      untrackSessions();
      await services.loginThrottle.close?.();
    },
    setDebug(setting) {
      if (setting.user === undefined) debugAll = setting.enabled;
      else if (setting.enabled) debugUsers.add(setting.user.toLowerCase());
      else debugUsers.delete(setting.user.toLowerCase());
    },
    sessions: () => [...sessions],
    attach,
  };
}
