// Where message bodies live (BLOB_STORE), with the node's cache of recent ones in front.
import path from "node:path";
import type { Config } from "../config.ts";
import type { BlobStore } from "../events/blobs/blobStore.ts";
import { createCachingBlobStore } from "../events/blobs/cachingBlobStore.ts";
import { createFsBlobStore } from "../events/blobs/fsBlobStore.ts";
import { createPostgresBlobStore } from "../events/blobs/postgresBlobStore.ts";
import type { DatabasePool } from "../events/db.ts";

export function blobStoreFor(config: Config, pool: DatabasePool): BlobStore {
  const store =
    config.blobStore.kind === "fs"
      ? createFsBlobStore(path.resolve(config.blobStore.dir))
      : createPostgresBlobStore(pool);
  return createCachingBlobStore(store, { maxBytes: config.blobCacheBytes });
}
