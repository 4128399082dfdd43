// What the mailbox command modules are given: the command side for writes, the projection's
// query module for reads, and the means to honour read-your-writes (DESIGN.md contract 2).
import type { CommandContext as DomainContext } from "../../commands/context.ts";
import type { BlobStore } from "../../events/blobs/blobStore.ts";
import type { DatabasePool } from "../../events/db.ts";
import type { NoticeRouter } from "../../projections/notices/noticeRouter.ts";
import type { ProjectionQueries } from "../../projections/queries/index.ts";
import type { PositionTarget, PositionWaiter } from "../../projections/readYourWrites.ts";
import type { Logger } from "../logger.ts";
import type { MetricsRegistry } from "../metrics.ts";
import type { CommandContext } from "../module.ts";

export interface MailServices {
  pool: DatabasePool;
  blobStore: BlobStore;
  queries: ProjectionQueries;
  /** The notice bus, routed by mailbox and user: one subscription for the node. */
  notices: NoticeRouter;
  positions: PositionWaiter;
  /** The global APPENDLIMIT (bytes) or null. */
  appendLimit: number | null;
  /** How long a command waits for the projections to show its own effect before answering. */
  readYourWritesTimeoutMs: number;
  onCommitted: () => void;
  logger: Logger;
  metrics: MetricsRegistry;
}

export const DEFAULT_READ_YOUR_WRITES_TIMEOUT_MS = 5_000;
export const METRIC_RYW_TIMEOUTS = "read_your_writes_timeouts_total";

/** The command side's context for one IMAP command, carrying the session's event metadata. */
export function domainContext(services: MailServices, context: CommandContext): DomainContext {
  const metadata = context.eventMetadata();
  return {
    pool: services.pool,
    blobStore: services.blobStore,
    appendLimit: services.appendLimit,
    onCommitted: services.onCommitted,
    now: () => new Date(),
    metadata: {
      actor: context.session.user?.username,
      sessionId: metadata.sessionId,
      nodeId: metadata.nodeId,
      remoteAddress: metadata.remoteAddress,
      ...(context.session.clientId ? { clientId: Object.fromEntries(context.session.clientId) } : {}),
      ...(metadata.command ? { command: splitCommand(metadata.command) } : {}),
      correlationId: `${metadata.sessionId}:${context.tag}`,
    },
  };
}

function splitCommand(command: string): { tag: string; name: string } {
  const space = command.indexOf(" ");
  return space < 0
    ? { tag: command, name: "" }
    : { tag: command.slice(0, space), name: command.slice(space + 1) };
}

/**
 * Waits until the projections show the effect of a committed command (position), so every
 * command that starts after our tagged OK sees it, on any node. The events are durable already:
 * a timeout is logged and counted, and the command still answers OK rather than invite a retry
 * that would apply it twice.
 */
export async function awaitVisible(
  services: MailServices,
  target: PositionTarget,
  position: number | null | undefined,
): Promise<void> {
  if (position === null || position === undefined) return;
  const result = await services.positions.waitForPosition(target, position, services.readYourWritesTimeoutMs);
  if (!result.ok) {
    services.metrics.increment(METRIC_RYW_TIMEOUTS);
    services.logger.error("read-your-writes wait timed out", {
      position,
      appliedPosition: result.appliedPosition,
      waitedMs: result.waitedMs,
      target: JSON.stringify(target),
    });
  }
}
