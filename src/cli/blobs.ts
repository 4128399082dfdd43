// `mailledger blobs gc [--grace-seconds N] [--json]`: removes message bodies that no message
// refers to any more (expunged, or deleted with their mailbox or account). Bodies put within the
// grace period are spared, so an APPEND in flight never loses its body. Afterwards `message dump
// --at T` can no longer return the bytes of a message expunged before the collection.
import { parseArgs } from "node:util";
import { collectGarbage, DEFAULT_BLOB_GRACE_PERIOD_MS } from "../events/blobs/collectGarbage.ts";
import { createPostgresBlobStore } from "../events/blobs/postgresBlobStore.ts";
import { type AdminCommandDeps, EXIT_OK, positionalsOf, runAdmin, UsageError, write } from "./mailbox.ts";

export const BLOBS_USAGE = `usage:
  mailledger blobs gc [--grace-seconds N] [--json]
Removes bodies no message refers to, except those stored in the last N seconds (default ${DEFAULT_BLOB_GRACE_PERIOD_MS / 1000}).`;

export async function runBlobsCommand(argv: string[], deps: AdminCommandDeps): Promise<number> {
  return runAdmin("blobs", BLOBS_USAGE, deps, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { "grace-seconds": { type: "string" }, json: { type: "boolean" } },
    });
    const [subcommand] = positionalsOf(positionals, ["SUBCOMMAND"]);
    if (subcommand !== "gc") throw new UsageError(`unknown subcommand "${subcommand}"`);
    const graceText = values["grace-seconds"];
    if (graceText !== undefined && !/^\d+$/.test(graceText)) {
      throw new UsageError(`--grace-seconds must be a whole number of seconds, got "${graceText}"`);
    }
    const gracePeriodMs = graceText === undefined ? DEFAULT_BLOB_GRACE_PERIOD_MS : Number(graceText) * 1000;
    const result = await collectGarbage(deps.pool, deps.blobStore ?? createPostgresBlobStore(deps.pool), {
      gracePeriodMs,
    });
    if (values.json)
      write(deps.stdout, JSON.stringify({ examined: result.examined, deleted: result.deleted }));
    else write(deps.stdout, `examined ${result.examined} bodies, removed ${result.deleted.length}`);
    return EXIT_OK;
  });
}
