// `mailledger mailbox list|create|delete|rename|subscribe|unsubscribe|appendlimit USER ...`:
// a user's mailboxes, through the same command handlers as the IMAP gateway (the events say
// actor "admin"). Also the helpers the other admin subcommands share (message, history).
import type { Readable, Writable } from "node:stream";
import { parseArgs } from "node:util";
import { type DatabasePool, sql } from "slonik";
import { z } from "zod";
import type { DomainContext } from "../commands/context.ts";
import { DomainError, isDomainError } from "../commands/errors.ts";
import {
  createMailbox,
  deleteMailbox,
  renameMailbox,
  setMailboxAppendLimit,
  subscribeMailbox,
  unsubscribeMailbox,
} from "../commands/mailbox/handlers.ts";
import { canonicalMailboxName } from "../commands/names.ts";
import { canonicalUsername } from "../commands/user/username.ts";
import {
  findMailboxByName,
  findUserByName,
  listMailboxRows,
  type MailboxRow,
  type UserRow,
} from "../commands/writeModel.ts";
import type { BlobStore } from "../events/blobs/blobStore.ts";
import { createPostgresBlobStore } from "../events/blobs/postgresBlobStore.ts";
import { SPECIAL_USES, type SpecialUse } from "../events/domain/common.ts";

export interface AdminCommandDeps {
  pool: DatabasePool;
  /** Where message bodies live (BLOB_STORE); the PostgreSQL store on `pool` when absent. */
  blobStore?: BlobStore;
  /** The global APPEND_LIMIT; null or absent: none. */
  appendLimit?: number | null;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

export const MAILBOX_USAGE = `usage:
  mailledger mailbox list USER [--json]
  mailledger mailbox create USER NAME [--special-use \\Sent|\\Drafts|\\Trash|\\Junk|\\Archive|\\All|\\Flagged]
  mailledger mailbox delete USER NAME
  mailledger mailbox rename USER OLD NEW
  mailledger mailbox subscribe USER NAME
  mailledger mailbox unsubscribe USER NAME
  mailledger mailbox appendlimit USER NAME [OCTETS|none]   (no value: show the current limit)`;

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

export const write = (stream: Writable, text: string) =>
  stream.write(text.endsWith("\n") ? text : `${text}\n`);

export function adminContext(deps: AdminCommandDeps, name: string): DomainContext {
  return {
    pool: deps.pool,
    blobStore: deps.blobStore ?? createPostgresBlobStore(deps.pool),
    metadata: { actor: "admin", command: { tag: "cli", name } },
    now: () => new Date(),
    appendLimit: deps.appendLimit ?? null,
  };
}

/**
 * Runs one admin subcommand: usage errors exit 2 with the usage text, domain refusals exit 1
 * with their message; anything else is a bug and propagates.
 */
export async function runAdmin(
  command: string,
  usage: string,
  deps: Pick<AdminCommandDeps, "stderr">,
  body: () => Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      write(deps.stderr, `mailledger ${command}: ${(error as Error).message}\n${usage}`);
      return EXIT_USAGE;
    }
    if (isDomainError(error)) {
      write(deps.stderr, `mailledger ${command}: ${(error as Error).message}`);
      return EXIT_FAILED;
    }
    throw error;
  }
}

/** The positionals named in `names` (the last `optional` of them may be missing). */
export function positionalsOf(positionals: string[], names: readonly string[], optional = 0): string[] {
  const required = names.length - optional;
  if (positionals.length < required) throw new UsageError(`${names[positionals.length]} is needed`);
  if (positionals.length > names.length) {
    throw new UsageError(`unexpected argument "${positionals[names.length]}"`);
  }
  return positionals;
}

/** An ISO 8601 instant (or milliseconds since the epoch). */
export function parseTime(value: string, option: string): Date {
  const time = new Date(/^\d+$/.test(value) ? Number(value) : value);
  if (Number.isNaN(time.getTime())) {
    throw new UsageError(
      `${option} "${value}" is not a time (an ISO 8601 instant, e.g. 2026-01-31T12:00:00Z)`,
    );
  }
  return time;
}

export async function requireUser(pool: DatabasePool, username: string): Promise<UserRow> {
  let canonical: string;
  try {
    canonical = canonicalUsername(username);
  } catch {
    throw new DomainError("NONEXISTENT", `no user named "${username}"`);
  }
  const user = await findUserByName(pool, canonical);
  if (!user) throw new DomainError("NONEXISTENT", `no user named "${canonical}"`);
  return user;
}

/** A mailbox that can hold messages (not a \Noselect placeholder). */
export async function requireMailbox(pool: DatabasePool, user: UserRow, name: string): Promise<MailboxRow> {
  const canonical = canonicalMailboxName(name);
  const mailbox = await findMailboxByName(pool, user.id, canonical);
  if (!mailbox) throw new DomainError("NONEXISTENT", `${user.username} has no mailbox named "${canonical}"`);
  if (mailbox.status !== "selectable") {
    throw new DomainError("NONEXISTENT", `"${canonical}" is a \\Noselect name: it holds no messages`);
  }
  return mailbox;
}

function parseLimit(value: string): number | null {
  if (value === "none") return null;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`"${value}" is not a number of octets (or "none")`);
  }
  return Number(value);
}

function parseSpecialUse(value: string | undefined): SpecialUse | null {
  if (value === undefined) return null;
  const found = SPECIAL_USES.find((use) => use.toLowerCase() === value.toLowerCase());
  if (!found) throw new UsageError(`"${value}" is not a special use (${SPECIAL_USES.join(", ")})`);
  return found;
}

export interface MailboxListing {
  mailboxId: string;
  name: string;
  /** \Noselect: a name kept for its inferiors, holding no messages. */
  selectable: boolean;
  subscribed: boolean;
  specialUse: string | null;
  appendLimit: number | null;
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  messages: number;
  unseen: number;
}

export async function listMailboxes(pool: DatabasePool, user: UserRow): Promise<MailboxListing[]> {
  const rows = await listMailboxRows(pool, user.id);
  const subscribed = new Set(
    await pool.anyFirst(sql.type(z.object({ name: z.string() }))`
      SELECT name FROM subscriptions WHERE user_id = ${user.id}`),
  );
  const counts = await pool.any(sql.type(
    z.object({ mailbox_id: z.string(), messages: z.number(), unseen: z.number() }),
  )`
    SELECT id AS mailbox_id, message_count::int AS messages, unseen_count::int AS unseen
    FROM mailboxes WHERE id = ANY(${sql.array(
      rows.map((row) => row.id),
      "text",
    )})`);
  const byId = new Map(counts.map((count) => [count.mailbox_id, count]));
  return rows.map((row) => ({
    mailboxId: row.id,
    name: row.name,
    selectable: row.status === "selectable",
    subscribed: subscribed.has(row.name),
    specialUse: row.special_use,
    appendLimit: row.append_limit,
    uidValidity: row.uid_validity,
    uidNext: row.uid_next,
    highestModSeq: row.highest_modseq,
    messages: byId.get(row.id)?.messages ?? 0,
    unseen: byId.get(row.id)?.unseen ?? 0,
  }));
}

function describeListing(mailbox: MailboxListing): string {
  const attributes = [
    mailbox.selectable ? `messages=${mailbox.messages} unseen=${mailbox.unseen}` : "\\Noselect",
    mailbox.selectable ? `uidvalidity=${mailbox.uidValidity} uidnext=${mailbox.uidNext}` : "",
    mailbox.specialUse ?? "",
    mailbox.appendLimit === null ? "" : `appendlimit=${mailbox.appendLimit}`,
    mailbox.subscribed ? "subscribed" : "",
  ].filter((part) => part !== "");
  return `${mailbox.name}\t${attributes.join(" ")}`;
}

export async function runMailboxCommand(argv: string[], deps: AdminCommandDeps): Promise<number> {
  const [subcommand, ...rest] = argv;
  const ctx = adminContext(deps, `mailbox ${subcommand ?? ""}`.trim());
  return runAdmin("mailbox", MAILBOX_USAGE, deps, async () => {
    switch (subcommand) {
      case "list": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { json: { type: "boolean" } },
        });
        const [username] = positionalsOf(positionals, ["USER"]);
        const mailboxes = await listMailboxes(deps.pool, await requireUser(deps.pool, username!));
        if (values.json) write(deps.stdout, JSON.stringify(mailboxes));
        else for (const mailbox of mailboxes) write(deps.stdout, describeListing(mailbox));
        return EXIT_OK;
      }
      case "create": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { "special-use": { type: "string" } },
        });
        const [username, name] = positionalsOf(positionals, ["USER", "NAME"]);
        const specialUse = parseSpecialUse(values["special-use"]);
        const user = await requireUser(deps.pool, username!);
        const created = await createMailbox(ctx, { userId: user.id, name: name!, specialUse });
        for (const createdName of created.created) write(deps.stdout, `created mailbox ${createdName}`);
        return EXIT_OK;
      }
      case "delete": {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        const [username, name] = positionalsOf(positionals, ["USER", "NAME"]);
        const user = await requireUser(deps.pool, username!);
        const deleted = await deleteMailbox(ctx, { userId: user.id, name: name! });
        const canonical = canonicalMailboxName(name!);
        write(
          deps.stdout,
          `deleted mailbox ${canonical} (${deleted.expungedCount} message${deleted.expungedCount === 1 ? "" : "s"} expunged${deleted.keptAsNoselect ? "; the name stays as \\Noselect for its inferiors" : ""})`,
        );
        return EXIT_OK;
      }
      case "rename": {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        const [username, from, to] = positionalsOf(positionals, ["USER", "OLD", "NEW"]);
        const user = await requireUser(deps.pool, username!);
        const renamed = await renameMailbox(ctx, { userId: user.id, from: from!, to: to! });
        for (const rename of renamed.renamed) write(deps.stdout, `renamed ${rename.from} to ${rename.to}`);
        if (renamed.inboxMovedTo) {
          write(
            deps.stdout,
            `moved ${renamed.inboxMovedTo.messageCount} message(s) from INBOX to ${renamed.inboxMovedTo.name}`,
          );
        }
        return EXIT_OK;
      }
      case "subscribe":
      case "unsubscribe": {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        const [username, name] = positionalsOf(positionals, ["USER", "NAME"]);
        const user = await requireUser(deps.pool, username!);
        const handler = subcommand === "subscribe" ? subscribeMailbox : unsubscribeMailbox;
        const outcome = await handler(ctx, { userId: user.id, name: name! });
        const canonical = canonicalMailboxName(name!);
        write(
          deps.stdout,
          outcome.lastGlobalPosition === null
            ? `${canonical} was already ${subcommand === "subscribe" ? "subscribed" : "not subscribed"}`
            : `${subcommand}d ${canonical}`,
        );
        return EXIT_OK;
      }
      case "appendlimit": {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        const [username, name, value] = positionalsOf(positionals, ["USER", "NAME", "OCTETS"], 1);
        const user = await requireUser(deps.pool, username!);
        const canonical = canonicalMailboxName(name!);
        if (value === undefined) {
          const mailbox = await findMailboxByName(deps.pool, user.id, canonical);
          if (!mailbox)
            throw new DomainError("NONEXISTENT", `${user.username} has no mailbox named "${canonical}"`);
          write(deps.stdout, mailbox.append_limit === null ? "none" : String(mailbox.append_limit));
          return EXIT_OK;
        }
        const appendLimit = parseLimit(value);
        await setMailboxAppendLimit(ctx, { userId: user.id, name: canonical, appendLimit });
        write(deps.stdout, `append limit of ${canonical}: ${appendLimit ?? "none"}`);
        return EXIT_OK;
      }
      case undefined:
      case "help":
      case "--help":
        write(subcommand === undefined ? deps.stderr : deps.stdout, MAILBOX_USAGE);
        return subcommand === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        throw new UsageError(`unknown subcommand "${subcommand}"`);
    }
  });
}
