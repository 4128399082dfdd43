// A BlobSource over the `blobs` table (BLOB_STORE=postgres, infra/migrations/0003_blobs.sql),
// for when no BlobStore instance is at hand (tests, bench, the CLI). Anything with a
// `read(digest)` that resolves to the body or null, like the blob store itself, fits as well.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { BlobSource } from "./derive.ts";

const contentRow = z.object({ content: z.instanceof(Buffer) });

export function createTableBlobSource(connection: CommonQueryMethods): BlobSource {
  return {
    async read(digest) {
      const content = await connection.maybeOneFirst(sql.type(contentRow)`
        SELECT content FROM blobs WHERE digest = ${digest}`);
      return content;
    },
  };
}
