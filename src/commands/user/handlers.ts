// Account commands: create, delete, change password, set append limit, verify credentials.
import type { DatabasePool } from "slonik";
import { ulid } from "ulid";
import { commitChanges } from "../commit.ts";
import { type DomainContext, inTransaction, isUniqueViolation, randomUidValidity } from "../context.ts";
import { DomainError } from "../errors.ts";
import { decide as decideMailbox, initialState as initialMailboxState } from "../mailbox/decider.ts";
import { findUserByName, listUserRows, loadUserState } from "../writeModel.ts";
import { decide, initialState, type UserCommand } from "./decider.ts";
import { checkPassword, hashPassword } from "./password.ts";
import { canonicalUsername } from "./username.ts";

export interface CommandOutcome {
  /** The position the gateway waits for projections to reach; null if nothing changed. */
  lastGlobalPosition: number | null;
}

function validAppendLimit(appendLimit: number | null): number | null {
  if (appendLimit !== null && (!Number.isSafeInteger(appendLimit) || appendLimit < 0)) {
    throw new DomainError("CANNOT", "an append limit is a non-negative whole number of octets");
  }
  return appendLimit;
}

export interface CreateUserInput {
  username: string;
  password: string;
  appendLimit?: number | null;
}

export interface CreatedUser extends CommandOutcome {
  userId: string;
  username: string;
  inboxMailboxId: string;
}

/** Creates an account and its INBOX. */
export async function createUser(ctx: DomainContext, input: CreateUserInput): Promise<CreatedUser> {
  const username = canonicalUsername(input.username);
  const appendLimit = validAppendLimit(input.appendLimit ?? null);
  const passwordHash = await hashPassword(input.password);
  const userId = ulid().toLowerCase();
  const inbox = { mailboxId: ulid().toLowerCase(), uidValidity: randomUidValidity() };
  try {
    return await inTransaction(ctx, async (tx) => {
      if (await findUserByName(tx, username)) {
        throw new DomainError("ALREADYEXISTS", `a user named "${username}" already exists`);
      }
      const events = decide(
        { type: "CreateUser", userId, username, passwordHash, appendLimit, inbox },
        initialState(),
      );
      const inboxEvents = decideMailbox(
        {
          type: "InitializeMailbox",
          mailboxId: inbox.mailboxId,
          userId,
          uidValidity: inbox.uidValidity,
          uidNext: 1,
        },
        initialMailboxState(inbox.mailboxId),
        ctx.now(),
      );
      const committed = await commitChanges(tx, userId, ctx.metadata, { expectedVersion: 0, events }, [
        { before: initialMailboxState(inbox.mailboxId), events: inboxEvents },
      ]);
      return {
        userId,
        username,
        inboxMailboxId: inbox.mailboxId,
        lastGlobalPosition: committed.lastGlobalPosition,
      };
    });
  } catch (error) {
    // Two creations of one name at once: the unique index lets one through.
    if (isUniqueViolation(error))
      throw new DomainError("ALREADYEXISTS", `a user named "${username}" already exists`);
    throw error;
  }
}

/** Runs a user-stream command on the account named, under its row lock. */
async function onAccount(
  ctx: DomainContext,
  rawUsername: string,
  command: UserCommand,
): Promise<CommandOutcome & { userId: string }> {
  const username = canonicalUsername(rawUsername);
  return inTransaction(ctx, async (tx) => {
    const user = await findUserByName(tx, username, true);
    if (!user) throw new DomainError("NONEXISTENT", `no user named "${username}"`);
    const events = decide(command, await loadUserState(tx, user));
    const committed = await commitChanges(
      tx,
      user.id,
      ctx.metadata,
      { expectedVersion: user.stream_version, events },
      [],
    );
    return { userId: user.id, lastGlobalPosition: committed.lastGlobalPosition };
  });
}

/** Deletes an account with all its mailboxes; their bodies go at the next garbage collection. */
export async function deleteUser(ctx: DomainContext, input: { username: string }) {
  return onAccount(ctx, input.username, { type: "DeleteUser" });
}

export async function changePassword(ctx: DomainContext, input: { username: string; password: string }) {
  const passwordHash = await hashPassword(input.password);
  return onAccount(ctx, input.username, { type: "ChangePassword", passwordHash });
}

export async function setUserAppendLimit(
  ctx: DomainContext,
  input: { username: string; appendLimit: number | null },
) {
  return onAccount(ctx, input.username, {
    type: "SetUserAppendLimit",
    appendLimit: validAppendLimit(input.appendLimit),
  });
}

/** The account's storage quota in octets (RFC 9208 STORAGE); null removes it. */
export async function setUserQuota(
  ctx: DomainContext,
  input: { username: string; storageLimit: number | null },
) {
  if (input.storageLimit !== null && (!Number.isSafeInteger(input.storageLimit) || input.storageLimit < 0)) {
    throw new DomainError("CANNOT", "a storage quota is a non-negative whole number of octets");
  }
  return onAccount(ctx, input.username, { type: "SetUserQuota", storageLimit: input.storageLimit });
}

export type CredentialCheck = { ok: true; userId: string; username: string } | { ok: false };

/**
 * LOGIN / AUTHENTICATE PLAIN. A wrong password or unknown user is a result, not an exception,
 * and takes about as long either way. The gateway answers NO [AUTHENTICATIONFAILED].
 */
export async function verifyCredentials(
  deps: { pool: DatabasePool },
  input: { username: string; password: string },
): Promise<CredentialCheck> {
  let username: string;
  try {
    username = canonicalUsername(input.username);
  } catch {
    await checkPassword(null, input.password);
    return { ok: false };
  }
  const user = await findUserByName(deps.pool, username);
  const ok = await checkPassword(user?.password_hash ?? null, input.password);
  return ok && user ? { ok: true, userId: user.id, username: user.username } : { ok: false };
}

export interface UserSummary {
  userId: string;
  username: string;
  appendLimit: number | null;
  /** Octets all the account's messages may take; null: no quota. */
  storageLimit: number | null;
  createdAt: Date;
}

export async function listUsers(deps: { pool: DatabasePool }): Promise<UserSummary[]> {
  const rows = await listUserRows(deps.pool);
  return rows.map((row) => ({
    userId: row.id,
    username: row.username,
    appendLimit: row.append_limit,
    storageLimit: row.storage_limit,
    createdAt: new Date(row.created_at),
  }));
}

export async function findUser(
  deps: { pool: DatabasePool },
  rawUsername: string,
): Promise<UserSummary | null> {
  const row = await findUserByName(deps.pool, canonicalUsername(rawUsername));
  return row
    ? {
        userId: row.id,
        username: row.username,
        appendLimit: row.append_limit,
        storageLimit: row.storage_limit,
        createdAt: new Date(row.created_at),
      }
    : null;
}
