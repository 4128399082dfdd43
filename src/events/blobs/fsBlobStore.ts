// Bodies in a filesystem directory (BLOB_STORE=fs:<dir>). A blob's path comes from its digest
// only: <dir>/ab/cd/<digest>. A body is written to a temporary file under the same directory
// (so the rename stays on one filesystem), fsynced, renamed into place, and the directory
// fsynced: a crash leaves either no blob or a whole one. A file's mtime is its last put time.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, opendir, readdir, rename, rm, stat, unlink, utimes } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import {
  assertDigest,
  type BlobBody,
  BlobNotFoundError,
  type BlobStore,
  chunksOf,
  clampRange,
  type StoredBlob,
} from "./blobStore.ts";

const TEMP_DIR = ".tmp";
const LIST_BATCH = 1000;

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT";

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function createFsBlobStore(root: string): BlobStore {
  const dir = path.resolve(root);
  const blobPath = (digest: string) => {
    assertDigest(digest);
    return path.join(dir, digest.slice(0, 2), digest.slice(2, 4), digest);
  };

  async function put(body: BlobBody): Promise<StoredBlob> {
    const tempDir = path.join(dir, TEMP_DIR);
    await mkdir(tempDir, { recursive: true });
    const tempPath = path.join(tempDir, `${randomBytes(12).toString("hex")}.part`);
    const hash = createHash("sha256");
    let size = 0;
    const handle = await open(tempPath, "wx", 0o600);
    try {
      for await (const chunk of chunksOf(body)) {
        hash.update(chunk);
        size += chunk.length;
        await handle.write(chunk);
      }
      await handle.sync();
    } catch (error) {
      await handle.close();
      await rm(tempPath, { force: true });
      throw error;
    }
    await handle.close();
    const digest = hash.digest("hex");
    const target = blobPath(digest);
    try {
      const now = new Date();
      await utimes(target, now, now);
      await unlink(tempPath);
      return { digest, size };
    } catch (error) {
      if (!isMissing(error)) {
        await rm(tempPath, { force: true });
        throw error;
      }
    }
    await mkdir(path.dirname(target), { recursive: true });
    await rename(tempPath, target);
    await fsyncDirectory(path.dirname(target));
    return { digest, size };
  }

  async function size(digest: string): Promise<number | null> {
    try {
      return (await stat(blobPath(digest))).size;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  return {
    put,
    size,
    async has(digest) {
      return (await size(digest)) !== null;
    },
    read(digest, range) {
      const file = blobPath(digest);
      async function* stream(): AsyncIterable<Buffer> {
        let total: number;
        try {
          total = (await stat(file)).size;
        } catch (error) {
          if (isMissing(error)) throw new BlobNotFoundError(digest);
          throw error;
        }
        const { start, end } = clampRange(total, range);
        if (end <= start) return;
        // createReadStream's end is inclusive.
        yield* createReadStream(file, { start, end: end - 1 }) as AsyncIterable<Buffer>;
      }
      return Readable.from(stream(), { objectMode: false });
    },
    async delete(digest, options = {}) {
      const file = blobPath(digest);
      try {
        if (options.ifNotPutSince && (await stat(file)).mtimeMs >= options.ifNotPutSince.getTime())
          return false;
        await unlink(file);
        return true;
      } catch (error) {
        if (isMissing(error)) return false;
        throw error;
      }
    },
    async *listPutBefore(cutoff) {
      let batch: string[] = [];
      const levels = async (at: string) => {
        try {
          return (await readdir(at)).filter((name) => /^[0-9a-f]{2}$/.test(name)).sort();
        } catch (error) {
          if (isMissing(error)) return [];
          throw error;
        }
      };
      for (const first of await levels(dir)) {
        for (const second of await levels(path.join(dir, first))) {
          const leaf = path.join(dir, first, second);
          for await (const entry of await opendir(leaf)) {
            if (!entry.isFile() || !/^[0-9a-f]{64}$/.test(entry.name)) continue;
            const info = await stat(path.join(leaf, entry.name)).catch(() => undefined);
            if (!info || info.mtimeMs >= cutoff.getTime()) continue;
            batch.push(entry.name);
            if (batch.length >= LIST_BATCH) {
              yield batch;
              batch = [];
            }
          }
        }
      }
      if (batch.length > 0) yield batch;
    },
  };
}
