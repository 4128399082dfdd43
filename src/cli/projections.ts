// `mailledger projections status|rebuild NAME|verify [NAME]`: where each projection stands, the
// blue/green rebuild of one from the PostgreSQL log (src/projections/rebuild), and the proof that
// the mailbox index and each view equal a rebuild from the log (contract 6). Progress goes to
// standard error on a terminal only, so pipes and scripts see just the result.
import type { Writable } from "node:stream";
import { parseArgs } from "node:util";
import type { DatabasePool } from "slonik";
import { type VerifyReport as IndexVerifyReport, verifyIndex } from "../commands/verifyIndex.ts";
import { createPostgresBlobStore } from "../events/blobs/postgresBlobStore.ts";
import { inRolledBackSnapshot } from "../events/readSnapshot.ts";
import type { BlobSource } from "../projections/bodiesView/derive.ts";
import { blobSourceFromStore } from "../projections/bodiesView/storeBlobSource.ts";
import { type RebuildProgress, rebuildProjection } from "../projections/rebuild/rebuild.ts";
import { projectionStatus } from "../projections/rebuild/status.ts";
import { type ProjectionVerifyReport, verifyProjection } from "../projections/rebuild/verify.ts";
import { createBodiesProjection, type Projection } from "../projections/runner/projection.ts";

export interface ProjectionsCommandDeps {
  pool: DatabasePool;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  /** Where bodies are read; default the PostgreSQL blob store. */
  blobs?: BlobSource;
}

export const PROJECTIONS_USAGE = `usage:
  mailledger projections status [--json]
  mailledger projections rebuild NAME [--batch-size N] [--json]
  mailledger projections verify [index|NAME] [--json]   rebuild from the log in a snapshot and
                                                         compare with the live rows; exit 1 on a difference

projections: bodies (ENVELOPE, BODYSTRUCTURE, section offsets, search text, thread keys)`;

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** Progress redraws at most this often on a terminal. */
const PROGRESS_INTERVAL_MS = 250;

const write = (stream: Writable, text: string) => stream.write(text.endsWith("\n") ? text : `${text}\n`);

function progressPrinter(stderr: ProjectionsCommandDeps["stderr"]) {
  if (!stderr.isTTY) return undefined;
  let last = 0;
  return (progress: RebuildProgress) => {
    const now = Date.now();
    if (progress.phase === "fill" && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    const percent = progress.head === 0 ? 100 : Math.min(100, (100 * progress.position) / progress.head);
    const rate = progress.elapsedMs === 0 ? 0 : Math.round((progress.events * 1000) / progress.elapsedMs);
    stderr.write(
      `\r${progress.phase.padEnd(6)} v${progress.version} ${percent.toFixed(1).padStart(5)}%  position ${progress.position}/${progress.head}  ${rate} events/s   `,
    );
    if (progress.phase === "done") stderr.write("\n");
  };
}

type VerifyReport = IndexVerifyReport | ProjectionVerifyReport;

function verifyProgressPrinter(stderr: ProjectionsCommandDeps["stderr"], name: string) {
  if (!stderr.isTTY) return undefined;
  let last = 0;
  return (progress: { events: number; position: number }) => {
    if (Date.now() - last < PROGRESS_INTERVAL_MS) return;
    last = Date.now();
    stderr.write(`\r${name}: replayed ${progress.events} events (position ${progress.position})   `);
  };
}

/** One line of verdict, then each table that differs with a few of its rows. */
function describeReport(report: VerifyReport): string {
  const rows = report.tables.map((t) => `${t.table} ${t.liveRows}`).join(", ");
  if (report.equal) {
    return `${report.name}: equal to a rebuild from the log (${report.events} events up to position ${report.position}; ${rows})`;
  }
  const lines = [
    `${report.name}: DIFFERS from a rebuild from the log (${report.events} events up to position ${report.position})`,
  ];
  for (const table of report.tables) {
    if (table.onlyLive + table.onlyRebuilt === 0) continue;
    lines.push(
      `  ${table.table}: ${table.onlyLive} rows only live, ${table.onlyRebuilt} only rebuilt (of ${table.liveRows} live, ${table.rebuiltRows} rebuilt)`,
    );
    for (const example of table.examples) lines.push(`    ${example.side}: ${JSON.stringify(example.row)}`);
  }
  return lines.join("\n");
}

export async function runProjectionsCommand(argv: string[], deps: ProjectionsCommandDeps): Promise<number> {
  const [subcommand, ...rest] = argv;
  const projections: Projection<unknown>[] = [
    createBodiesProjection(deps.blobs ?? blobSourceFromStore(createPostgresBlobStore(deps.pool))),
  ];
  let parsed: ReturnType<
    typeof parseArgs<{
      options: { json: { type: "boolean" }; "batch-size": { type: "string" } };
      allowPositionals: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args: rest,
      options: { json: { type: "boolean" }, "batch-size": { type: "string" } },
      allowPositionals: true,
    });
  } catch (error) {
    write(deps.stderr, `${(error as Error).message}\n${PROJECTIONS_USAGE}`);
    return EXIT_USAGE;
  }
  const json = parsed.values.json === true;
  switch (subcommand) {
    case "status": {
      const statuses = await projectionStatus(deps.pool, projections);
      if (json) {
        write(deps.stdout, JSON.stringify(statuses));
        return EXIT_OK;
      }
      write(deps.stdout, "NAME      VERSION  BUILDING  APPLIED  HEAD  LAG  RELAY  USERS");
      for (const s of statuses) {
        write(
          deps.stdout,
          [
            s.name.padEnd(8),
            String(s.activeVersion).padStart(7),
            String(s.buildingVersion ?? "-").padStart(9),
            String(s.appliedPosition).padStart(8),
            String(s.headPosition).padStart(5),
            String(s.lag).padStart(4),
            String(s.relayPosition ?? "-").padStart(6),
            String(s.users).padStart(6),
          ].join("  "),
        );
      }
      return EXIT_OK;
    }
    case "rebuild": {
      const [name, ...extra] = parsed.positionals;
      const projection = projections.find((p) => p.name === name);
      if (!name || !projection || extra.length > 0) {
        write(
          deps.stderr,
          `${name ? `unknown projection "${name}"` : "a projection NAME is needed"}\n${PROJECTIONS_USAGE}`,
        );
        return EXIT_USAGE;
      }
      const batchSizeText = parsed.values["batch-size"];
      const batchSize = batchSizeText === undefined ? undefined : Number(batchSizeText);
      if (batchSize !== undefined && (!Number.isSafeInteger(batchSize) || batchSize < 1)) {
        write(deps.stderr, `--batch-size must be a positive whole number\n${PROJECTIONS_USAGE}`);
        return EXIT_USAGE;
      }
      try {
        const result = await rebuildProjection({
          pool: deps.pool,
          projection,
          batchSize,
          onProgress: progressPrinter(deps.stderr),
        });
        const rate =
          result.durationMs === 0 ? result.events : Math.round((result.events * 1000) / result.durationMs);
        write(
          deps.stdout,
          json
            ? JSON.stringify({ name, ...result, eventsPerSecond: rate })
            : `${name}: rebuilt as version ${result.version} (was ${result.previousVersion}) from ${result.events} events up to position ${result.position} in ${result.durationMs} ms (${rate} events/s)`,
        );
        return EXIT_OK;
      } catch (error) {
        write(deps.stderr, `projections rebuild ${name}: ${(error as Error).message}`);
        return EXIT_FAILED;
      }
    }
    case "verify": {
      const [name, ...extra] = parsed.positionals;
      const known = ["index", ...projections.map((p) => p.name)];
      if (extra.length > 0 || (name !== undefined && !known.includes(name))) {
        write(deps.stderr, `unknown projection "${name ?? extra[0]}"\n${PROJECTIONS_USAGE}`);
        return EXIT_USAGE;
      }
      const reports: VerifyReport[] = [];
      try {
        for (const which of name === undefined ? known : [name]) {
          const onProgress = verifyProgressPrinter(deps.stderr, which);
          reports.push(
            await deps.pool.connect((connection) =>
              inRolledBackSnapshot(connection, () =>
                which === "index"
                  ? verifyIndex(connection, { onProgress })
                  : verifyProjection(connection, projections.find((p) => p.name === which)!, { onProgress }),
              ),
            ),
          );
        }
      } catch (error) {
        write(deps.stderr, `projections verify: ${(error as Error).message}`);
        return EXIT_FAILED;
      }
      if (json) write(deps.stdout, JSON.stringify(reports));
      else for (const report of reports) write(deps.stdout, describeReport(report));
      return reports.every((report) => report.equal) ? EXIT_OK : EXIT_FAILED;
    }
    default:
      write(
        deps.stderr,
        subcommand ? `unknown subcommand "${subcommand}"\n${PROJECTIONS_USAGE}` : PROJECTIONS_USAGE,
      );
      return EXIT_USAGE;
  }
}
