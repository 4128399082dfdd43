// Ranged reads of a message's stored bytes, straight from the blob store: large bodies stream.
import type { BlobStore } from "../../events/blobs/blobStore.ts";
import type { MessageBytes } from "../fetch/renderFetch.ts";

export function messageBytes(blobStore: BlobStore, digest: string): MessageBytes {
  return {
    read(start, end) {
      return blobStore.read(digest, { start, end }) as AsyncIterable<Uint8Array>;
    },
  };
}
