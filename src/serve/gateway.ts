// The gateway role: the IMAP server with every command module, accounts checked against the
// command side's credentials, reads through the query module (the mailbox index and the bodies view).
import { readFile } from "node:fs/promises";
import { verifyCredentials } from "../commands/user/handlers.ts";
import type { Authenticator } from "../imap-gateway/auth/authenticator.ts";
import type { LoginThrottleLimits } from "../imap-gateway/auth/loginThrottle.ts";
import { createRedisLoginThrottle } from "../imap-gateway/auth/redisLoginThrottle.ts";
import type { Logger } from "../imap-gateway/logger.ts";
import type { MailServices } from "../imap-gateway/mail/services.ts";
import { mailboxCommands } from "../imap-gateway/mailbox-commands/index.ts";
import type { GatewayOptions } from "../imap-gateway/options.ts";
import { createImapServer, type ImapServer } from "../imap-gateway/server.ts";
import { createNoticeRouter } from "../projections/notices/noticeRouter.ts";
import { ensureSelfSignedCertificate } from "./embeddedTls.ts";
import type { Runtime } from "./runtime.ts";

export interface GatewayRole {
  server: ImapServer;
  port: number;
  tlsPort: number | undefined;
  services: MailServices;
}

export function storeAuthenticator(runtime: Runtime): Authenticator {
  return {
    async verify(username, password) {
      const result = await verifyCredentials({ pool: runtime.pool }, { username, password });
      return result.ok ? { ok: true, userId: result.userId } : { ok: false };
    },
  };
}

export async function startGateway(
  runtime: Runtime,
  logger: Logger,
  overrides: Partial<GatewayOptions> = {},
): Promise<GatewayRole> {
  const { config } = runtime;
  const services: MailServices = {
    pool: runtime.pool,
    blobStore: runtime.blobStore,
    queries: runtime.queries,
    notices: createNoticeRouter(runtime.notices, { pollIntervalMs: config.doorbellPollMs }),
    appendLimit: config.appendLimit ?? null,
    idleCheckMs: config.idleCheckMs,
    metadataLimits: config.metadataLimits,
    onCommitted: runtime.onCommitted,
    logger,
  };
  let tlsFiles = config.tlsCert && config.tlsKey ? { cert: config.tlsCert, key: config.tlsKey } : undefined;
  if (!tlsFiles && config.mode === "embedded") {
    const generated = await ensureSelfSignedCertificate(config.dataDir, config.imapHost);
    if (generated.created) {
      logger.warn(
        `made a self-signed certificate for STARTTLS in ${generated.cert} (SHA-1 fingerprint ${generated.fingerprint}); set TLS_CERT and TLS_KEY to use your own`,
      );
    }
    tlsFiles = generated;
  }
  if (config.allowInsecureAuth) {
    logger.warn(
      "ALLOW_INSECURE_AUTH is on: LOGIN and AUTHENTICATE accept passwords on clear-text connections; use it only on a network you trust",
    );
  }
  const tls = tlsFiles
    ? { cert: await readFile(tlsFiles.cert), key: await readFile(tlsFiles.key) }
    : undefined;
  const server = createImapServer({
    host: config.imapHost,
    port: config.imapPort,
    ...(config.imapsPort !== undefined ? { tlsPort: config.imapsPort } : {}),
    ...(tls ? { tls } : {}),
    allowInsecureAuth: config.allowInsecureAuth,
    compression: config.imapCompress,
    literalPlus: config.imapLiteralPlus,
    limits: config.gatewayLimits,
    authenticator: storeAuthenticator(runtime),
    modules: mailboxCommands(services),
    logger,
    nodeId: config.nodeId,
    // Distributed: failed logins count on every node alike, whichever node a client reaches.
    ...(config.mode === "embedded"
      ? {}
      : {
          loginThrottle: (limits: LoginThrottleLimits) =>
            createRedisLoginThrottle({
              url: config.redisUrl!,
              prefix: `${config.redisPrefix}:login`,
              limits,
              onError: (error) => logger.warn("redis login throttle", { error: String(error) }),
            }),
        }),
    ...overrides,
  });
  const { port, tlsPort } = await server.listen();
  return { server, port, tlsPort, services };
}
