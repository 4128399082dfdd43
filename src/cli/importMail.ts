// `mailledger import maildir|mbox USER PATH [--mailbox NAME]`: appends each message of a Maildir
// (cur/ and new/, flags from the ":2," info suffix, INTERNALDATE from the file's mtime) or of an
// mbox file (mboxrd/mboxo: split on "From " lines, ">From " un-quoted, INTERNALDATE from the
// "From " line) through the same APPEND handler as the IMAP gateway. Lines stored in the local
// LF convention get their CRLF back; anything else is imported as it is, malformed or not. A
// message the server refuses (TOOBIG, ...) is reported and skipped; the others are kept.
import { createReadStream } from "node:fs";
import { open, readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Writable } from "node:stream";
import { parseArgs } from "node:util";
import { Presets, SingleBar } from "cli-progress";
import { sql } from "slonik";
import { z } from "zod";
import { isDomainError } from "../commands/errors.ts";
import { createMailbox, subscribeMailbox } from "../commands/mailbox/handlers.ts";
import { appendMessage, appendMessages } from "../commands/messages/append.ts";
import { canonicalMailboxName, INBOX } from "../commands/names.ts";
import { findMailboxByName, type MailboxRow, type UserRow } from "../commands/writeModel.ts";
import { sha256Hex } from "../events/blobs/blobStore.ts";
import {
  type AdminCommandDeps,
  adminContext,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  positionalsOf,
  requireMailbox,
  requireUser,
  runAdmin,
  UsageError,
  write,
} from "./mailbox.ts";
import {
  KEYWORDS_FILE,
  keywordLetters,
  maildirBaseName,
  maildirFolders,
  parseKeywords,
  parseSubscriptions,
  parseUidList,
  readOptional,
  SUBSCRIPTIONS_FILE,
  UIDLIST_FILE,
  type UidList,
} from "./maildirTree.ts";
import { takeMboxFlags } from "./mboxStatus.ts";

export const IMPORT_USAGE = `usage:
  mailledger import maildir USER PATH [--mailbox NAME]   (a Maildir++ tree: PATH/cur and PATH/new, and
                                                         .Sub.Folder directories as mailboxes Sub/Folder;
                                                         flags from ":2,DFRST", keywords from dovecot-keywords,
                                                         UIDs and UIDVALIDITY from dovecot-uidlist)
  mailledger import mbox USER PATH [--mailbox NAME]      (mboxrd or mboxo; - : standard input)
NAME: the target mailbox, created when missing (default INBOX); a Maildir's folders go under it
unless it is INBOX. A message whose body the mailbox already holds is not appended again.`;

/** One message to import: where it came from (for the report), its bytes, flags and date. */
export interface ImportItem {
  source: string;
  body: Buffer;
  flags: string[];
  internalDate?: Date;
  /** The UID it had (dovecot-uidlist), kept when the target mailbox is new. */
  uid?: number;
}

const MAILDIR_FLAGS: Readonly<Record<string, string>> = {
  D: "\\Draft",
  F: "\\Flagged",
  R: "\\Answered",
  S: "\\Seen",
  T: "\\Deleted",
};

/** The IMAP flags of a Maildir file name's ":2," info suffix (other letters are ignored). */
export function maildirFlags(name: string): string[] {
  const info = /:2,([^:/]*)$/.exec(name)?.[1] ?? "";
  const flags = [...new Set(info)]
    .map((letter) => MAILDIR_FLAGS[letter])
    .filter((flag) => flag !== undefined);
  return flags.sort();
}

/** Lone LFs (the local convention of Maildir and mbox files) become CRLF; CRLFs stay. */
export function toCrlf(body: Buffer): Buffer {
  if (!body.includes(0x0a)) return body;
  return Buffer.from(body.toString("latin1").replace(/\r?\n/g, "\r\n"), "latin1");
}

/** The files of a Maildir's cur/ and new/, oldest first (mtime, then name). */
export async function maildirFiles(
  dir: string,
): Promise<{ file: string; name: string; mtime: Date; flags: string[] }[]> {
  const files: { file: string; name: string; mtime: Date; flags: string[] }[] = [];
  let found = 0;
  for (const sub of ["cur", "new"]) {
    let names: string[];
    try {
      names = await readdir(path.join(dir, sub));
      found += 1;
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") continue;
      throw new UsageError(`cannot read ${path.join(dir, sub)}: ${(error as Error).message}`);
    }
    for (const name of names) {
      if (name.startsWith(".")) continue;
      const file = path.join(dir, sub, name);
      const info = await stat(file);
      if (!info.isFile()) continue;
      files.push({
        file,
        name: `${sub}/${name}`,
        mtime: info.mtime,
        flags: sub === "cur" ? maildirFlags(name) : [],
      });
    }
  }
  if (found === 0) throw new UsageError(`${dir} is not a Maildir (it has neither cur/ nor new/)`);
  return files.sort((a, b) => a.mtime.getTime() - b.mtime.getTime() || a.name.localeCompare(b.name));
}

const MONTH_INDEX: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};
const ASCTIME =
  /^(?:[A-Za-z]{3},?\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(?:([A-Za-z]{1,5}|[+-]\d{4})\s+)?(\d{4})(?:\s+([+-]\d{4}))?/;

/** An RFC 2822 date, as some tools write on the "From " line: "Mon, 2 Jan 2006 15:04:05 +0000". */
const RFC2822 =
  /^(?:[A-Za-z]{3},?\s+)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s+([+-]\d{4}|[A-Za-z]{1,5}))?/;

/**
 * The sender and date of an mbox "From " line; date null when it has none that parses. The date is
 * asctime's (RFC 4155, with or without a zone) or RFC 2822's.
 */
export function parseFromLine(line: string): { sender: string; date: Date | null } | null {
  const match = /^From (\S*)\s*(.*)$/.exec(line.replace(/\r$/, ""));
  if (!match) return null;
  const rfc2822 = RFC2822.exec(match[2]!);
  if (rfc2822) {
    const [, day, month, year, hours, minutes, seconds, zone] = rfc2822;
    return { sender: match[1]!, date: dateOf(year!, month!, day!, hours!, minutes!, seconds, [zone]) };
  }
  const date = ASCTIME.exec(match[2]!);
  if (!date) return { sender: match[1]!, date: null };
  const [, month, day, hours, minutes, seconds, zone, year, trailingZone] = date;
  return {
    sender: match[1]!,
    date: dateOf(year!, month!, day!, hours!, minutes!, seconds, [zone, trailingZone]),
  };
}

function dateOf(
  year: string,
  month: string,
  day: string,
  hours: string,
  minutes: string,
  seconds: string | undefined,
  zones: (string | undefined)[],
): Date | null {
  const monthIndex = MONTH_INDEX[month.toLowerCase()];
  if (monthIndex === undefined) return null;
  let time = Date.UTC(
    Number(year),
    monthIndex,
    Number(day),
    Number(hours),
    Number(minutes),
    Number(seconds ?? 0),
  );
  const offset = zones.find((z) => z !== undefined && /^[+-]\d{4}$/.test(z));
  if (offset !== undefined) {
    const sign = offset.startsWith("-") ? -1 : 1;
    time -= sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(3, 5))) * 60_000;
  }
  const parsed = new Date(time);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}

const FROM_LINE = Buffer.from("From ");
/** Undated "From " lines after blank lines within one message, from which it is refused. */
const UNDATED_SEPARATORS_REFUSED = 3;
const QUOTED_FROM = /^>+From /;

/**
 * The bytes of the message being read, in one buffer reused from message to message: the reader
 * allocates one Buffer per message, not one per line (an archive of 100,000 messages has
 * millions of lines, and each short-lived object costs the garbage collector).
 */
class BodyBuilder {
  private bytes = Buffer.allocUnsafe(64 * 1024);
  length = 0;

  append(source: Buffer, start: number, end: number): void {
    const needed = this.length + (end - start) + 2;
    if (needed > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    this.length += source.copy(this.bytes, this.length, start, end);
  }

  /** Appends CRLF (room for it is made by append). */
  crlf(): void {
    this.bytes[this.length++] = 0x0d;
    this.bytes[this.length++] = 0x0a;
  }

  /** A copy of the bytes so far; the builder starts over. */
  take(): Buffer {
    const body = Buffer.allocUnsafeSlow(this.length);
    this.bytes.copy(body, 0, 0, this.length);
    this.length = 0;
    return body;
  }
}

/**
 * The messages of an mbox file. A "From " line separates messages at the start of the file, or
 * after a blank line when it carries a date (an unquoted "From " in a body seldom does); the
 * blank line before it belongs to the separator. ">From " lines lose one ">" (mboxrd; for
 * mboxo, the only reading there is). Lines end in CRLF, whether they ended in LF or CRLF.
 */
export async function* mboxMessages(
  source: AsyncIterable<Buffer | string>,
  name: string,
): AsyncGenerator<ImportItem> {
  let current: { line: number; fromLine: string; date: Date | null } | undefined;
  const body = new BodyBuilder();
  /** Whether the last line of the current message is blank: it belongs to the next separator. */
  let lastBlank = false;
  let previousBlank = true;
  let lineNumber = 0;
  /** "From " lines after a blank line that carry no date this reader knows, in the current message. */
  let undated: number[] = [];
  const finish = (entry: NonNullable<typeof current>): ImportItem => {
    if (lastBlank) body.length -= 2;
    lastBlank = false;
    // Flags from the Status, X-Status and X-Keywords fields, which leave the stored message.
    const { body: bytes, flags } = takeMboxFlags(body.take());
    return {
      source: `${name} message at line ${entry.line} (${entry.fromLine.replace(/\r$/, "").slice(0, 80)})`,
      body: bytes,
      flags,
      ...(entry.date ? { internalDate: entry.date } : {}),
    };
  };
  /** Reads the line buffer[start, end) (without its LF); returns the message it ends, if any. */
  const line = (buffer: Buffer, start: number, end: number): ImportItem | undefined => {
    lineNumber += 1;
    let finished: ImportItem | undefined;
    if (
      end - start >= FROM_LINE.length &&
      buffer.compare(FROM_LINE, 0, FROM_LINE.length, start, start + FROM_LINE.length) === 0
    ) {
      const text = buffer.toString("latin1", start, end);
      const parsed = parseFromLine(text);
      if (current === undefined || (previousBlank && parsed?.date)) {
        if (current) finished = finish(current);
        current = { line: lineNumber, fromLine: text, date: parsed?.date ?? null };
        undated = [];
        previousBlank = false;
        return finished;
      }
      // One such line is a body that says "From ..."; several are separators in a form this
      // reader cannot date, which would run many messages into one: refused, not imported.
      if (previousBlank) undated.push(lineNumber);
      if (undated.length >= UNDATED_SEPARATORS_REFUSED) {
        throw new UsageError(
          `${name}: the message at line ${current!.line} goes on past ${undated.length} "From " lines that follow a blank line but carry no date this importer reads (lines ${undated.join(", ")}, e.g. ${JSON.stringify(text.replace(/\r$/, "").slice(0, 80))}): they look like message separators; the file is not split, and the messages from line ${current!.line} on are not imported`,
        );
      }
    }
    if (current === undefined) {
      throw new UsageError(`${name} is not an mbox file (it does not begin with a "From " line)`);
    }
    const quoted =
      buffer[start] === 0x3e && QUOTED_FROM.test(buffer.toString("latin1", start, Math.min(end, start + 64)));
    const contentEnd = end > start && buffer[end - 1] === 0x0d ? end - 1 : end;
    body.append(buffer, quoted ? start + 1 : start, contentEnd);
    body.crlf();
    previousBlank = contentEnd === start;
    lastBlank = previousBlank;
    return undefined;
  };
  let rest: Buffer | undefined;
  for await (const chunk of source) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    const buffer = rest ? Buffer.concat([rest, bytes]) : bytes;
    let start = 0;
    for (let newline = buffer.indexOf(0x0a); newline !== -1; newline = buffer.indexOf(0x0a, start)) {
      const finished = line(buffer, start, newline);
      start = newline + 1;
      if (finished) yield finished;
    }
    rest = start < buffer.length ? Buffer.from(buffer.subarray(start)) : undefined;
  }
  if (rest) {
    const finished = line(rest, 0, rest.length);
    if (finished) yield finished;
  }
  if (current) yield finish(current);
}

/**
 * The messages of one Maildir: those the dovecot-uidlist names first, by UID (kept when
 * `uids` is given), then the others oldest first; keyword letters read through `keywords`.
 */
async function* maildirMessages(
  dir: string,
  failures: { source: string; reason: string }[],
  options: { label?: string; uids?: UidList; keywords?: ReadonlyMap<string, string> } = {},
): AsyncGenerator<ImportItem> {
  const entries = (await maildirFiles(dir)).map((entry) => ({
    ...entry,
    uid: options.uids?.uids.get(maildirBaseName(path.basename(entry.file))),
  }));
  const listed = entries.filter((entry) => entry.uid !== undefined).sort((a, b) => a.uid! - b.uid!);
  const unlisted = entries.filter((entry) => entry.uid === undefined);
  for (const entry of [...listed, ...unlisted]) {
    const source = options.label ? `${options.label}/${entry.name}` : entry.name;
    let body: Buffer;
    try {
      body = await readFile(entry.file);
    } catch (error) {
      failures.push({ source, reason: `cannot read: ${(error as Error).message}` });
      continue;
    }
    const keywords = keywordLetters(entry.name).flatMap((letter) => {
      const keyword = options.keywords?.get(letter);
      return keyword === undefined ? [] : [keyword];
    });
    yield {
      source,
      body: toCrlf(body),
      flags: [...entry.flags, ...keywords],
      internalDate: entry.mtime,
      ...(entry.uid !== undefined ? { uid: entry.uid } : {}),
    };
  }
}

async function firstBytes(file: string, length: number): Promise<Buffer> {
  const handle = await open(file);
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * A progress bar on a terminal (cli-progress); nothing in a pipe. The total is unknown while
 * the source is read as a stream, so it shows counts and a rate.
 */
function progressOn(stderr: Writable) {
  if ((stderr as { isTTY?: boolean }).isTTY !== true) return { update() {}, done() {} };
  const bar = new SingleBar(
    {
      stream: stderr as NodeJS.WriteStream,
      format: "importing | {imported} imported, {present} already there, {failed} failed | {rate}/s",
      hideCursor: true,
      fps: 5,
    },
    Presets.shades_classic,
  );
  const started = Date.now();
  bar.start(0, 0, { imported: 0, present: 0, failed: 0, rate: 0 });
  return {
    update(imported: number, present: number, failed: number) {
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      bar.update(0, { imported, present, failed, rate: Math.round((imported + present) / seconds) });
    },
    done() {
      bar.stop();
    },
  };
}

/** Messages appended per transaction (MULTIAPPEND's path): one commit for many. */
export const IMPORT_BATCH_MESSAGES = 200;
/** ... and about this many octets of bodies, which travel in the statement. */
const IMPORT_BATCH_OCTETS = 16 * 1024 * 1024;

const presentRow = z.object({ blob_digest: z.string(), copies: z.number() });

/**
 * How many copies of each body the mailbox holds: an import skips a message whose body is there
 * (as many times as the source has it), so running it again, after a crash or not, appends only
 * what is missing. Bodies are compared by their SHA-256 digest, as the blob store keeps them.
 */
async function bodiesPresent(deps: AdminCommandDeps, mailboxId: string): Promise<Map<string, number>> {
  const rows = await deps.pool.any(sql.type(presentRow)`
    SELECT blob_digest, count(*)::int AS copies FROM messages WHERE mailbox_id = ${mailboxId} GROUP BY blob_digest`);
  return new Map(rows.map((row) => [row.blob_digest, row.copies]));
}

type Progress = ReturnType<typeof progressOn>;

interface ImportTotals {
  imported: number;
  alreadyThere: number;
  failures: { source: string; reason: string }[];
}

/**
 * Appends the items missing from the mailbox, in batches; `keepUids`: with the UIDs the items
 * carry (those at least the mailbox's UIDNEXT). Returns this mailbox's counts.
 */
async function importInto(
  ctx: ReturnType<typeof adminContext>,
  deps: AdminCommandDeps,
  userId: string,
  mailbox: MailboxRow,
  items: AsyncIterable<ImportItem>,
  keepUids: boolean,
  totals: ImportTotals,
  progress: Progress,
): Promise<{ imported: number; alreadyThere: number }> {
  const present = await bodiesPresent(deps, mailbox.id);
  let imported = 0;
  let alreadyThere = 0;
  let batch: ImportItem[] = [];
  let batchOctets = 0;
  let uidNext = mailbox.uid_next;
  const failures = totals.failures;
  const append = (item: ImportItem, withUid = keepUids) => ({
    body: item.body,
    declaredSize: item.body.length,
    flags: item.flags,
    ...(item.internalDate ? { internalDate: item.internalDate } : {}),
    ...(withUid && item.uid !== undefined ? { uid: item.uid } : {}),
  });
  const counted = (count: number) => {
    imported += count;
    totals.imported += count;
  };
  /** One transaction for the batch; when one of it is refused, each on its own, the refusal noted. */
  const flush = async () => {
    const items = batch;
    batch = [];
    batchOctets = 0;
    if (items.length === 0) return;
    try {
      await appendMessages(ctx, {
        userId,
        mailboxName: mailbox.name,
        messages: items.map((item) => append(item)),
      });
      counted(items.length);
    } catch (error) {
      if (!isDomainError(error)) throw error;
      for (const item of items) {
        try {
          await appendMessage(ctx, { userId, mailboxName: mailbox.name, ...append(item) });
          counted(1);
        } catch (refusal) {
          if (!isDomainError(refusal)) throw refusal;
          // A UID another appender went past meanwhile: the message still goes in, with the next.
          if (refusal.code === "CANNOT" && item.uid !== undefined && keepUids) {
            await appendMessage(ctx, { userId, mailboxName: mailbox.name, ...append(item, false) });
            counted(1);
            continue;
          }
          failures.push({ source: item.source, reason: `${refusal.code}: ${refusal.message}` });
        }
      }
    }
    progress.update(totals.imported, totals.alreadyThere, failures.length);
  };
  for await (const item of items) {
    // The digest only matters while the mailbox holds bodies this run has not matched yet.
    const digest = present.size === 0 ? undefined : sha256Hex(item.body);
    const copies = digest === undefined ? 0 : (present.get(digest) ?? 0);
    if (digest !== undefined && copies > 0) {
      if (copies === 1) present.delete(digest);
      else present.set(digest, copies - 1);
      alreadyThere += 1;
      totals.alreadyThere += 1;
      progress.update(totals.imported, totals.alreadyThere, failures.length);
      continue;
    }
    // A UID below what this mailbox has reached is not kept (UIDs only increase): the next one.
    const keptItem =
      keepUids && item.uid !== undefined && item.uid < uidNext ? { ...item, uid: undefined } : item;
    if (keepUids && keptItem.uid !== undefined) uidNext = keptItem.uid + 1;
    else uidNext += 1;
    batch.push(keptItem);
    batchOctets += item.body.length;
    if (batch.length >= IMPORT_BATCH_MESSAGES || batchOctets >= IMPORT_BATCH_OCTETS) await flush();
  }
  await flush();
  return { imported, alreadyThere };
}

function reportLine(mailbox: string, counts: { imported: number; alreadyThere: number }, failed: number) {
  const { imported, alreadyThere } = counts;
  return `imported ${imported} message${imported === 1 ? "" : "s"} into ${mailbox}, ${
    alreadyThere > 0 ? `${alreadyThere} already there, ` : ""
  }failed ${failed}`;
}

/** The mailbox a Maildir++ folder goes to: the root is `base`, ".A.B" is "A/B" (under `base` unless INBOX). */
function targetOf(base: string, folder: string): string {
  if (folder === "") return base;
  return canonicalMailboxName(base === INBOX ? folder : `${base}/${folder}`);
}

async function importMaildirTree(
  ctx: ReturnType<typeof adminContext>,
  deps: AdminCommandDeps,
  user: UserRow,
  root: string,
  base: string,
  totals: ImportTotals,
  progress: Progress,
): Promise<void> {
  const folders = await maildirFolders(root);
  if (folders.length === 0) {
    throw new UsageError(`${root} is not a Maildir (it has neither cur/ nor new/, nor .Folder directories)`);
  }
  for (const folder of folders) {
    const name = targetOf(base, folder.name);
    const uidListText = await readOptional(path.join(folder.dir, UIDLIST_FILE));
    const uids = uidListText === undefined ? null : parseUidList(uidListText);
    if (uidListText !== undefined && uids === null) {
      write(
        deps.stdout,
        `${folder.dir}/${UIDLIST_FILE}: not a dovecot-uidlist this importer reads; UIDs not kept`,
      );
    }
    const keywordsText = await readOptional(path.join(folder.dir, KEYWORDS_FILE));
    const keywords = keywordsText === undefined ? new Map<string, string>() : parseKeywords(keywordsText);
    let mailbox = await findMailboxByName(deps.pool, user.id, name);
    if (mailbox?.status !== "selectable") {
      const created = await createMailbox(ctx, {
        userId: user.id,
        name,
        ...(uids ? { uidValidity: uids.uidValidity } : {}),
      });
      for (const createdName of created.created) write(deps.stdout, `created mailbox ${createdName}`);
      mailbox = await requireMailbox(deps.pool, user, name);
    }
    // UIDs are kept in a mailbox that has the list's UIDVALIDITY (made by this import, now or
    // in a run that was interrupted) or has never held a message (a new account's INBOX).
    const keepUids = uids !== null && (mailbox.uid_validity === uids.uidValidity || mailbox.uid_next === 1);
    const failedBefore = totals.failures.length;
    const counts = await importInto(
      ctx,
      deps,
      user.id,
      mailbox,
      maildirMessages(folder.dir, totals.failures, {
        ...(folder.name === "" ? {} : { label: path.basename(folder.dir) }),
        ...(uids ? { uids } : {}),
        keywords,
      }),
      keepUids,
      totals,
      progress,
    );
    write(deps.stdout, reportLine(mailbox.name, counts, totals.failures.length - failedBefore));
  }
  const subscriptions = await readOptional(path.join(root, SUBSCRIPTIONS_FILE));
  for (const subscribed of subscriptions === undefined ? [] : parseSubscriptions(subscriptions)) {
    let name: string;
    try {
      name = targetOf(base, subscribed === INBOX ? "" : subscribed);
    } catch {
      continue;
    }
    if (!(await findMailboxByName(deps.pool, user.id, name))) continue;
    await subscribeMailbox(ctx, { userId: user.id, name });
  }
}

export async function runImportCommand(argv: string[], deps: AdminCommandDeps): Promise<number> {
  const [format, ...rest] = argv;
  const ctx = adminContext(deps, `import ${format ?? ""}`.trim());
  return runAdmin("import", IMPORT_USAGE, deps, async () => {
    if (format === undefined || format === "help" || format === "--help") {
      write(format === undefined ? deps.stderr : deps.stdout, IMPORT_USAGE);
      return format === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (format !== "maildir" && format !== "mbox") {
      throw new UsageError(`"${format}" is not an import format (maildir or mbox)`);
    }
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { mailbox: { type: "string", default: "INBOX" } },
    });
    const [username, source] = positionalsOf(positionals, ["USER", "PATH"]);
    const user = await requireUser(deps.pool, username!);
    const totals: ImportTotals = { imported: 0, alreadyThere: 0, failures: [] };
    const base = canonicalMailboxName(values.mailbox);

    if (format === "maildir") {
      const progress = progressOn(deps.stderr);
      try {
        await importMaildirTree(ctx, deps, user, source!, base, totals, progress);
      } finally {
        progress.done();
      }
    } else {
      let items: AsyncIterable<ImportItem>;
      if (source === "-") {
        items = mboxMessages(deps.stdin, "standard input");
      } else {
        try {
          if (!(await stat(source!)).isFile()) throw new Error("not a file");
        } catch (error) {
          throw new UsageError(`cannot read ${source}: ${(error as Error).message}`);
        }
        const head = await firstBytes(source!, FROM_LINE.length);
        if (head.length > 0 && !head.equals(FROM_LINE)) {
          throw new UsageError(`${source} is not an mbox file (it does not begin with a "From " line)`);
        }
        items = mboxMessages(createReadStream(source!), path.basename(source!));
      }
      if (!(await findMailboxByName(deps.pool, user.id, base))) {
        const created = await createMailbox(ctx, { userId: user.id, name: base, specialUse: null });
        for (const createdName of created.created) write(deps.stdout, `created mailbox ${createdName}`);
      }
      const mailbox = await requireMailbox(deps.pool, user, base);
      const progress = progressOn(deps.stderr);
      let counts: { imported: number; alreadyThere: number };
      try {
        counts = await importInto(ctx, deps, user.id, mailbox, items, false, totals, progress);
      } finally {
        progress.done();
      }
      write(deps.stdout, reportLine(mailbox.name, counts, totals.failures.length));
    }
    for (const failure of totals.failures) write(deps.stdout, `  ${failure.source}: ${failure.reason}`);
    return totals.failures.length === 0 ? EXIT_OK : EXIT_FAILED;
  });
}
