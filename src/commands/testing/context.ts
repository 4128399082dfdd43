// A command context over a test database, for integration tests and the bench.
import type { DatabasePool } from "slonik";
import type { BlobStore } from "../../events/blobs/blobStore.ts";
import { createPostgresBlobStore } from "../../events/blobs/postgresBlobStore.ts";
import type { DomainContext } from "../context.ts";

export function testDomainContext(
  pool: DatabasePool,
  options: { blobStore?: BlobStore; appendLimit?: number | null; now?: () => Date } = {},
): DomainContext {
  return {
    pool,
    blobStore: options.blobStore ?? createPostgresBlobStore(pool),
    metadata: { actor: "test", sessionId: "test-session", nodeId: "test-node" },
    now: options.now ?? (() => new Date()),
    appendLimit: options.appendLimit ?? null,
  };
}

export function testMessage(subject: string, bodySize = 64): Buffer {
  const header = `From: Test <test@example.org>\r\nTo: user@example.org\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, "")}@example.org>\r\n\r\n`;
  return Buffer.concat([Buffer.from(header), Buffer.alloc(bodySize, "x")]);
}
