// `mailledger message add|list|dump|flags|copy|move|remove USER MAILBOX ...`: a mailbox's
// messages, through the same command handlers as the IMAP gateway (the events say actor
// "admin"). Listings read the write model: the operator's tool works on the same database.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { type DatabasePool, sql } from "slonik";
import { z } from "zod";
import { DomainError } from "../commands/errors.ts";
import { appendMessage } from "../commands/messages/append.ts";
import { expungeMessages } from "../commands/messages/expunge.ts";
import { storeFlags } from "../commands/messages/store.ts";
import { copyMessages, moveMessages } from "../commands/messages/transfer.ts";
import { loadAllMessages, loadMessages, type MessageRow } from "../commands/writeModel.ts";
import { BlobNotFoundError, type BlobStore } from "../events/blobs/blobStore.ts";
import { createPostgresBlobStore } from "../events/blobs/postgresBlobStore.ts";
import { encodeSequenceNumbers } from "../imap-gateway/codec/index.ts";
import { mailboxStateAt } from "./history.ts";
import {
  type AdminCommandDeps,
  adminContext,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  parseTime,
  positionalsOf,
  requireMailbox,
  requireUser,
  runAdmin,
  UsageError,
  write,
} from "./mailbox.ts";

export const MESSAGE_USAGE = `usage:
  mailledger message add USER MAILBOX [FILE|-] [--flag FLAG]... [--date TIME]   (no FILE or -: standard input)
  mailledger message list USER MAILBOX [--json]
  mailledger message dump USER MAILBOX UID [--at TIME]      (the stored bytes, to standard output)
  mailledger message flags USER MAILBOX UIDSET add|remove|set [FLAG...]
  mailledger message copy USER MAILBOX UIDSET TARGET
  mailledger message move USER MAILBOX UIDSET TARGET
  mailledger message remove USER MAILBOX UIDSET            (\\Deleted, then UID EXPUNGE of exactly those)
UIDSET: UIDs and ranges as in IMAP, e.g. 4 or 1:3,7 or 10:* (* is the highest UID in the mailbox).
TIME: an ISO 8601 instant, e.g. 2026-01-31T12:00:00Z.`;

/** One element of a UID set: [from, to] inclusive; null stands for "*". */
type UidRange = [number | null, number | null];

const UID_NUMBER = /^[1-9]\d{0,9}$/;

function parseUidValue(text: string, whole: string): number | null {
  if (text === "*") return null;
  if (!UID_NUMBER.test(text) || Number(text) > 0xffff_ffff) {
    throw new UsageError(`"${whole}" is not a UID set (e.g. 4, 1:3,7 or 10:*)`);
  }
  return Number(text);
}

export function parseUidSet(text: string): UidRange[] {
  if (text.length === 0) throw new UsageError("an empty UID set");
  return text.split(",").map((part) => {
    const [from, to, ...extra] = part.split(":");
    if (from === undefined || extra.length > 0) throw new UsageError(`"${text}" is not a UID set`);
    const start = parseUidValue(from, text);
    return [start, to === undefined ? start : parseUidValue(to, text)];
  });
}

/** The UIDs of the mailbox's messages that the set names, ascending. */
export async function resolveUidSet(pool: DatabasePool, mailboxId: string, text: string): Promise<number[]> {
  const ranges = parseUidSet(text);
  const uids = await pool.anyFirst(sql.type(z.object({ uid: z.number() }))`
    SELECT uid FROM messages WHERE mailbox_id = ${mailboxId} ORDER BY uid`);
  const highest = uids.at(-1) ?? 0;
  const bounds = ranges.map(([from, to]) => {
    const a = from ?? highest;
    const b = to ?? highest;
    return [Math.min(a, b), Math.max(a, b)] as const;
  });
  return uids.filter((uid) => bounds.some(([low, high]) => uid >= low && uid <= high));
}

/** UIDs as a compact IMAP set: 1:3,7. */

function parseUid(text: string): number {
  const uid = parseUidValue(text, text);
  if (uid === null) throw new UsageError("a single UID is needed, not *");
  return uid;
}

function blobStoreOf(deps: AdminCommandDeps): BlobStore {
  return deps.blobStore ?? createPostgresBlobStore(deps.pool);
}

/**
 * Copies a body to an output stream without ending it. A reader that goes away early
 * (`message dump ... | head`) ends the copy quietly, as for any Unix filter.
 */
export async function copyTo(source: Readable, target: Writable): Promise<void> {
  try {
    await pipeline(source, target, { end: false });
  } catch (error) {
    if ((error as { code?: string }).code === "EPIPE") return;
    throw error;
  }
}

/** Writes a stored body to standard output; a missing blob is a refusal, not a crash. */
export async function dumpBlob(deps: AdminCommandDeps, digest: string): Promise<void> {
  try {
    await copyTo(blobStoreOf(deps).read(digest), deps.stdout);
  } catch (error) {
    if (error instanceof BlobNotFoundError) {
      throw new DomainError("NONEXISTENT", `the body ${digest} is no longer stored (collected as garbage?)`);
    }
    throw error;
  }
}

export interface MessageListing {
  uid: number;
  modseq: number;
  flags: string[];
  internalDate: string;
  size: number;
  subject: string | null;
  from: string[];
  date: string | null;
  messageId: string | null;
  blobDigest: string;
}

function listing(row: MessageRow): MessageListing {
  return {
    uid: row.uid,
    modseq: row.modseq,
    flags: row.flags,
    internalDate: new Date(row.internal_date).toISOString(),
    size: row.size,
    subject: row.header_summary.subject,
    from: row.header_summary.from,
    date: row.header_summary.date,
    messageId: row.header_summary.messageId,
    blobDigest: row.blob_digest,
  };
}

const flagText = (flags: readonly string[]) => (flags.length === 0 ? "-" : flags.join(" "));
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

const FLAG_OPERATIONS = { add: "add", remove: "remove", set: "replace" } as const;

export async function runMessageCommand(argv: string[], deps: AdminCommandDeps): Promise<number> {
  const [subcommand, ...rest] = argv;
  const ctx = adminContext(deps, `message ${subcommand ?? ""}`.trim());
  return runAdmin("message", MESSAGE_USAGE, deps, async () => {
    switch (subcommand) {
      case "add": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { flag: { type: "string", multiple: true }, date: { type: "string" } },
        });
        const [username, mailboxName, file] = positionalsOf(positionals, ["USER", "MAILBOX", "FILE"], 1);
        const internalDate = values.date === undefined ? undefined : parseTime(values.date, "--date");
        const user = await requireUser(deps.pool, username!);
        const fromStdin = file === undefined || file === "-";
        if (fromStdin && (deps.stdin as { isTTY?: boolean }).isTTY) {
          write(deps.stderr, "reading the message from standard input (end with Ctrl-D)");
        }
        let declaredSize: number | undefined;
        if (!fromStdin) {
          try {
            declaredSize = (await stat(file)).size;
          } catch (error) {
            throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
          }
        }
        const appended = await appendMessage(ctx, {
          userId: user.id,
          mailboxName: mailboxName!,
          body: fromStdin ? deps.stdin : createReadStream(file),
          ...(declaredSize === undefined ? {} : { declaredSize }),
          flags: values.flag ?? [],
          ...(internalDate ? { internalDate } : {}),
        });
        write(deps.stdout, `appended UID ${appended.uid} (${appended.size} octets)`);
        return EXIT_OK;
      }
      case "list": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { json: { type: "boolean" } },
        });
        const [username, mailboxName] = positionalsOf(positionals, ["USER", "MAILBOX"]);
        const user = await requireUser(deps.pool, username!);
        const mailbox = await requireMailbox(deps.pool, user, mailboxName!);
        const messages = (await loadAllMessages(deps.pool, mailbox.id)).map(listing);
        if (values.json) {
          write(deps.stdout, JSON.stringify(messages));
        } else {
          for (const message of messages) {
            write(
              deps.stdout,
              `${message.uid}\t${flagText(message.flags)}\t${message.size}\t${message.internalDate}\t${message.subject ?? ""}`,
            );
          }
        }
        return EXIT_OK;
      }
      case "dump": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { at: { type: "string" } },
        });
        const [username, mailboxName, uidText] = positionalsOf(positionals, ["USER", "MAILBOX", "UID"]);
        const uid = parseUid(uidText!);
        if (values.at !== undefined) {
          const at = parseTime(values.at, "--at");
          const state = await mailboxStateAt(deps.pool, username!, mailboxName!, at);
          const message = state.messages.find((m) => m.uid === uid);
          if (!message) {
            throw new DomainError(
              "NONEXISTENT",
              `${state.name} had no message with UID ${uid} at ${at.toISOString()}`,
            );
          }
          await dumpBlob(deps, message.blobDigest);
          return EXIT_OK;
        }
        const user = await requireUser(deps.pool, username!);
        const mailbox = await requireMailbox(deps.pool, user, mailboxName!);
        const [message] = await loadMessages(deps.pool, mailbox.id, [uid]);
        if (!message) throw new DomainError("NONEXISTENT", `${mailbox.name} has no message with UID ${uid}`);
        await dumpBlob(deps, message.blob_digest);
        return EXIT_OK;
      }
      case "flags": {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        const [username, mailboxName, uidSet, operationText, ...flags] = positionals;
        positionalsOf(positionals.slice(0, 4), ["USER", "MAILBOX", "UIDSET", "add|remove|set"]);
        const operation = FLAG_OPERATIONS[operationText as keyof typeof FLAG_OPERATIONS];
        if (!Object.hasOwn(FLAG_OPERATIONS, operationText!) || operation === undefined) {
          throw new UsageError(`"${operationText}" is not add, remove or set`);
        }
        if (operation !== "replace" && flags.length === 0) throw new UsageError("a FLAG is needed");
        const user = await requireUser(deps.pool, username!);
        const mailbox = await requireMailbox(deps.pool, user, mailboxName!);
        const uids = await resolveUidSet(deps.pool, mailbox.id, uidSet!);
        if (uids.length === 0)
          throw new DomainError("NONEXISTENT", `no message in ${mailbox.name} matches ${uidSet}`);
        const stored = await storeFlags(ctx, {
          userId: user.id,
          mailboxId: mailbox.id,
          uids,
          operation,
          flags,
        });
        for (const message of stored.messages)
          write(deps.stdout, `${message.uid}\t${flagText(message.flags)}`);
        return EXIT_OK;
      }
      case "copy":
      case "move": {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        const [username, mailboxName, uidSet, target] = positionalsOf(positionals, [
          "USER",
          "MAILBOX",
          "UIDSET",
          "TARGET",
        ]);
        const user = await requireUser(deps.pool, username!);
        const mailbox = await requireMailbox(deps.pool, user, mailboxName!);
        const uids = await resolveUidSet(deps.pool, mailbox.id, uidSet!);
        if (uids.length === 0)
          throw new DomainError("NONEXISTENT", `no message in ${mailbox.name} matches ${uidSet}`);
        const transfer = subcommand === "copy" ? copyMessages : moveMessages;
        const moved = await transfer(ctx, {
          userId: user.id,
          mailboxId: mailbox.id,
          uids,
          targetName: target!,
        });
        write(
          deps.stdout,
          `${subcommand === "copy" ? "copied" : "moved"} ${plural(moved.sourceUids.length, "message")}: UID ${encodeSequenceNumbers(moved.sourceUids)} -> ${encodeSequenceNumbers(moved.targetUids)} (UIDVALIDITY ${moved.targetUidValidity})`,
        );
        return EXIT_OK;
      }
      case "remove": {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        const [username, mailboxName, uidSet] = positionalsOf(positionals, ["USER", "MAILBOX", "UIDSET"]);
        const user = await requireUser(deps.pool, username!);
        const mailbox = await requireMailbox(deps.pool, user, mailboxName!);
        const uids = await resolveUidSet(deps.pool, mailbox.id, uidSet!);
        if (uids.length === 0)
          throw new DomainError("NONEXISTENT", `no message in ${mailbox.name} matches ${uidSet}`);
        await storeFlags(ctx, {
          userId: user.id,
          mailboxId: mailbox.id,
          uids,
          operation: "add",
          flags: ["\\Deleted"],
        });
        const expunged = await expungeMessages(ctx, { userId: user.id, mailboxId: mailbox.id, uids });
        write(
          deps.stdout,
          `removed ${plural(expunged.expungedUids.length, "message")}: UID ${encodeSequenceNumbers(expunged.expungedUids)}`,
        );
        return expunged.expungedUids.length === uids.length ? EXIT_OK : EXIT_FAILED;
      }
      case undefined:
      case "help":
      case "--help":
        write(subcommand === undefined ? deps.stderr : deps.stdout, MESSAGE_USAGE);
        return subcommand === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        throw new UsageError(`unknown subcommand "${subcommand}"`);
    }
  });
}
