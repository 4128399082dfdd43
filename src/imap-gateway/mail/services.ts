// What the mailbox command modules are given: the command side for writes and the query module
// for reads. A command answers as soon as its transaction committed: the index it reads is
// committed with the events, so there is nothing to wait for (DESIGN.md contract 2).
import type { DomainContext } from "../../commands/context.ts";
import type { MetadataLimits } from "../../commands/metadata/decider.ts";
import type { BlobStore } from "../../events/blobs/blobStore.ts";
import type { DatabasePool } from "../../events/db.ts";
import type { NoticeRouter } from "../../projections/notices/noticeRouter.ts";
import type { MailboxQueries } from "../../projections/queries/index.ts";
import type { Logger } from "../logger.ts";
import type { CommandContext } from "../module.ts";

export interface MailServices {
  pool: DatabasePool;
  blobStore: BlobStore;
  queries: MailboxQueries;
  /** The notice bus, routed by mailbox and user: one subscription for the node. */
  notices: NoticeRouter;
  /** The global APPENDLIMIT (bytes) or null. */
  appendLimit: number | null;
  /** How often an IDLE session looks at its mailbox itself, whatever the doorbell says (IDLE_CHECK_MS). */
  idleCheckMs: number;
  onCommitted: () => void;
  logger: Logger;
  /** METADATA (RFC 5464) limits; DEFAULT_METADATA_LIMITS when not given. */
  metadataLimits?: MetadataLimits;
}

/** The command side's context for one IMAP command, carrying the session's event metadata. */
export function domainContext(services: MailServices, context: CommandContext): DomainContext {
  const metadata = context.eventMetadata();
  return {
    pool: services.pool,
    blobStore: services.blobStore,
    appendLimit: services.appendLimit,
    onCommitted: () => {
      context.noteCommitted();
      services.onCommitted();
    },
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
