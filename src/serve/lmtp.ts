// The lmtp role: mail delivery from an MTA (RFC 2033) into the same command side as IMAP APPEND.
import os from "node:os";
import type { Logger } from "../imap-gateway/logger.ts";
import { type LmtpServer, startLmtpServer } from "../lmtp/server.ts";
import type { Runtime } from "./runtime.ts";

export function startLmtpRole(runtime: Runtime, logger: Logger): Promise<LmtpServer> {
  const { config } = runtime;
  return startLmtpServer({
    settings: config.lmtp,
    hostname: os.hostname(),
    logger,
    pool: runtime.pool,
    blobStore: runtime.blobStore,
    appendLimit: config.appendLimit ?? null,
    onCommitted: runtime.onCommitted,
    nodeId: config.nodeId,
    duplicateWindowMs: config.lmtp.duplicateWindowMs,
  });
}
