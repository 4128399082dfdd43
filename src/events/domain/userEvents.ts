// Events of the user stream (`user-<userId>`): the account and its mailbox namespace
// (DESIGN.md, Events). Mailbox names follow common.ts: UTF-8, separator "/", INBOX
// case-insensitive and stored as "INBOX".
import { z } from "zod";
import {
  appendLimitSchema,
  mailboxIdSchema,
  mailboxNameSchema,
  specialUseSchema,
  uidNextSchema,
  uidValiditySchema,
} from "./common.ts";
import { defineEvent, type EventOf } from "./eventDefinition.ts";

export const userCreated = defineEvent(
  "UserCreated",
  1,
  z.object({
    userId: z.string().min(1),
    /** Lowercased (see src/commands/user/username.ts): user names compare case-insensitively. */
    username: z.string().min(1),
    /** PHC string of an argon2id hash; the password itself is never recorded. */
    passwordHash: z.string().min(1),
    appendLimit: appendLimitSchema,
  }),
);

export const userPasswordChanged = defineEvent(
  "UserPasswordChanged",
  1,
  z.object({ passwordHash: z.string().min(1) }),
);

/** The account and every mailbox in it are gone; the name may be reused by a new account. */
export const userDeleted = defineEvent("UserDeleted", 1, z.object({ username: z.string().min(1) }));

export const userAppendLimitSet = defineEvent(
  "UserAppendLimitSet",
  1,
  z.object({ appendLimit: appendLimitSchema }),
);

/**
 * The account's storage quota (RFC 9208 STORAGE): the octets its messages may take in all, null
 * for none. An APPEND or COPY that would go above it is refused; nothing already stored goes.
 */
export const userQuotaSet = defineEvent(
  "UserQuotaSet",
  1,
  z.object({ storageLimit: z.number().int().min(0).nullable() }),
);

/** Why a mailbox came to exist. */
export const mailboxCreationCause = z.enum([
  /** CREATE, or the INBOX every account gets. */
  "create",
  /** A missing superior of a name given to CREATE or RENAME (RFC 3501 6.3.3, 6.3.5). */
  "superior",
  /** The mailbox RENAME INBOX moves INBOX's messages to (RFC 3501 6.3.5). */
  "inbox-rename",
]);

export const mailboxCreated = defineEvent(
  "MailboxCreated",
  1,
  z.object({
    mailboxId: mailboxIdSchema,
    name: mailboxNameSchema,
    /** The name one level up, null at the top of the hierarchy. */
    parentName: mailboxNameSchema.nullable(),
    uidValidity: uidValiditySchema,
    /** The first UID the mailbox will assign: above every UID an earlier mailbox of this name used. */
    uidNext: uidNextSchema,
    cause: mailboxCreationCause,
    /** A \Noselect placeholder of the same name this mailbox replaces (see MailboxDeleted). */
    replacesMailboxId: mailboxIdSchema.nullable(),
    specialUse: specialUseSchema.nullable(),
  }),
);

/** One RENAME: the mailbox named and every inferior, each with its old and new name. */
export const mailboxRenamed = defineEvent(
  "MailboxRenamed",
  1,
  z.object({
    renames: z
      .array(
        z.object({
          mailboxId: mailboxIdSchema,
          from: mailboxNameSchema,
          to: mailboxNameSchema,
          /** Retired with the old name, so a new mailbox of that name starts above it. */
          uidValidity: uidValiditySchema,
          uidNext: uidNextSchema,
        }),
      )
      .min(1),
  }),
);

/**
 * DELETE. A mailbox with inferiors keeps its name as a \Noselect placeholder with no messages
 * (RFC 3501 6.3.4); otherwise the name is free. Its UIDVALIDITY and UIDNEXT are retired with
 * the name, so a new mailbox of that name never reuses a UID.
 */
export const mailboxDeleted = defineEvent(
  "MailboxDeleted",
  1,
  z.object({
    mailboxId: mailboxIdSchema,
    name: mailboxNameSchema,
    uidValidity: uidValiditySchema,
    uidNext: uidNextSchema,
    keptAsNoselect: z.boolean(),
  }),
);

/** RFC 3501 6.3.6: a name is subscribed whether or not a mailbox of that name exists. */
export const mailboxSubscribed = defineEvent("MailboxSubscribed", 1, z.object({ name: mailboxNameSchema }));
export const mailboxUnsubscribed = defineEvent(
  "MailboxUnsubscribed",
  1,
  z.object({ name: mailboxNameSchema }),
);

export const mailboxSpecialUseSet = defineEvent(
  "MailboxSpecialUseSet",
  1,
  z.object({ mailboxId: mailboxIdSchema, specialUse: specialUseSchema.nullable() }),
);

export const mailboxAppendLimitSet = defineEvent(
  "MailboxAppendLimitSet",
  1,
  z.object({ mailboxId: mailboxIdSchema, appendLimit: appendLimitSchema }),
);

/**
 * RESETKEY (RFC 4467 5.1): the mailbox access key of one mailbox (mailboxId), or of every mailbox
 * of the account (null), is replaced, so every URLAUTH URL made with the old one stops working.
 * The event names a new random salt, not a key: a URL's token is an HMAC under the server's own
 * secret (kept out of the log and the topic) of the salts in force and the URL, so whoever reads
 * the log cannot make tokens.
 */
export const mailboxAccessKeyReset = defineEvent(
  "MailboxAccessKeyReset",
  1,
  z.object({ mailboxId: mailboxIdSchema.nullable(), salt: z.string().min(16) }),
);

/**
 * SETMETADATA (RFC 5464): entries of one mailbox (mailboxId), or of the server (null), set or
 * removed (value null), all or none. Names are lower-cased (entry names compare
 * case-insensitively) and start with /private/ or /shared/; /private/ entries belong to the
 * account whose stream records the event. A renamed mailbox keeps its entries (they follow its
 * id); a deleted one loses them with it (MailboxDeleted).
 */
export const metadataEntriesSet = defineEvent(
  "MetadataEntriesSet",
  1,
  z.object({
    mailboxId: mailboxIdSchema.nullable(),
    entries: z
      .array(z.object({ name: z.string().regex(/^\/(private|shared)\/./), value: z.string().nullable() }))
      .min(1),
  }),
);

/**
 * An access control list entry of one mailbox is set (RFC 4314 SETACL): `identifier` (a user
 * name, or "anyone") now has exactly `rights`, never empty (an entry left with no rights is
 * MailboxAclDeleted). `granteeUserId` names the account the grant is for, null for "anyone", so a
 * later account of the same name gets nothing. The actor in the metadata is who granted it.
 */
export const mailboxAclSet = defineEvent(
  "MailboxAclSet",
  1,
  z.object({
    mailboxId: mailboxIdSchema,
    name: mailboxNameSchema,
    identifier: z.string().min(1),
    granteeUserId: z.string().min(1).nullable(),
    rights: z.string().regex(/^[lrswipkxtea]+$/),
  }),
);

/** The ACL entry of `identifier` on one mailbox is gone (DELETEACL, or SETACL to no rights). */
export const mailboxAclDeleted = defineEvent(
  "MailboxAclDeleted",
  1,
  z.object({
    mailboxId: mailboxIdSchema,
    name: mailboxNameSchema,
    identifier: z.string().min(1),
    granteeUserId: z.string().min(1).nullable(),
  }),
);

export const userEventDefinitions = [
  userCreated,
  userPasswordChanged,
  userDeleted,
  userAppendLimitSet,
  userQuotaSet,
  mailboxCreated,
  mailboxRenamed,
  mailboxDeleted,
  mailboxSubscribed,
  mailboxUnsubscribed,
  mailboxSpecialUseSet,
  mailboxAppendLimitSet,
  mailboxAccessKeyReset,
  metadataEntriesSet,
  mailboxAclSet,
  mailboxAclDeleted,
] as const;

export type UserEvent = EventOf<(typeof userEventDefinitions)[number]>;
export type UserEventType = UserEvent["type"];
export type UserEventOfType<T extends UserEventType> = Extract<UserEvent, { type: T }>;
