// `mailledger export mbox USER MAILBOX FILE|-`: a mailbox's messages, in UID order, as an mboxrd
// file (RFC 4155 with mboxrd quoting): each message after a "From SENDER ASCTIME" line, its lines
// in the local (LF) convention, lines matching /^>*From / quoted with one more ">", a blank line
// after each message; each message's flags in Status, X-Status and X-Keywords fields at the end of
// its header (src/cli/mboxStatus.ts). `mailledger import mbox` reads it back (CRLF restored, those
// fields taken back as flags) byte for byte.
import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { parseArgs } from "node:util";
import { DomainError } from "../commands/errors.ts";
import { loadAllMessages, type MessageRow } from "../commands/writeModel.ts";
import { BlobNotFoundError } from "../events/blobs/blobStore.ts";
import { createPostgresBlobStore } from "../events/blobs/postgresBlobStore.ts";
import { runExportMaildir } from "./exportMaildir.ts";
import {
  type AdminCommandDeps,
  EXIT_OK,
  EXIT_USAGE,
  positionalsOf,
  requireMailbox,
  requireUser,
  runAdmin,
  UsageError,
  write,
} from "./mailbox.ts";
import { withMboxFlags } from "./mboxStatus.ts";

export const EXPORT_USAGE = `usage:
  mailledger export mbox USER MAILBOX FILE|-      (-: standard output)
  mailledger export maildir USER DIR [--mailbox NAME]
mbox: the messages in UID order as mboxrd, with their INTERNALDATE on each "From " line.
maildir: a Maildir++ tree in DIR (missing or empty): NAME (default INBOX) in DIR, the other
mailboxes (with INBOX, all of them; else NAME's inferiors) as .Sub.Folder directories, with
dovecot-uidlist (UIDVALIDITY and UIDs), dovecot-keywords and subscriptions.`;

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An instant in asctime format, UTC: "Sat Jan  3 01:05:34 1996". */
export function asctime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, " ")} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${date.getUTCFullYear()}`;
}

/** The envelope sender of the "From " line: the first From address, or MAILER-DAEMON. */
export function mboxSender(from: readonly string[]): string {
  const first = from[0] ?? "";
  const address = /<([^<>\s]+)>/.exec(first)?.[1] ?? first.trim();
  return address !== "" && !/\s/.test(address) ? address : "MAILER-DAEMON";
}

const QUOTED = /^>*From /;

/** One message as an mboxrd entry: From line, LF lines with ">From " quoting, a blank line. */
export function mboxEntry(body: Buffer, sender: string, internalDate: Date): Buffer {
  const text = body.toString("latin1");
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const quoted = lines.map((line) => {
    const bare = line.endsWith("\r") ? line.slice(0, -1) : line;
    return QUOTED.test(bare) ? `>${bare}` : bare;
  });
  return Buffer.from(
    `From ${sender} ${asctime(internalDate)}\n${quoted.map((line) => `${line}\n`).join("")}\n`,
    "latin1",
  );
}

export async function readBody(deps: AdminCommandDeps, digest: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of (deps.blobStore ?? createPostgresBlobStore(deps.pool)).read(digest)) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
    }
  } catch (error) {
    if (error instanceof BlobNotFoundError) {
      throw new DomainError("NONEXISTENT", `the body ${digest} is no longer stored (collected as garbage?)`);
    }
    throw error;
  }
  return Buffer.concat(chunks);
}

/** Writes, waiting for the stream to take it; false when the reader went away (EPIPE). */
function writeChunk(stream: Writable, chunk: Buffer): Promise<boolean> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (error) => {
      if (!error) resolve(true);
      else if ((error as { code?: string }).code === "EPIPE") resolve(false);
      else reject(error);
    });
  });
}

async function exportMessages(
  deps: AdminCommandDeps,
  messages: readonly MessageRow[],
  target: Writable,
): Promise<number> {
  let count = 0;
  for (const message of messages) {
    const body = await readBody(deps, message.blob_digest);
    const entry = mboxEntry(
      withMboxFlags(body, message.flags),
      mboxSender(message.header_summary.from),
      new Date(message.internal_date),
    );
    if (!(await writeChunk(target, entry))) break;
    count += 1;
  }
  return count;
}

export async function runExportCommand(argv: string[], deps: AdminCommandDeps): Promise<number> {
  const [format, ...rest] = argv;
  return runAdmin("export", EXPORT_USAGE, deps, async () => {
    switch (format) {
      case "mbox": {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        const [username, mailboxName, file] = positionalsOf(positionals, ["USER", "MAILBOX", "FILE"]);
        const user = await requireUser(deps.pool, username!);
        const mailbox = await requireMailbox(deps.pool, user, mailboxName!);
        const messages = await loadAllMessages(deps.pool, mailbox.id);
        if (file === "-") {
          await exportMessages(deps, messages, deps.stdout);
          return EXIT_OK;
        }
        const target = createWriteStream(file!);
        const opened = new Promise<void>((resolve, reject) => {
          target.once("open", () => resolve());
          target.once("error", reject);
        });
        try {
          await opened;
        } catch (error) {
          throw new UsageError(`cannot write ${file}: ${(error as Error).message}`);
        }
        const count = await exportMessages(deps, messages, target);
        target.end();
        await finished(target);
        write(
          deps.stdout,
          `exported ${count} message${count === 1 ? "" : "s"} from ${mailbox.name} to ${file}`,
        );
        return EXIT_OK;
      }
      case "maildir":
        return runExportMaildir(rest, deps);
      case undefined:
      case "help":
      case "--help":
        write(format === undefined ? deps.stderr : deps.stdout, EXPORT_USAGE);
        return format === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        throw new UsageError(`"${format}" is not an export format (mbox or maildir)`);
    }
  });
}
