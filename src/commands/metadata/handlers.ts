// METADATA (RFC 5464) on the command side: SETMETADATA decides under the account's lock from the
// entries the index holds (committed with their events, never a lagging view), and GETMETADATA
// reads the same table.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { commitChanges } from "../commit.ts";
import { type DomainContext, inTransaction } from "../context.ts";
import { DomainError } from "../errors.ts";
import { canonicalMailboxName } from "../names.ts";
import { findMailboxByName, findUserById, SERVER_METADATA_MAILBOX_ID } from "../writeModel.ts";
import {
  canonicalEntryName,
  DEFAULT_METADATA_LIMITS,
  decideSetMetadata,
  type MetadataChange,
  type MetadataLimits,
} from "./decider.ts";

const entryRow = z.object({ name: z.string(), value: z.string() });

/** The annotated mailbox's id, "" for the server (mailbox name ""); NONEXISTENT if there is none. */
async function annotatedMailboxId(
  db: CommonQueryMethods,
  userId: string,
  mailbox: string,
): Promise<{ mailboxId: string | null; name: string }> {
  if (mailbox === "") return { mailboxId: null, name: "" };
  const name = canonicalMailboxName(mailbox);
  const row = await findMailboxByName(db, userId, name);
  if (!row) throw new DomainError("NONEXISTENT", `no mailbox named "${name}"`);
  return { mailboxId: row.id, name: row.name };
}

async function entriesOf(
  db: CommonQueryMethods,
  userId: string,
  mailboxId: string | null,
): Promise<Map<string, string>> {
  const rows = await db.any(sql.type(entryRow)`
    SELECT name, value FROM metadata_entries
    WHERE user_id = ${userId} AND mailbox_id = ${mailboxId ?? SERVER_METADATA_MAILBOX_ID}
    ORDER BY name`);
  return new Map(rows.map((row) => [row.name, row.value]));
}

/** SETMETADATA: every change or none (RFC 5464 4.3). */
export async function setMetadata(
  ctx: DomainContext,
  input: {
    userId: string;
    /** "" for the server's entries. */
    mailbox: string;
    changes: readonly MetadataChange[];
    limits?: MetadataLimits;
  },
): Promise<{ lastGlobalPosition: number | null }> {
  return inTransaction(ctx, async (tx) => {
    // The account's row lock serializes its namespace commands: DELETE cannot pass in between.
    const user = await findUserById(tx, input.userId, true);
    if (!user) throw new DomainError("NONEXISTENT", "no such user");
    const { mailboxId } = await annotatedMailboxId(tx, input.userId, input.mailbox);
    const current = await entriesOf(tx, input.userId, mailboxId);
    const events = decideSetMetadata(
      { mailboxId, changes: input.changes },
      current,
      input.limits ?? DEFAULT_METADATA_LIMITS,
    );
    const committed = await commitChanges(
      tx,
      input.userId,
      ctx.metadata,
      { expectedVersion: user.stream_version, events },
      [],
    );
    return { lastGlobalPosition: committed.lastGlobalPosition };
  });
}

/** RFC 5464 4.2.2: "0" the entries named, "1" and their children, "infinity" every descendant. */
export type MetadataDepth = "0" | "1" | "infinity";

export interface MetadataEntry {
  readonly name: string;
  /** null: the entry named does not exist. */
  readonly value: string | null;
}

export interface MetadataRead {
  /** The mailbox as stored ("" for the server). */
  readonly mailbox: string;
  /** Each entry named (null when it does not exist), then the descendants DEPTH asks for, by name. */
  readonly entries: readonly MetadataEntry[];
  /** RFC 5464 4.2.1: the largest value left out for MAXSIZE, undefined when none was. */
  readonly longestOmitted: number | undefined;
}

/** GETMETADATA from the index. */
export async function getMetadata(
  deps: { pool: CommonQueryMethods },
  input: {
    userId: string;
    mailbox: string;
    entries: readonly string[];
    depth?: MetadataDepth;
    maxSize?: number;
    limits?: MetadataLimits;
  },
): Promise<MetadataRead> {
  const limits = input.limits ?? DEFAULT_METADATA_LIMITS;
  const names = input.entries.map((name) => canonicalEntryName(name, limits, { root: true }));
  const { mailboxId, name: mailbox } = await annotatedMailboxId(deps.pool, input.userId, input.mailbox);
  const stored = await entriesOf(deps.pool, input.userId, mailboxId);
  const depth = input.depth ?? "0";
  const picked = new Map<string, string | null>();
  for (const name of names) {
    picked.set(name, stored.get(name) ?? null);
    if (depth === "0") continue;
    for (const [other, value] of stored) {
      if (!other.startsWith(`${name}/`)) continue;
      if (depth === "1" && other.slice(name.length + 1).includes("/")) continue;
      picked.set(other, value);
    }
  }
  let longestOmitted: number | undefined;
  const entries: MetadataEntry[] = [];
  for (const [name, value] of picked) {
    const size = value === null ? 0 : Buffer.byteLength(value, "utf8");
    if (input.maxSize !== undefined && value !== null && size > input.maxSize) {
      longestOmitted = Math.max(longestOmitted ?? 0, size);
      continue;
    }
    entries.push({ name, value });
  }
  return { mailbox, entries, longestOmitted };
}
