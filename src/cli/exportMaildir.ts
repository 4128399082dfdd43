// `mailledger export maildir USER DIR [--mailbox NAME]`: the account (or NAME and its inferiors)
// as a Maildir++ tree that Dovecot and Courier read, and `mailledger import maildir` reads back:
// NAME (default INBOX) in DIR itself, every other mailbox in a ".A.B" directory, each message a
// file in cur/ named "<date>.M<uid>P<pid>.mailledger,S=<size>,W=<octets>:2,<flags><keywords>"
// with its INTERNALDATE as mtime and its lines in the local (LF) convention; each Maildir gets
// a dovecot-uidlist (its UIDVALIDITY, UIDNEXT and every file's UID) and a dovecot-keywords, the
// root a subscriptions file. DIR must be missing or empty: nothing there is overwritten.
import { mkdir, readdir, rename, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { sql } from "slonik";
import { z } from "zod";
import { canonicalMailboxName, INBOX, isInferiorOf } from "../commands/names.ts";
import { listMailboxRows, loadAllMessages, type MailboxRow, type UserRow } from "../commands/writeModel.ts";
import { MAILBOX_HIERARCHY_SEPARATOR } from "../events/domain/common.ts";
import { readBody } from "./exportMbox.ts";
import { type AdminCommandDeps, EXIT_OK, positionalsOf, requireUser, UsageError, write } from "./mailbox.ts";
import {
  directoryOfFolderName,
  formatKeywords,
  formatSubscriptions,
  formatUidList,
  KEYWORDS_FILE,
  MAX_MAILDIR_KEYWORDS,
  SUBSCRIPTIONS_FILE,
  UIDLIST_FILE,
} from "./maildirTree.ts";

/** The info letters of the system flags, in the ASCII order Maildir wants. */
const FLAG_LETTERS: readonly [string, string][] = [
  ["\\Draft", "D"],
  ["\\Flagged", "F"],
  ["\\Answered", "R"],
  ["\\Seen", "S"],
  ["\\Deleted", "T"],
];

/** CRLF line ends become LF, the convention of Maildir files (import makes them CRLF again). */
export function toLf(body: Buffer): Buffer {
  if (!body.includes(0x0d)) return body;
  return Buffer.from(body.toString("latin1").replace(/\r\n/g, "\n"), "latin1");
}

/** A message's file name: unique by UID, with Dovecot's S= (file size) and W= (RFC 822 size). */
export function maildirFileName(
  message: { uid: number; internalDate: Date; fileSize: number; size: number; flags: readonly string[] },
  keywordLetter: (keyword: string) => string | undefined,
): string {
  const letters = FLAG_LETTERS.filter(([flag]) => message.flags.includes(flag)).map(([, letter]) => letter);
  const keywords = message.flags
    .filter((flag) => !flag.startsWith("\\"))
    .flatMap((flag) => keywordLetter(flag) ?? [])
    .sort();
  const seconds = Math.floor(message.internalDate.getTime() / 1000);
  return `${seconds}.M${message.uid}P${process.pid}.mailledger,S=${message.fileSize},W=${message.size}:2,${letters.join("")}${keywords.join("")}`;
}

async function requireEmptyDirectory(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") {
      await mkdir(dir, { recursive: true });
      return;
    }
    throw new UsageError(`cannot write ${dir}: ${(error as Error).message}`);
  }
  if (entries.length > 0)
    throw new UsageError(`${dir} is not empty: export maildir writes only into a new directory`);
}

/** Writes one mailbox as a Maildir at `dir`; the keywords beyond the 26 letters are counted. */
async function exportMailbox(
  deps: AdminCommandDeps,
  mailbox: MailboxRow,
  dir: string,
): Promise<{ messages: number; keywordsDropped: number }> {
  for (const sub of ["cur", "new", "tmp"]) await mkdir(path.join(dir, sub), { recursive: true });
  const messages = await loadAllMessages(deps.pool, mailbox.id);
  const keywords: string[] = [];
  const letters = new Map<string, string>();
  let keywordsDropped = 0;
  const keywordLetter = (keyword: string) => {
    let letter = letters.get(keyword);
    if (letter === undefined && keywords.length < MAX_MAILDIR_KEYWORDS) {
      letter = String.fromCharCode(0x61 + keywords.length);
      keywords.push(keyword);
      letters.set(keyword, letter);
    }
    if (letter === undefined) keywordsDropped += 1;
    return letter;
  };
  const files: [number, string][] = [];
  for (const message of messages) {
    const body = toLf(await readBody(deps, message.blob_digest));
    const internalDate = new Date(message.internal_date);
    const name = maildirFileName(
      { uid: message.uid, internalDate, fileSize: body.length, size: message.size, flags: message.flags },
      keywordLetter,
    );
    // Written in tmp/, then moved into cur/: a reader never sees half a message (the Maildir way).
    const staged = path.join(dir, "tmp", name.slice(0, name.indexOf(":2,")));
    await writeFile(staged, body);
    await utimes(staged, internalDate, internalDate);
    await rename(staged, path.join(dir, "cur", name));
    files.push([message.uid, name.slice(0, name.indexOf(":2,"))]);
  }
  await writeFile(path.join(dir, KEYWORDS_FILE), formatKeywords(keywords));
  await writeFile(
    path.join(dir, UIDLIST_FILE),
    formatUidList({ uidValidity: mailbox.uid_validity, uidNext: mailbox.uid_next, files }),
  );
  return { messages: messages.length, keywordsDropped };
}

/** The mailbox's folder below `base` in the tree, "" for `base` itself; null when outside it. */
function folderOf(base: string, name: string): string | null {
  if (name === base) return "";
  if (base === INBOX) return name;
  return isInferiorOf(name, base) ? name.slice(base.length + MAILBOX_HIERARCHY_SEPARATOR.length) : null;
}

export async function exportMaildir(deps: AdminCommandDeps, user: UserRow, dir: string, base: string) {
  const rows = await listMailboxRows(deps.pool, user.id);
  if (!rows.some((row) => row.name === base && row.status === "selectable")) {
    throw new UsageError(`${user.username} has no mailbox named "${base}"`);
  }
  await requireEmptyDirectory(dir);
  const subscribed = new Set(
    await deps.pool.anyFirst(sql.type(z.object({ name: z.string() }))`
      SELECT name FROM subscriptions WHERE user_id = ${user.id}`),
  );
  const subscriptions: string[] = [];
  for (const row of rows) {
    const folder = folderOf(base, row.name);
    if (folder === null || row.status !== "selectable") continue;
    const target = folder === "" ? dir : path.join(dir, directoryOfFolderName(folder));
    const { messages, keywordsDropped } = await exportMailbox(deps, row, target);
    write(
      deps.stdout,
      `exported ${messages} message${messages === 1 ? "" : "s"} from ${row.name} to ${target}${
        keywordsDropped > 0
          ? ` (${keywordsDropped} keywords beyond the ${MAX_MAILDIR_KEYWORDS} a Maildir can name were left out)`
          : ""
      }`,
    );
    if (subscribed.has(row.name)) subscriptions.push(folder === "" ? INBOX : folder);
  }
  await writeFile(path.join(dir, SUBSCRIPTIONS_FILE), formatSubscriptions(subscriptions));
}

export async function runExportMaildir(rest: string[], deps: AdminCommandDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { mailbox: { type: "string", default: INBOX } },
  });
  const [username, dir] = positionalsOf(positionals, ["USER", "DIR"]);
  const user = await requireUser(deps.pool, username!);
  await exportMaildir(deps, user, dir!, canonicalMailboxName(values.mailbox));
  return EXIT_OK;
}
