// Bodies inside PostgreSQL (BLOB_STORE=postgres, the default): table blobs (0003_blobs.sql).
// A body is hashed and sent whole (bytea travels whole anyway); reads stream it back in chunks
// with substring(), which the EXTERNAL storage of the column makes cheap.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import {
  assertDigest,
  type BlobBody,
  BlobNotFoundError,
  type BlobStore,
  type ByteRange,
  chunksOf,
  clampRange,
  type StoredBlob,
} from "./blobStore.ts";

const anyRow = z.unknown();

/** Chunk size of streamed reads: large enough for few round trips, small enough for memory. */
export const POSTGRES_BLOB_READ_CHUNK = 256 * 1024;
const LIST_BATCH = 1000;

const sizeRow = z.object({ size: z.number() });
const chunkRow = z.object({ chunk: z.instanceof(Buffer) });
const firstChunkRow = z.object({ size: z.number(), chunk: z.instanceof(Buffer) });
const digestRow = z.object({ digest: z.string() });
const rangeRow = z.object({ ordinal: z.number(), chunk: z.instanceof(Buffer) });

export function createPostgresBlobStore(db: CommonQueryMethods): BlobStore {
  async function put(body: BlobBody): Promise<StoredBlob> {
    const hash = createHash("sha256");
    const parts: Buffer[] = [];
    for await (const chunk of chunksOf(body)) {
      hash.update(chunk);
      parts.push(chunk);
    }
    const digest = hash.digest("hex");
    // One round trip whether the body is new (the common APPEND) or already stored.
    const content = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    await db.query(sql.prepared("mailledger_blob_put", anyRow)`
      INSERT INTO blobs (digest, size, content) VALUES (${digest}, ${content.length}, ${sql.binary(content)})
      ON CONFLICT (digest) DO UPDATE SET last_put_at = now()`);
    return { digest, size: content.length };
  }

  async function size(digest: string): Promise<number | null> {
    assertDigest(digest);
    return db.maybeOneFirst(sql.type(sizeRow)`SELECT size FROM blobs WHERE digest = ${digest}`);
  }

  async function* stream(digest: string, range?: ByteRange): AsyncIterable<Buffer> {
    // The size and the first chunk in one round trip: most bodies are one chunk.
    const from = Math.max(0, range?.start ?? 0);
    const first = await db.maybeOne(sql.type(firstChunkRow)`
      SELECT size, substring(content FROM ${from + 1} FOR ${POSTGRES_BLOB_READ_CHUNK}) AS chunk
      FROM blobs WHERE digest = ${digest}`);
    if (first === null) throw new BlobNotFoundError(digest);
    const { start, end } = clampRange(first.size, range);
    if (start >= end) return;
    yield first.chunk.subarray(0, Math.min(first.chunk.length, end - start));
    for (let offset = start + POSTGRES_BLOB_READ_CHUNK; offset < end; offset += POSTGRES_BLOB_READ_CHUNK) {
      const length = Math.min(POSTGRES_BLOB_READ_CHUNK, end - offset);
      const chunk = await db.maybeOneFirst(sql.type(chunkRow)`
        SELECT substring(content FROM ${offset + 1} FOR ${length}) AS chunk FROM blobs WHERE digest = ${digest}`);
      if (chunk === null) throw new BlobNotFoundError(digest);
      yield chunk;
    }
  }

  return {
    put,
    stageManyInStatement(contents) {
      const stored = contents.map((content) => ({
        digest: createHash("sha256").update(content).digest("hex"),
        size: content.length,
      }));
      // Each body once (ON CONFLICT cannot touch a row twice), all in one binary parameter that
      // the statement cuts by offset: no per-body parameter or CTE, no hex text.
      const seen = new Set<string>();
      const unique: { digest: string; content: Buffer }[] = [];
      stored.forEach(({ digest }, index) => {
        if (seen.has(digest)) return;
        seen.add(digest);
        unique.push({ digest, content: contents[index]! });
      });
      const starts: number[] = [];
      let offset = 1;
      for (const { content } of unique) {
        starts.push(offset);
        offset += content.length;
      }
      const all = Buffer.concat(unique.map(({ content }) => content));
      return {
        stored,
        statement: sql.fragment`
          INSERT INTO blobs (digest, size, content)
          SELECT b.digest, b.size, substring(${sql.binary(all)}::bytea FROM b.start FOR b.size::int4)
          FROM unnest(${sql.array(
            unique.map(({ digest }) => digest),
            "text",
          )}, ${sql.array(starts, "int4")}, ${sql.array(
            unique.map(({ content }) => content.length),
            "int8",
          )}) AS b(digest, start, size)
          ON CONFLICT (digest) DO UPDATE SET last_put_at = now()`,
      };
    },
    stageInStatement(content) {
      const digest = createHash("sha256").update(content).digest("hex");
      return {
        stored: { digest, size: content.length },
        statement: sql.fragment`
          INSERT INTO blobs (digest, size, content) VALUES (${digest}, ${content.length}, ${sql.binary(content)})
          ON CONFLICT (digest) DO UPDATE SET last_put_at = now()`,
      };
    },
    async readRanges(ranges) {
      for (const { digest } of ranges) assertDigest(digest);
      // One statement for the batch: each range a substring of its body (EXTERNAL storage reads
      // only the TOAST chunks it covers), in the order asked.
      const rows = await db.any(sql.type(rangeRow)`
        SELECT r.ordinal::int4 AS ordinal,
          substring(b.content FROM greatest(r.start, 0)::int4 + 1 FOR greatest(r.stop - greatest(r.start, 0), 0)::int4) AS chunk
        FROM unnest(${sql.array(
          ranges.map((range) => range.digest),
          "text",
        )}, ${sql.array(
          ranges.map((range) => range.start),
          "int8",
        )}, ${sql.array(
          ranges.map((range) => range.end),
          "int8",
        )}) WITH ORDINALITY AS r(digest, start, stop, ordinal)
        JOIN blobs AS b ON b.digest = r.digest`);
      const out: (Buffer | null)[] = ranges.map(() => null);
      for (const row of rows) out[row.ordinal - 1] = row.chunk;
      return out;
    },
    size,
    async has(digest) {
      return (await size(digest)) !== null;
    },
    read(digest, range) {
      assertDigest(digest);
      return Readable.from(stream(digest, range), { objectMode: false });
    },
    async delete(digest, options = {}) {
      assertDigest(digest);
      const cutoff = options.ifNotPutSince;
      const deleted = await db.maybeOne(sql.type(digestRow)`
        DELETE FROM blobs WHERE digest = ${digest}
        ${cutoff ? sql.fragment`AND last_put_at < ${sql.timestamp(cutoff)}` : sql.fragment``}
        RETURNING digest`);
      return deleted !== null;
    },
    async *listPutBefore(cutoff) {
      let after = "";
      for (;;) {
        const digests = await db.anyFirst(sql.type(digestRow)`
          SELECT digest FROM blobs WHERE last_put_at < ${sql.timestamp(cutoff)} AND digest > ${after}
          ORDER BY digest LIMIT ${LIST_BATCH}`);
        if (digests.length === 0) return;
        yield [...digests];
        after = digests.at(-1)!;
      }
    },
  };
}
