// The user aggregate (stream user-<id>): the account and its mailbox namespace. Pure: no I/O.
// Mailbox names here are canonical (names.ts); fresh mailbox ids and UIDVALIDITYs come in the
// command, drawn by the handler, so deciding stays deterministic.
import { MAX_UID, type SpecialUse } from "../../events/domain/common.ts";
import {
  mailboxAccessKeyReset,
  mailboxAclDeleted,
  mailboxAclSet,
  mailboxAppendLimitSet,
  mailboxCreated,
  mailboxDeleted,
  mailboxRenamed,
  mailboxSpecialUseSet,
  mailboxSubscribed,
  mailboxUnsubscribed,
  type UserEvent,
  type UserEventOfType,
  userAppendLimitSet,
  userCreated,
  userDeleted,
  userPasswordChanged,
  userQuotaSet,
} from "../../events/domain/userEvents.ts";
import { applyRightsChange, type RightsChange } from "../acl/rights.ts";
import { DomainError } from "../errors.ts";
import {
  canonicalMailboxName,
  INBOX,
  isInferiorOf,
  parentName,
  renamedName,
  superiorNames,
} from "../names.ts";

export interface MailboxEntry {
  mailboxId: string;
  name: string;
  status: "selectable" | "noselect";
  uidValidity: number;
  /**
   * As loaded from the write model (the handler locks the rows it retires), or as created:
   * messages arrive in the mailbox stream, which this aggregate does not follow.
   */
  uidNext: number;
  specialUse: SpecialUse | null;
  appendLimit: number | null;
}

export interface RetiredName {
  uidNext: number;
  uidValidities: readonly number[];
}

export interface UserState {
  status: "none" | "active" | "deleted";
  userId: string;
  username: string;
  passwordHash: string;
  appendLimit: number | null;
  /** Octets all the account's messages may take (RFC 9208 STORAGE); null: no quota. */
  storageLimit: number | null;
  mailboxes: ReadonlyMap<string, MailboxEntry>;
  subscriptions: ReadonlySet<string>;
  retiredNames: ReadonlyMap<string, RetiredName>;
  /** RFC 4314 ACLs by mailbox id, then by grantee (a user id, or "anyone"). */
  acl: ReadonlyMap<string, ReadonlyMap<string, AclEntry>>;
}

export interface AclEntry {
  /** The user name (or "anyone") as granted. */
  identifier: string;
  /** Canonical (rights.ts), never empty. */
  rights: string;
}

/** A fresh identity for a mailbox the command may create. */
export interface NewMailboxIdentity {
  mailboxId: string;
  /** Random, non-zero, 32-bit (as go-imap-sql); nudged if the name used it before. */
  uidValidity: number;
}

export type UserCommand =
  | {
      type: "CreateUser";
      userId: string;
      username: string;
      passwordHash: string;
      appendLimit: number | null;
      inbox: NewMailboxIdentity;
    }
  | { type: "ChangePassword"; passwordHash: string }
  | { type: "DeleteUser" }
  | { type: "SetUserAppendLimit"; appendLimit: number | null }
  | { type: "SetUserQuota"; storageLimit: number | null }
  /** `identities` needs one entry per level of the name (missing superiors are created). */
  | {
      type: "CreateMailbox";
      name: string;
      specialUse?: SpecialUse | null;
      identities: readonly NewMailboxIdentity[];
      /**
       * The UIDVALIDITY to give the named mailbox (an import keeping a store's), instead of its
       * identity's random one; a value this name had before is still never given again.
       */
      uidValidity?: number;
    }
  | { type: "DeleteMailbox"; name: string }
  | { type: "RenameMailbox"; from: string; to: string; identities: readonly NewMailboxIdentity[] }
  | { type: "SubscribeMailbox"; name: string }
  | { type: "UnsubscribeMailbox"; name: string }
  | { type: "SetMailboxSpecialUse"; name: string; specialUse: SpecialUse | null }
  | { type: "SetMailboxAppendLimit"; name: string; appendLimit: number | null }
  /** RESETKEY (RFC 4467): of one mailbox, or of all (name null); `salt` is fresh and random. */
  | { type: "ResetAccessKey"; name: string | null; salt: string }
  /**
   * SETACL (RFC 4314 3.1). `grantee` is the account's user id (resolved by the handler) or
   * "anyone"; `identifier` is how it is named.
   */
  | { type: "SetMailboxAcl"; name: string; grantee: string; identifier: string; change: RightsChange }
  /** DELETEACL (RFC 4314 3.2). */
  | { type: "DeleteMailboxAcl"; name: string; grantee: string; identifier: string };

export function initialState(): UserState {
  return {
    status: "none",
    userId: "",
    username: "",
    passwordHash: "",
    appendLimit: null,
    storageLimit: null,
    mailboxes: new Map(),
    subscriptions: new Set(),
    retiredNames: new Map(),
    acl: new Map(),
  };
}

function retire(retired: Map<string, RetiredName>, name: string, uidValidity: number, uidNext: number): void {
  const before = retired.get(name);
  retired.set(name, {
    uidNext: Math.max(before?.uidNext ?? 1, uidNext),
    uidValidities: before?.uidValidities.includes(uidValidity)
      ? before.uidValidities
      : [...(before?.uidValidities ?? []), uidValidity],
  });
}

export function evolve(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case "UserCreated":
      return {
        ...state,
        status: "active",
        userId: event.data.userId,
        username: event.data.username,
        passwordHash: event.data.passwordHash,
        appendLimit: event.data.appendLimit,
      };
    case "UserPasswordChanged":
      return { ...state, passwordHash: event.data.passwordHash };
    case "UserDeleted":
      return { ...state, status: "deleted", mailboxes: new Map(), subscriptions: new Set(), acl: new Map() };
    case "UserAppendLimitSet":
      return { ...state, appendLimit: event.data.appendLimit };
    case "UserQuotaSet":
      return { ...state, storageLimit: event.data.storageLimit };
    case "MailboxCreated": {
      const mailboxes = new Map(state.mailboxes);
      mailboxes.set(event.data.name, {
        mailboxId: event.data.mailboxId,
        name: event.data.name,
        status: "selectable",
        uidValidity: event.data.uidValidity,
        uidNext: event.data.uidNext,
        specialUse: event.data.specialUse,
        appendLimit: null,
      });
      return { ...state, mailboxes };
    }
    case "MailboxRenamed": {
      const mailboxes = new Map(state.mailboxes);
      const retiredNames = new Map(state.retiredNames);
      const moved = event.data.renames.map((rename) => {
        const entry = mailboxes.get(rename.from);
        mailboxes.delete(rename.from);
        retire(retiredNames, rename.from, rename.uidValidity, rename.uidNext);
        return { rename, entry };
      });
      for (const { rename, entry } of moved) {
        if (entry) mailboxes.set(rename.to, { ...entry, name: rename.to });
      }
      return { ...state, mailboxes, retiredNames };
    }
    case "MailboxDeleted": {
      const mailboxes = new Map(state.mailboxes);
      const retiredNames = new Map(state.retiredNames);
      const { name, keptAsNoselect } = event.data;
      const entry = mailboxes.get(name);
      if (keptAsNoselect && entry) mailboxes.set(name, { ...entry, status: "noselect" });
      else mailboxes.delete(name);
      retire(retiredNames, name, event.data.uidValidity, event.data.uidNext);
      // A deleted mailbox is shared with nobody: its ACL goes with it.
      const acl = new Map(state.acl);
      acl.delete(event.data.mailboxId);
      return { ...state, mailboxes, retiredNames, acl };
    }
    case "MailboxSubscribed":
      return { ...state, subscriptions: new Set([...state.subscriptions, event.data.name]) };
    case "MailboxUnsubscribed": {
      const subscriptions = new Set(state.subscriptions);
      subscriptions.delete(event.data.name);
      return { ...state, subscriptions };
    }
    // The salts and the metadata entries live in the index alone: the namespace decisions never
    // read them (SETMETADATA's limits are checked from the index, commands/metadata).
    case "MailboxAccessKeyReset":
    case "MetadataEntriesSet":
      return state;
    case "MailboxAclSet":
    case "MailboxAclDeleted": {
      const { mailboxId, identifier } = event.data;
      const grantee = event.data.granteeUserId ?? identifier;
      const entries = new Map(state.acl.get(mailboxId));
      if (event.type === "MailboxAclSet") entries.set(grantee, { identifier, rights: event.data.rights });
      else entries.delete(grantee);
      const acl = new Map(state.acl);
      if (entries.size > 0) acl.set(mailboxId, entries);
      else acl.delete(mailboxId);
      return { ...state, acl };
    }
    case "MailboxSpecialUseSet":
    case "MailboxAppendLimitSet": {
      const mailboxes = new Map(state.mailboxes);
      for (const [name, entry] of mailboxes) {
        if (entry.mailboxId !== event.data.mailboxId) continue;
        mailboxes.set(
          name,
          event.type === "MailboxSpecialUseSet"
            ? { ...entry, specialUse: event.data.specialUse }
            : { ...entry, appendLimit: event.data.appendLimit },
        );
      }
      return { ...state, mailboxes };
    }
    default: {
      const unknown: never = event;
      throw new Error(`unknown user event ${(unknown as { type: string }).type}`);
    }
  }
}

export function evolveAll(state: UserState, events: readonly UserEvent[]): UserState {
  return events.reduce(evolve, state);
}

function requireActive(state: UserState): void {
  if (state.status !== "active") throw new DomainError("NONEXISTENT", "no such user");
}

function requireMailbox(state: UserState, name: string): MailboxEntry {
  const entry = state.mailboxes.get(name);
  if (!entry) throw new DomainError("NONEXISTENT", `no mailbox named "${name}"`);
  return entry;
}

const event = <T extends UserEvent["type"]>(
  definition: { type: T; schemaVersion: number },
  data: UserEventOfType<T>["data"],
): UserEvent => ({ type: definition.type, schemaVersion: definition.schemaVersion, data }) as UserEvent;

/** A UIDVALIDITY the name has never had, starting from the random candidate. */
function freshUidValidity(candidate: number, retired: RetiredName | undefined): number {
  let value = candidate;
  while (retired?.uidValidities.includes(value)) value = (value % MAX_UID) + 1;
  return value;
}

/**
 * MailboxCreated events for the missing superiors of `name` and, unless `cause` is null, for
 * `name` itself. Missing superiors become real mailboxes (as go-imap-sql); an existing
 * \Noselect name is left as it is unless it is `name`.
 */
function creationEvents(
  state: UserState,
  name: string,
  cause: "create" | "inbox-rename" | null,
  identities: readonly NewMailboxIdentity[],
  specialUse: SpecialUse | null,
  uidValidity?: number,
): UserEvent[] {
  const events: UserEvent[] = [];
  let next = 0;
  const create = (mailboxName: string, mailboxCause: "create" | "superior" | "inbox-rename") => {
    const identity = identities[next++];
    if (!identity) throw new Error(`CreateMailbox needs a fresh identity per level of "${name}"`);
    const retired = state.retiredNames.get(mailboxName);
    const replaced = state.mailboxes.get(mailboxName);
    events.push(
      event(mailboxCreated, {
        mailboxId: identity.mailboxId,
        name: mailboxName,
        parentName: parentName(mailboxName),
        uidValidity: freshUidValidity(
          mailboxCause !== "superior" && uidValidity !== undefined ? uidValidity : identity.uidValidity,
          retired,
        ),
        uidNext: Math.max(retired?.uidNext ?? 1, replaced?.uidNext ?? 1),
        cause: mailboxCause,
        replacesMailboxId: replaced?.mailboxId ?? null,
        specialUse: mailboxCause === "superior" ? null : specialUse,
      }),
    );
  };
  for (const superior of superiorNames(name)) {
    if (!state.mailboxes.has(superior)) create(superior, "superior");
  }
  if (cause !== null) create(name, cause);
  return events;
}

export function decide(command: UserCommand, state: UserState): UserEvent[] {
  switch (command.type) {
    case "CreateUser": {
      if (state.status !== "none") throw new DomainError("ALREADYEXISTS", "this account already exists");
      const created = event(userCreated, {
        userId: command.userId,
        username: command.username,
        passwordHash: command.passwordHash,
        appendLimit: command.appendLimit,
      });
      return [created, ...creationEvents(initialState(), INBOX, "create", [command.inbox], null)];
    }
    case "ChangePassword":
      requireActive(state);
      return [event(userPasswordChanged, { passwordHash: command.passwordHash })];
    case "DeleteUser":
      requireActive(state);
      return [event(userDeleted, { username: state.username })];
    case "SetUserAppendLimit":
      requireActive(state);
      if (state.appendLimit === command.appendLimit) return [];
      return [event(userAppendLimitSet, { appendLimit: command.appendLimit })];
    case "SetUserQuota":
      requireActive(state);
      if (state.storageLimit === command.storageLimit) return [];
      return [event(userQuotaSet, { storageLimit: command.storageLimit })];
    case "CreateMailbox": {
      requireActive(state);
      const name = canonicalMailboxName(command.name);
      if (state.mailboxes.get(name)?.status === "selectable" || name === INBOX) {
        throw new DomainError("ALREADYEXISTS", `a mailbox named "${name}" already exists`);
      }
      return creationEvents(
        state,
        name,
        "create",
        command.identities,
        command.specialUse ?? null,
        command.uidValidity,
      );
    }
    case "DeleteMailbox": {
      requireActive(state);
      const name = canonicalMailboxName(command.name);
      if (name === INBOX) throw new DomainError("CANNOT", "INBOX cannot be deleted");
      const entry = requireMailbox(state, name);
      const hasInferiors = [...state.mailboxes.keys()].some((other) => isInferiorOf(other, name));
      if (hasInferiors && entry.status === "noselect") {
        throw new DomainError(
          "HASCHILDREN",
          `"${name}" has inferiors and holds no messages; delete those first`,
        );
      }
      return [
        event(mailboxDeleted, {
          mailboxId: entry.mailboxId,
          name,
          uidValidity: entry.uidValidity,
          uidNext: entry.uidNext,
          keptAsNoselect: hasInferiors,
        }),
      ];
    }
    case "RenameMailbox": {
      requireActive(state);
      const from = canonicalMailboxName(command.from);
      const to = canonicalMailboxName(command.to);
      const source = requireMailbox(state, from);
      if (to === INBOX || state.mailboxes.has(to)) {
        throw new DomainError("ALREADYEXISTS", `a mailbox named "${to}" already exists`);
      }
      if (from === INBOX) {
        // RFC 3501 6.3.5: INBOX stays (empty); its messages move to a new mailbox; its inferiors stay.
        return creationEvents(state, to, "inbox-rename", command.identities, null);
      }
      if (isInferiorOf(to, from)) throw new DomainError("CANNOT", `"${from}" cannot be moved under itself`);
      const affected = [
        source,
        ...[...state.mailboxes.values()].filter((entry) => isInferiorOf(entry.name, from)),
      ];
      const renames = affected
        .map((entry) => ({
          mailboxId: entry.mailboxId,
          from: entry.name,
          to: renamedName(entry.name, from, to),
          uidValidity: entry.uidValidity,
          uidNext: entry.uidNext,
        }))
        .sort((a, b) => (a.from < b.from ? -1 : 1));
      const taken = renames.find((rename) => state.mailboxes.has(rename.to));
      if (taken) throw new DomainError("ALREADYEXISTS", `a mailbox named "${taken.to}" already exists`);
      return [
        ...creationEvents(state, to, null, command.identities, null),
        event(mailboxRenamed, { renames }),
      ];
    }
    case "SubscribeMailbox": {
      requireActive(state);
      const name = canonicalMailboxName(command.name);
      return state.subscriptions.has(name) ? [] : [event(mailboxSubscribed, { name })];
    }
    case "UnsubscribeMailbox": {
      requireActive(state);
      const name = canonicalMailboxName(command.name);
      return state.subscriptions.has(name) ? [event(mailboxUnsubscribed, { name })] : [];
    }
    case "SetMailboxSpecialUse": {
      requireActive(state);
      const entry = requireMailbox(state, canonicalMailboxName(command.name));
      if (entry.status !== "selectable") throw new DomainError("CANNOT", `"${entry.name}" holds no messages`);
      if (entry.specialUse === command.specialUse) return [];
      return [event(mailboxSpecialUseSet, { mailboxId: entry.mailboxId, specialUse: command.specialUse })];
    }
    case "SetMailboxAppendLimit": {
      requireActive(state);
      const entry = requireMailbox(state, canonicalMailboxName(command.name));
      if (entry.status !== "selectable") throw new DomainError("CANNOT", `"${entry.name}" holds no messages`);
      if (entry.appendLimit === command.appendLimit) return [];
      return [event(mailboxAppendLimitSet, { mailboxId: entry.mailboxId, appendLimit: command.appendLimit })];
    }
    case "ResetAccessKey": {
      requireActive(state);
      if (command.name === null)
        return [event(mailboxAccessKeyReset, { mailboxId: null, salt: command.salt })];
      const entry = requireMailbox(state, canonicalMailboxName(command.name));
      if (entry.status !== "selectable") throw new DomainError("CANNOT", `"${entry.name}" holds no messages`);
      return [event(mailboxAccessKeyReset, { mailboxId: entry.mailboxId, salt: command.salt })];
    }
    case "SetMailboxAcl":
    case "DeleteMailboxAcl": {
      requireActive(state);
      const name = canonicalMailboxName(command.name);
      const entry = requireMailbox(state, name);
      if (command.grantee === state.userId) {
        throw new DomainError(
          "CANNOT",
          "the owner of a mailbox has every right on it; its ACL cannot change that",
        );
      }
      const current = state.acl.get(entry.mailboxId)?.get(command.grantee);
      const granteeUserId = command.grantee === command.identifier ? null : command.grantee;
      const rights =
        command.type === "SetMailboxAcl" ? applyRightsChange(current?.rights ?? "", command.change) : "";
      const base = { mailboxId: entry.mailboxId, name, identifier: command.identifier, granteeUserId };
      if (rights === "") return current ? [event(mailboxAclDeleted, base)] : [];
      if (current?.rights === rights) return [];
      return [event(mailboxAclSet, { ...base, rights })];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown user command ${(unknown as { type: string }).type}`);
    }
  }
}
