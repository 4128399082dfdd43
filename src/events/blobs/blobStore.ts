// Message bodies, addressed by the SHA-256 of their content (DESIGN.md, Events): COPY and
// re-delivery store nothing twice, and a path or key never comes from user input.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { FragmentSqlToken } from "slonik";

export type BlobBody = Buffer | AsyncIterable<Buffer | Uint8Array> | Readable;

export interface StoredBlob {
  /** SHA-256 of the content, lowercase hex. */
  digest: string;
  size: number;
}

/** A byte range: `start` inclusive, `end` exclusive (as Buffer.subarray), both optional. */
export interface ByteRange {
  start?: number;
  end?: number;
}

export interface BlobStore {
  /**
   * Stores a body and returns its digest. Putting a body that is already stored keeps one copy
   * and refreshes its put time, which garbage collection's grace period counts from.
   */
  put(body: BlobBody): Promise<StoredBlob>;
  has(digest: string): Promise<boolean>;
  /** The content (or a range of it), streamed; errors with BlobNotFoundError if absent. */
  read(digest: string, range?: ByteRange): Readable;
  /**
   * Several ranges of several bodies at once, in the order asked (null for a body that is
   * absent): one round trip for a batch where read() costs one per range. Optional: a store
   * without it is read range by range (readRangesOf).
   */
  readRanges?(ranges: readonly BlobRange[]): Promise<(Buffer | null)[]>;
  /** The size in octets, or null if absent. */
  size(digest: string): Promise<number | null>;
  /**
   * Removes a blob; with `ifNotPutSince`, only if nobody put it at or after that instant (so a
   * collector never removes a body an APPEND has just stored again). True if it was removed.
   */
  delete(digest: string, options?: { ifNotPutSince?: Date }): Promise<boolean>;
  /** Digests last put before `cutoff`, in batches: the candidates of garbage collection. */
  listPutBefore(cutoff: Date): AsyncIterable<string[]>;
  /**
   * A store inside the database can store a body within the statement that appends its event:
   * one commit and one round trip less per APPEND, and a body that is never left unreferenced.
   * Returns the data-modifying statement (to run as a CTE) and what `put` would have answered.
   */
  stageInStatement?(content: Buffer): { stored: StoredBlob; statement: FragmentSqlToken };
  /**
   * stageInStatement for many bodies in ONE data-modifying statement (a batch of MULTIAPPEND or
   * of an import): one set-based INSERT instead of one CTE per body for the database to plan.
   */
  stageManyInStatement?(contents: readonly Buffer[]): { stored: StoredBlob[]; statement: FragmentSqlToken };
}

/** A byte range of one body: [start, end), clamped to its size. */
export interface BlobRange {
  digest: string;
  start: number;
  end: number;
}

/** Ranges read with the store's readRanges, or one read() each when it has none. */
export async function readRangesOf(
  store: BlobStore,
  ranges: readonly BlobRange[],
): Promise<(Buffer | null)[]> {
  if (ranges.length === 0) return [];
  if (store.readRanges) return store.readRanges(ranges);
  return Promise.all(
    ranges.map(async ({ digest, start, end }) => {
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of store.read(digest, { start, end })) chunks.push(Buffer.from(chunk));
        return Buffer.concat(chunks);
      } catch (error) {
        if (error instanceof BlobNotFoundError) return null;
        throw error;
      }
    }),
  );
}

export class BlobNotFoundError extends Error {
  readonly digest: string;
  constructor(digest: string) {
    super(`no blob ${digest}`);
    this.name = "BlobNotFoundError";
    this.digest = digest;
  }
}

const DIGEST = /^[0-9a-f]{64}$/;

/** Rejects anything that is not a digest before it reaches a path or a query. */
export function assertDigest(digest: string): void {
  if (!DIGEST.test(digest)) throw new RangeError("a blob digest is 64 lowercase hex characters");
}

export async function* chunksOf(body: BlobBody): AsyncIterable<Buffer> {
  if (Buffer.isBuffer(body)) {
    yield body;
    return;
  }
  for await (const chunk of body as AsyncIterable<Buffer | Uint8Array | string>) {
    yield typeof chunk === "string"
      ? Buffer.from(chunk)
      : Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk);
  }
}

export function sha256Hex(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Resolves a range against a size: [start, end) clamped to the content. */
export function clampRange(size: number, range: ByteRange = {}): { start: number; end: number } {
  const start = Math.min(Math.max(0, range.start ?? 0), size);
  const end = Math.min(Math.max(start, range.end ?? size), size);
  return { start, end };
}
