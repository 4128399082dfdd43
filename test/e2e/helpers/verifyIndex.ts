// `mailledger projections verify index --json` against a test server's database: the exit code
// and what it printed, for tests that end by checking the index equals a replay of the log.
import { PassThrough } from "node:stream";
import type { DatabasePool } from "slonik";
import { runProjectionsCommand } from "../../../src/cli/projections.ts";
import { createTableBlobSource } from "../../../src/projections/bodiesView/tableBlobSource.ts";

export async function verifyIndex(pool: DatabasePool): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  let out = "";
  stdout.on("data", (chunk) => (out += chunk));
  const code = await runProjectionsCommand(["verify", "index", "--json"], {
    pool,
    stdout,
    stderr: new PassThrough(),
    blobs: createTableBlobSource(pool),
  });
  return { code, out };
}
