// Mailbox namespace commands (the user stream) and the mailbox streams they start or empty:
// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, special use, per-mailbox APPENDLIMIT.

import { randomBytes } from "node:crypto";
import type { DatabaseTransactionConnection } from "slonik";
import { ulid } from "ulid";
import type { SpecialUse } from "../../events/domain/common.ts";
import type { UserEvent } from "../../events/domain/userEvents.ts";
import { requireRights } from "../acl/handlers.ts";
import { commitChanges, type MailboxStreamChange } from "../commit.ts";
import { type DomainContext, inTransaction, randomUidValidity } from "../context.ts";
import { DomainError } from "../errors.ts";
import { canonicalMailboxName, INBOX, isInferiorOf, MAX_MAILBOX_NAME_LEVELS } from "../names.ts";
import {
  decide as decideUser,
  type NewMailboxIdentity,
  type UserCommand,
  type UserState,
} from "../user/decider.ts";
import type { CommandOutcome } from "../user/handlers.ts";
import {
  findUserById,
  incomingFrom,
  loadAllMessages,
  loadUserState,
  lockMailboxes,
  mailboxEntry,
  mailboxState,
  type UserRow,
} from "../writeModel.ts";
import { decide, evolveAll, initialState } from "./decider.ts";

function freshIdentities(): NewMailboxIdentity[] {
  return Array.from({ length: MAX_MAILBOX_NAME_LEVELS }, () => ({
    mailboxId: ulid().toLowerCase(),
    uidValidity: randomUidValidity(),
  }));
}

/** Starts the stream of every mailbox the user events create. */
function initializations(userId: string, events: readonly UserEvent[], now: Date): MailboxStreamChange[] {
  return events.flatMap((event) => {
    if (event.type !== "MailboxCreated") return [];
    const before = initialState(event.data.mailboxId);
    const command = {
      type: "InitializeMailbox" as const,
      mailboxId: event.data.mailboxId,
      userId,
      uidValidity: event.data.uidValidity,
      uidNext: event.data.uidNext,
    };
    return [{ before, events: decide(command, before, now) }];
  });
}

interface Locked {
  user: UserRow;
  state: UserState;
}

/** Locks the account, loads its namespace, then locks and refreshes the mailboxes `lockNames` picks. */
async function lockAccount(
  tx: DatabaseTransactionConnection,
  userId: string,
  lockNames: (state: UserState) => string[] = () => [],
): Promise<Locked> {
  const user = await findUserById(tx, userId, true);
  if (!user) throw new DomainError("NONEXISTENT", "no such user");
  const state = await loadUserState(tx, user);
  const ids = lockNames(state).flatMap((name) => {
    const entry = state.mailboxes.get(name);
    return entry ? [entry.mailboxId] : [];
  });
  if (ids.length === 0) return { user, state };
  // Appenders may have moved UIDNEXT since the namespace was read: the locked rows are exact.
  const rows = await lockMailboxes(tx, userId, ids);
  const mailboxes = new Map(state.mailboxes);
  for (const row of rows.values()) mailboxes.set(row.name, mailboxEntry(row));
  return { user, state: { ...state, mailboxes } };
}

async function simpleNamespaceCommand(ctx: DomainContext, userId: string, command: UserCommand) {
  return inTransaction(ctx, async (tx) => {
    const { user, state } = await lockAccount(tx, userId);
    const events = decideUser(command, state);
    const committed = await commitChanges(
      tx,
      userId,
      ctx.metadata,
      { expectedVersion: user.stream_version, events },
      initializations(userId, events, ctx.now()),
    );
    return { events, committed };
  });
}

export interface CreatedMailbox extends CommandOutcome {
  mailboxId: string;
  name: string;
  uidValidity: number;
  /** Every name created, missing superiors first. */
  created: string[];
}

export async function createMailbox(
  ctx: DomainContext,
  input: { userId: string; name: string; specialUse?: SpecialUse | null; uidValidity?: number },
): Promise<CreatedMailbox> {
  const { events, committed } = await simpleNamespaceCommand(ctx, input.userId, {
    type: "CreateMailbox",
    name: input.name,
    specialUse: input.specialUse ?? null,
    identities: freshIdentities(),
    ...(input.uidValidity !== undefined ? { uidValidity: input.uidValidity } : {}),
  });
  const created = events.flatMap((event) => (event.type === "MailboxCreated" ? [event.data] : []));
  const target = created.at(-1)!;
  return {
    mailboxId: target.mailboxId,
    name: target.name,
    uidValidity: target.uidValidity,
    created: created.map((data) => data.name),
    lastGlobalPosition: committed.lastGlobalPosition,
  };
}

export interface DeletedMailbox extends CommandOutcome {
  mailboxId: string;
  keptAsNoselect: boolean;
  expungedCount: number;
}

/** DELETE (RFC 3501 6.3.4): messages expunged; with inferiors the name stays as \Noselect. */
export async function deleteMailbox(
  ctx: DomainContext,
  input: {
    userId: string;
    name: string;
    /** Another user deleting the owner's mailbox (RFC 4314 4): needs "x" on it. */
    actorId?: string;
  },
): Promise<DeletedMailbox> {
  const name = canonicalMailboxName(input.name);
  return inTransaction(ctx, async (tx) => {
    const { user, state } = await lockAccount(tx, input.userId, () => [name]);
    const events = decideUser({ type: "DeleteMailbox", name }, state);
    const deleted = events.find((event) => event.type === "MailboxDeleted")!;
    const entry = state.mailboxes.get(name)!;
    if (input.actorId !== undefined && input.actorId !== input.userId) {
      await requireRights(tx, input.actorId, entry.mailboxId, "x", "DELETE");
    }
    const mailboxChanges: MailboxStreamChange[] = [];
    let expungedCount = 0;
    if (entry.status === "selectable") {
      const rows = await lockMailboxes(tx, input.userId, [entry.mailboxId]);
      const row = rows.get(entry.mailboxId)!;
      const before = mailboxState(row, await loadAllMessages(tx, row.id));
      expungedCount = before.messages.size;
      mailboxChanges.push({ before, events: decide({ type: "ExpungeAll" }, before, ctx.now()) });
    }
    const committed = await commitChanges(
      tx,
      input.userId,
      ctx.metadata,
      { expectedVersion: user.stream_version, events },
      mailboxChanges,
    );
    return {
      mailboxId: entry.mailboxId,
      keptAsNoselect: deleted.type === "MailboxDeleted" && deleted.data.keptAsNoselect,
      expungedCount,
      lastGlobalPosition: committed.lastGlobalPosition,
    };
  });
}

export interface RenamedMailbox extends CommandOutcome {
  /** Every mailbox renamed (the one named and its inferiors); empty for RENAME INBOX. */
  renamed: { mailboxId: string; from: string; to: string }[];
  /** RENAME INBOX: the new mailbox INBOX's messages moved to, and how many. */
  inboxMovedTo: { mailboxId: string; name: string; messageCount: number } | null;
}

/** RENAME (RFC 3501 6.3.5): inferiors follow; INBOX's messages move to a new mailbox instead. */
export async function renameMailbox(
  ctx: DomainContext,
  input: { userId: string; from: string; to: string },
): Promise<RenamedMailbox> {
  const from = canonicalMailboxName(input.from);
  return inTransaction(ctx, async (tx) => {
    const { user, state } = await lockAccount(tx, input.userId, (loaded) =>
      [...loaded.mailboxes.keys()].filter(
        (name) => name === from || (from !== INBOX && isInferiorOf(name, from)),
      ),
    );
    const events = decideUser(
      { type: "RenameMailbox", from, to: input.to, identities: freshIdentities() },
      state,
    );
    const now = ctx.now();
    const mailboxChanges = initializations(input.userId, events, now);
    let inboxMovedTo: RenamedMailbox["inboxMovedTo"] = null;
    if (from === INBOX) {
      const inboxEntry = state.mailboxes.get(INBOX)!;
      const inboxRow = (await lockMailboxes(tx, input.userId, [inboxEntry.mailboxId])).get(
        inboxEntry.mailboxId,
      )!;
      const messages = await loadAllMessages(tx, inboxRow.id);
      const created = events.findLast((event) => event.type === "MailboxCreated");
      if (created?.type !== "MailboxCreated") throw new Error("RENAME INBOX decided no new mailbox");
      const target = mailboxChanges.find((change) => change.before.mailboxId === created.data.mailboxId)!;
      const inbox = mailboxState(inboxRow, messages);
      if (messages.length > 0) {
        const received = decide(
          {
            type: "ReceiveMessages",
            mode: "move",
            sourceMailboxId: inboxRow.id,
            messages: incomingFrom(messages),
          },
          evolveAll(target.before, target.events),
          now,
        );
        target.events = [...target.events, ...received];
        mailboxChanges.push({
          before: inbox,
          events: decide(
            {
              type: "SendMessages",
              targetMailboxId: created.data.mailboxId,
              uids: messages.map((m) => m.uid),
            },
            inbox,
            now,
          ),
        });
      }
      inboxMovedTo = {
        mailboxId: created.data.mailboxId,
        name: created.data.name,
        messageCount: messages.length,
      };
    }
    const committed = await commitChanges(
      tx,
      input.userId,
      ctx.metadata,
      { expectedVersion: user.stream_version, events },
      mailboxChanges,
    );
    const renamed = events.flatMap((event) =>
      event.type === "MailboxRenamed"
        ? event.data.renames.map(({ mailboxId, from: old, to }) => ({ mailboxId, from: old, to }))
        : [],
    );
    return { renamed, inboxMovedTo, lastGlobalPosition: committed.lastGlobalPosition };
  });
}

export async function subscribeMailbox(ctx: DomainContext, input: { userId: string; name: string }) {
  const { committed } = await simpleNamespaceCommand(ctx, input.userId, {
    type: "SubscribeMailbox",
    name: input.name,
  });
  return { lastGlobalPosition: committed.lastGlobalPosition };
}

export async function unsubscribeMailbox(ctx: DomainContext, input: { userId: string; name: string }) {
  const { committed } = await simpleNamespaceCommand(ctx, input.userId, {
    type: "UnsubscribeMailbox",
    name: input.name,
  });
  return { lastGlobalPosition: committed.lastGlobalPosition };
}

/**
 * RESETKEY (RFC 4467 5.1): a new access key for one mailbox, or for every mailbox of the user
 * (name null); the URLs made with the old one fetch nothing from now on.
 */
export async function resetAccessKey(ctx: DomainContext, input: { userId: string; name: string | null }) {
  const { committed } = await simpleNamespaceCommand(ctx, input.userId, {
    type: "ResetAccessKey",
    name: input.name,
    salt: randomBytes(16).toString("hex"),
  });
  return { lastGlobalPosition: committed.lastGlobalPosition };
}

export async function setMailboxSpecialUse(
  ctx: DomainContext,
  input: { userId: string; name: string; specialUse: SpecialUse | null },
) {
  const { committed } = await simpleNamespaceCommand(ctx, input.userId, {
    type: "SetMailboxSpecialUse",
    name: input.name,
    specialUse: input.specialUse,
  });
  return { lastGlobalPosition: committed.lastGlobalPosition };
}

export async function setMailboxAppendLimit(
  ctx: DomainContext,
  input: { userId: string; name: string; appendLimit: number | null },
) {
  if (input.appendLimit !== null && (!Number.isSafeInteger(input.appendLimit) || input.appendLimit < 0)) {
    throw new DomainError("CANNOT", "an append limit is a non-negative whole number of octets");
  }
  const { committed } = await simpleNamespaceCommand(ctx, input.userId, {
    type: "SetMailboxAppendLimit",
    name: input.name,
    appendLimit: input.appendLimit,
  });
  return { lastGlobalPosition: committed.lastGlobalPosition };
}
