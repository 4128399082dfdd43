// The projector's BlobSource over the blob store (src/events/blobs): whole bodies, read as streams.
import { BlobNotFoundError, type BlobStore } from "../../events/blobs/blobStore.ts";
import type { BlobSource } from "./derive.ts";

export function blobSourceFromStore(store: BlobStore): BlobSource {
  return {
    async read(digest) {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of store.read(digest)) chunks.push(Buffer.from(chunk as Uint8Array));
      } catch (error) {
        if (error instanceof BlobNotFoundError) return null;
        throw error;
      }
      return Buffer.concat(chunks);
    },
  };
}
