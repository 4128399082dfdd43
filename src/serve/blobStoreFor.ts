// Where message bodies live (BLOB_STORE), with the node's cache of recent ones in front.
import path from "node:path";
import type { Config } from "../config.ts";
import type { BlobStore } from "../events/blobs/blobStore.ts";
import { createCachingBlobStore } from "../events/blobs/cachingBlobStore.ts";
import { createFsBlobStore } from "../events/blobs/fsBlobStore.ts";
import { createPostgresBlobStore } from "../events/blobs/postgresBlobStore.ts";
import type { DatabasePool } from "../events/db.ts";

export function blobStoreFor(config: Config, pool: DatabasePool): BlobStore {
  return createCachingBlobStore(adminBlobStoreFor(config, pool), { maxBytes: config.blobCacheBytes });
}

/**
 * BLOB_STORE's store without the serving node's cache: an admin command reads or writes each
 * body once, and an import of 100,000 messages would only fill BLOB_CACHE bytes for nothing.
 */
export function adminBlobStoreFor(config: Config, pool: DatabasePool): BlobStore {
  return config.blobStore.kind === "fs"
    ? createFsBlobStore(path.resolve(config.blobStore.dir))
    : createPostgresBlobStore(pool);
}
