// A bounded in-process cache in front of a blob store, for the bodies a node has just handled:
// the projector beside the gateway derives an APPEND's structure from the body the gateway has
// just stored, and clients read new mail soon after it arrives. Bodies are addressed by their
// SHA-256 and never change, so a cached copy is never stale; a deletion evicts it here, and
// `has` always asks the store, which is the authority on what exists.
import { Readable } from "node:stream";
import { type BlobBody, type BlobStore, chunksOf, clampRange, readRangesOf } from "./blobStore.ts";

export interface BlobCacheOptions {
  /** Bytes held in all; 0 turns the cache off. */
  maxBytes: number;
  /** Bodies larger than this are not cached. */
  maxBlobBytes?: number;
}

const DEFAULT_MAX_BLOB_BYTES = 1024 * 1024;

export function createCachingBlobStore(inner: BlobStore, options: BlobCacheOptions): BlobStore {
  if (options.maxBytes <= 0) return inner;
  const maxBlobBytes = Math.min(options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES, options.maxBytes);
  // Least recently used first (Map keeps insertion order; a hit moves an entry to the end).
  const entries = new Map<string, Buffer>();
  let bytes = 0;

  const remember = (digest: string, content: Buffer) => {
    if (content.length > maxBlobBytes || entries.has(digest)) return;
    entries.set(digest, content);
    bytes += content.length;
    for (const [oldest, old] of entries) {
      if (bytes <= options.maxBytes) break;
      entries.delete(oldest);
      bytes -= old.length;
    }
  };
  const lookup = (digest: string): Buffer | undefined => {
    const content = entries.get(digest);
    if (content !== undefined) {
      entries.delete(digest);
      entries.set(digest, content);
    }
    return content;
  };
  const forget = (digest: string) => {
    const content = entries.get(digest);
    if (content === undefined) return;
    entries.delete(digest);
    bytes -= content.length;
  };

  return {
    async put(body: BlobBody) {
      // The chunks are kept while they pass to the store, up to the size worth caching.
      let kept: Buffer[] | undefined = [];
      let keptBytes = 0;
      async function* passing() {
        for await (const chunk of chunksOf(body)) {
          if (kept !== undefined) {
            keptBytes += chunk.length;
            if (keptBytes > maxBlobBytes) kept = undefined;
            else kept.push(chunk);
          }
          yield chunk;
        }
      }
      const stored = await inner.put(passing());
      if (kept !== undefined) remember(stored.digest, kept.length === 1 ? kept[0]! : Buffer.concat(kept));
      return stored;
    },
    ...(inner.stageInStatement
      ? {
          stageInStatement(content: Buffer) {
            const staged = inner.stageInStatement!(content);
            // Content-addressed: cached before its statement commits, it is still the right body.
            remember(staged.stored.digest, content);
            return staged;
          },
        }
      : {}),
    ...(inner.stageManyInStatement
      ? {
          stageManyInStatement(contents: readonly Buffer[]) {
            const staged = inner.stageManyInStatement!(contents);
            for (const [index, { digest }] of staged.stored.entries()) remember(digest, contents[index]!);
            return staged;
          },
        }
      : {}),
    has: (digest) => inner.has(digest),
    read(digest, range) {
      const content = lookup(digest);
      if (content !== undefined) {
        const { start, end } = clampRange(content.length, range);
        return Readable.from([content.subarray(start, end)], { objectMode: false });
      }
      if (range !== undefined) return inner.read(digest, range);
      // A whole body read from the store is kept on its way through, when small enough.
      const source = inner.read(digest);
      async function* keeping() {
        const chunks: Buffer[] = [];
        let total = 0;
        for await (const chunk of source) {
          const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
          total += buffer.length;
          if (total <= maxBlobBytes) chunks.push(buffer);
          yield buffer;
        }
        if (total <= maxBlobBytes) remember(digest, Buffer.concat(chunks));
      }
      return Readable.from(keeping(), { objectMode: false });
    },
    async readRanges(ranges) {
      // Cached bodies answer here; the others in one batch of the store's.
      const out: (Buffer | null)[] = ranges.map(() => null);
      const missing: number[] = [];
      ranges.forEach((range, i) => {
        const content = lookup(range.digest);
        if (content === undefined) {
          missing.push(i);
          return;
        }
        const { start, end } = clampRange(content.length, range);
        out[i] = content.subarray(start, end);
      });
      const read = await readRangesOf(
        inner,
        missing.map((i) => ranges[i]!),
      );
      missing.forEach((i, n) => {
        out[i] = read[n] ?? null;
      });
      return out;
    },
    async size(digest) {
      return lookup(digest)?.length ?? inner.size(digest);
    },
    async delete(digest, options) {
      const deleted = await inner.delete(digest, options);
      if (deleted) forget(digest);
      return deleted;
    },
    listPutBefore: (cutoff) => inner.listPutBefore(cutoff),
  };
}
