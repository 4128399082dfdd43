import { describe, expect, it } from "vitest";
import type { UserEvent } from "../../events/domain/userEvents.ts";
import { deciderSpec } from "../deciderSpec.ts";
import {
  decide,
  evolve,
  initialState,
  type NewMailboxIdentity,
  type UserCommand,
  type UserState,
} from "./decider.ts";

const given = deciderSpec<UserCommand, UserEvent, UserState>({ initialState, evolve, decide });

const ids = (...names: string[]): NewMailboxIdentity[] =>
  names.map((name, index) => ({ mailboxId: `mbx-${name}`, uidValidity: 1000 + index }));

const userCreated: UserEvent = {
  type: "UserCreated",
  schemaVersion: 1,
  data: { userId: "u1", username: "alice", passwordHash: "$argon2id$hash", appendLimit: null },
};
const created = (name: string, extra: Partial<Extract<UserEvent, { type: "MailboxCreated" }>["data"]> = {}) =>
  ({
    type: "MailboxCreated",
    schemaVersion: 1,
    data: {
      mailboxId: `mbx-${name}`,
      name,
      parentName: name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : null,
      uidValidity: 7,
      uidNext: 1,
      cause: "create",
      replacesMailboxId: null,
      specialUse: null,
      ...extra,
    },
  }) as UserEvent;
const account = [userCreated, created("INBOX")];

describe("user decider: the account", () => {
  it("creates a user with an INBOX", () => {
    given([])
      .when({
        type: "CreateUser",
        userId: "u1",
        username: "alice",
        passwordHash: "$argon2id$hash",
        appendLimit: null,
        inbox: { mailboxId: "mbx-INBOX", uidValidity: 7 },
      })
      .thenEvents(account);
  });

  it("refuses to create an account twice", () => {
    given(account)
      .when({
        type: "CreateUser",
        userId: "u1",
        username: "alice",
        passwordHash: "x",
        appendLimit: null,
        inbox: { mailboxId: "m", uidValidity: 1 },
      })
      .thenFails("ALREADYEXISTS");
  });

  it("changes the password", () => {
    given(account)
      .when({ type: "ChangePassword", passwordHash: "$argon2id$new" })
      .thenEvents([
        { type: "UserPasswordChanged", schemaVersion: 1, data: { passwordHash: "$argon2id$new" } },
      ]);
  });

  it("deletes the account, after which nothing else is accepted", () => {
    const deleted: UserEvent = { type: "UserDeleted", schemaVersion: 1, data: { username: "alice" } };
    given(account).when({ type: "DeleteUser" }).thenEvents([deleted]);
    given([...account, deleted])
      .when({ type: "DeleteUser" })
      .thenFails("NONEXISTENT");
    given([...account, deleted])
      .when({ type: "ChangePassword", passwordHash: "x" })
      .thenFails("NONEXISTENT");
    given([...account, deleted])
      .when({ type: "CreateMailbox", name: "a", identities: ids("a") })
      .thenFails("NONEXISTENT");
  });

  it("refuses every command for an account that does not exist", () => {
    given([]).when({ type: "ChangePassword", passwordHash: "x" }).thenFails("NONEXISTENT");
    given([]).when({ type: "SetUserAppendLimit", appendLimit: 5 }).thenFails("NONEXISTENT");
    given([]).when({ type: "SubscribeMailbox", name: "a" }).thenFails("NONEXISTENT");
  });

  it("resets the URLAUTH access key of one mailbox, or of all (RFC 4467 RESETKEY)", () => {
    const salt = "0123456789abcdef0123456789abcdef";
    given(account)
      .when({ type: "ResetAccessKey", name: "inbox", salt })
      .thenEvents([
        { type: "MailboxAccessKeyReset", schemaVersion: 1, data: { mailboxId: "mbx-INBOX", salt } },
      ]);
    given(account)
      .when({ type: "ResetAccessKey", name: null, salt })
      .thenEvents([{ type: "MailboxAccessKeyReset", schemaVersion: 1, data: { mailboxId: null, salt } }]);
    given(account).when({ type: "ResetAccessKey", name: "Nowhere", salt }).thenFails("NONEXISTENT");
    given([]).when({ type: "ResetAccessKey", name: null, salt }).thenFails("NONEXISTENT");
  });

  it("sets the user's append limit once", () => {
    given(account)
      .when({ type: "SetUserAppendLimit", appendLimit: 1024 })
      .thenEvents([{ type: "UserAppendLimitSet", schemaVersion: 1, data: { appendLimit: 1024 } }]);
    given(account).when({ type: "SetUserAppendLimit", appendLimit: 1024 }).thenIdempotent();
  });

  it("sets and removes the storage quota, once each", () => {
    given(account)
      .when({ type: "SetUserQuota", storageLimit: 4096 })
      .thenEvents([{ type: "UserQuotaSet", schemaVersion: 1, data: { storageLimit: 4096 } }]);
    given(account).when({ type: "SetUserQuota", storageLimit: 4096 }).thenIdempotent();
    given([...account, { type: "UserQuotaSet", schemaVersion: 1, data: { storageLimit: 4096 } }])
      .when({ type: "SetUserQuota", storageLimit: null })
      .thenEvents([{ type: "UserQuotaSet", schemaVersion: 1, data: { storageLimit: null } }]);
    given([]).when({ type: "SetUserQuota", storageLimit: 1 }).thenFails("NONEXISTENT");
  });
});

describe("user decider: CREATE", () => {
  it("creates a mailbox at the top level", () => {
    given(account)
      .when({ type: "CreateMailbox", name: "Work", identities: ids("Work") })
      .thenEvents([created("Work", { uidValidity: 1000 })]);
  });

  it("creates the missing superiors and ignores a trailing separator", () => {
    given([...account, created("a")])
      .when({ type: "CreateMailbox", name: "a/b/c/", identities: ids("a/b", "a/b/c") })
      .thenEvents([
        created("a/b", { uidValidity: 1000, cause: "superior" }),
        created("a/b/c", { uidValidity: 1001 }),
      ]);
  });

  it("gives the named mailbox a UIDVALIDITY an import asks for, never one the name had", () => {
    given(account)
      .when({ type: "CreateMailbox", name: "a/b", identities: ids("a", "a/b"), uidValidity: 4242 })
      .thenEvents([
        created("a", { uidValidity: 1000, cause: "superior" }),
        created("a/b", { uidValidity: 4242 }),
      ]);
  });

  it("refuses a name that exists, INBOX in any case included", () => {
    given([...account, created("a")])
      .when({ type: "CreateMailbox", name: "a", identities: ids("a") })
      .thenFails("ALREADYEXISTS");
    given(account)
      .when({ type: "CreateMailbox", name: "inbox", identities: ids("x") })
      .thenFails("ALREADYEXISTS");
  });

  it("refuses malformed names", () => {
    for (const name of ["", "/", "a//b", "/a", "a*", "a%b", "a\u0000b", "x".repeat(2000)]) {
      given(account)
        .when({ type: "CreateMailbox", name, identities: ids("a", "b", "c") })
        .thenFails("BADNAME");
    }
  });

  it("creates a special-use mailbox (RFC 6154 CREATE-SPECIAL-USE)", () => {
    given(account)
      .when({ type: "CreateMailbox", name: "Sent", specialUse: "\\Sent", identities: ids("Sent") })
      .thenEvents([created("Sent", { uidValidity: 1000, specialUse: "\\Sent" })]);
  });

  it("starts a recreated name above every UID it used, with a UIDVALIDITY it never had", () => {
    const deleted: UserEvent = {
      type: "MailboxDeleted",
      schemaVersion: 1,
      data: { mailboxId: "mbx-a", name: "a", uidValidity: 1000, uidNext: 42, keptAsNoselect: false },
    };
    given([...account, created("a", { uidValidity: 1000 }), deleted])
      .when({ type: "CreateMailbox", name: "a", identities: [{ mailboxId: "mbx-a2", uidValidity: 1000 }] })
      .thenEvents([created("a", { mailboxId: "mbx-a2", uidValidity: 1001, uidNext: 42 })]);
  });

  it("replaces a \\Noselect placeholder", () => {
    const deleted: UserEvent = {
      type: "MailboxDeleted",
      schemaVersion: 1,
      data: { mailboxId: "mbx-a", name: "a", uidValidity: 7, uidNext: 9, keptAsNoselect: true },
    };
    given([...account, created("a"), created("a/b"), deleted])
      .when({ type: "CreateMailbox", name: "a", identities: [{ mailboxId: "mbx-a2", uidValidity: 8 }] })
      .thenEvents([
        created("a", { mailboxId: "mbx-a2", uidValidity: 8, uidNext: 9, replacesMailboxId: "mbx-a" }),
      ]);
  });
});

describe("user decider: DELETE", () => {
  const deleted = (name: string, keptAsNoselect: boolean): UserEvent => ({
    type: "MailboxDeleted",
    schemaVersion: 1,
    data: { mailboxId: `mbx-${name}`, name, uidValidity: 7, uidNext: 1, keptAsNoselect },
  });

  it("deletes a mailbox without inferiors", () => {
    given([...account, created("a")])
      .when({ type: "DeleteMailbox", name: "a" })
      .thenEvents([deleted("a", false)]);
  });

  it("keeps a mailbox with inferiors as \\Noselect, and its inferiors", () => {
    const history = [...account, created("a"), created("a/b")];
    given(history)
      .when({ type: "DeleteMailbox", name: "a" })
      .thenEvents([deleted("a", true)]);
    const after = given([...history, deleted("a", true)]).state;
    expect(after.mailboxes.get("a")?.status).toBe("noselect");
    expect(after.mailboxes.get("a/b")?.status).toBe("selectable");
  });

  it("refuses to delete a \\Noselect name that still has inferiors (HASCHILDREN)", () => {
    given([...account, created("a"), created("a/b"), deleted("a", true)])
      .when({ type: "DeleteMailbox", name: "a" })
      .thenFails("HASCHILDREN");
  });

  it("deletes a \\Noselect name once its inferiors are gone", () => {
    given([...account, created("a"), created("a/b"), deleted("a", true), deleted("a/b", false)])
      .when({ type: "DeleteMailbox", name: "a" })
      .thenEvents([deleted("a", false)]);
  });

  it("refuses INBOX and names that do not exist", () => {
    given(account).when({ type: "DeleteMailbox", name: "Inbox" }).thenFails("CANNOT");
    given(account).when({ type: "DeleteMailbox", name: "nope" }).thenFails("NONEXISTENT");
  });
});

describe("user decider: RENAME", () => {
  const history = [...account, created("a"), created("a/b"), created("a/b/c"), created("ab")];

  it("renames a mailbox and its inferiors, not its lookalike siblings", () => {
    given(history)
      .when({ type: "RenameMailbox", from: "a", to: "z", identities: [] })
      .thenEvents([
        {
          type: "MailboxRenamed",
          schemaVersion: 1,
          data: {
            renames: [
              { mailboxId: "mbx-a", from: "a", to: "z", uidValidity: 7, uidNext: 1 },
              { mailboxId: "mbx-a/b", from: "a/b", to: "z/b", uidValidity: 7, uidNext: 1 },
              { mailboxId: "mbx-a/b/c", from: "a/b/c", to: "z/b/c", uidValidity: 7, uidNext: 1 },
            ],
          },
        },
      ]);
  });

  it("creates the missing superiors of the new name", () => {
    given(history)
      .when({ type: "RenameMailbox", from: "ab", to: "x/y/ab", identities: ids("x", "x/y") })
      .thenMatch([
        { type: "MailboxCreated", data: { name: "x", cause: "superior" } },
        { type: "MailboxCreated", data: { name: "x/y", cause: "superior" } },
        { type: "MailboxRenamed", data: { renames: [{ from: "ab", to: "x/y/ab" }] } },
      ]);
  });

  it("moves INBOX's messages to a new mailbox and keeps INBOX (RFC 3501 6.3.5)", () => {
    given(account)
      .when({ type: "RenameMailbox", from: "inbox", to: "Old", identities: ids("Old") })
      .thenEvents([created("Old", { uidValidity: 1000, cause: "inbox-rename" })]);
  });

  it("refuses: missing source, taken target, INBOX as target, a move under itself", () => {
    given(history)
      .when({ type: "RenameMailbox", from: "nope", to: "q", identities: [] })
      .thenFails("NONEXISTENT");
    given(history)
      .when({ type: "RenameMailbox", from: "a", to: "ab", identities: [] })
      .thenFails("ALREADYEXISTS");
    given(history)
      .when({ type: "RenameMailbox", from: "a", to: "INBOX", identities: [] })
      .thenFails("ALREADYEXISTS");
    given(history)
      .when({ type: "RenameMailbox", from: "a", to: "a/b/d", identities: [] })
      .thenFails("CANNOT");
  });

  it("retires the old names so a new mailbox there starts above them", () => {
    const renamed = given(history)
      .when({ type: "RenameMailbox", from: "ab", to: "cd", identities: [] })
      .events();
    given([...history, ...renamed])
      .when({ type: "CreateMailbox", name: "ab", identities: [{ mailboxId: "n", uidValidity: 7 }] })
      .thenMatch([{ type: "MailboxCreated", data: { name: "ab", uidValidity: 8 } }]);
  });
});

describe("user decider: subscriptions, special use, limits", () => {
  it("subscribes to any name, existing or not, once", () => {
    given(account)
      .when({ type: "SubscribeMailbox", name: "not/yet" })
      .thenEvents([{ type: "MailboxSubscribed", schemaVersion: 1, data: { name: "not/yet" } }]);
    given(account).when({ type: "SubscribeMailbox", name: "inbox" }).thenIdempotent();
  });

  it("unsubscribes a subscribed name; unsubscribing another changes nothing", () => {
    const subscribed: UserEvent = { type: "MailboxSubscribed", schemaVersion: 1, data: { name: "a" } };
    given([...account, subscribed])
      .when({ type: "UnsubscribeMailbox", name: "a" })
      .thenEvents([{ type: "MailboxUnsubscribed", schemaVersion: 1, data: { name: "a" } }]);
    given(account).when({ type: "UnsubscribeMailbox", name: "a" }).thenEvents([]);
  });

  it("sets and clears special use on an existing mailbox", () => {
    given([...account, created("S")])
      .when({ type: "SetMailboxSpecialUse", name: "S", specialUse: "\\Sent" })
      .thenEvents([
        {
          type: "MailboxSpecialUseSet",
          schemaVersion: 1,
          data: { mailboxId: "mbx-S", specialUse: "\\Sent" },
        },
      ]);
    given([...account, created("S", { specialUse: "\\Sent" })])
      .when({ type: "SetMailboxSpecialUse", name: "S", specialUse: null })
      .thenEvents([
        { type: "MailboxSpecialUseSet", schemaVersion: 1, data: { mailboxId: "mbx-S", specialUse: null } },
      ]);
    given(account)
      .when({ type: "SetMailboxSpecialUse", name: "S", specialUse: "\\Sent" })
      .thenFails("NONEXISTENT");
  });

  it("sets a mailbox append limit, not on a \\Noselect name", () => {
    given(account)
      .when({ type: "SetMailboxAppendLimit", name: "INBOX", appendLimit: 10 })
      .thenEvents([
        {
          type: "MailboxAppendLimitSet",
          schemaVersion: 1,
          data: { mailboxId: "mbx-INBOX", appendLimit: 10 },
        },
      ]);
    given(account).when({ type: "SetMailboxAppendLimit", name: "INBOX", appendLimit: 10 }).thenIdempotent();
    const noselect: UserEvent = {
      type: "MailboxDeleted",
      schemaVersion: 1,
      data: { mailboxId: "mbx-a", name: "a", uidValidity: 7, uidNext: 1, keptAsNoselect: true },
    };
    given([...account, created("a"), created("a/b"), noselect])
      .when({ type: "SetMailboxAppendLimit", name: "a", appendLimit: 1 })
      .thenFails("CANNOT");
  });
});

describe("user decider: evolve", () => {
  it("applying each event of a history twice in a row changes nothing the second time", () => {
    const history = given([...account, created("a"), created("a/b")])
      .when({ type: "RenameMailbox", from: "a", to: "b", identities: [] })
      .events();
    const all = [...account, created("a"), created("a/b"), ...history];
    const once = all.reduce(evolve, initialState());
    const twice = all.reduce((state, event) => evolve(evolve(state, event), event), initialState());
    expect([...twice.mailboxes.keys()].sort()).toEqual([...once.mailboxes.keys()].sort());
    expect(twice.retiredNames).toEqual(once.retiredNames);
  });
});

describe("user decider: access control lists (RFC 4314)", () => {
  const aclSet = (rights: string, identifier = "bob", granteeUserId: string | null = "u-bob"): UserEvent => ({
    type: "MailboxAclSet",
    schemaVersion: 1,
    data: { mailboxId: "mbx-Team", name: "Team", identifier, granteeUserId, rights },
  });
  const aclDeleted = (identifier = "bob", granteeUserId: string | null = "u-bob"): UserEvent => ({
    type: "MailboxAclDeleted",
    schemaVersion: 1,
    data: { mailboxId: "mbx-Team", name: "Team", identifier, granteeUserId },
  });
  const team = [...account, created("Team")];
  const set = (
    rights: string,
    mode: "replace" | "add" | "remove" = "replace",
  ): Extract<UserCommand, { type: "SetMailboxAcl" }> => ({
    type: "SetMailboxAcl",
    name: "Team",
    grantee: "u-bob",
    identifier: "bob",
    change: { mode, rights },
  });

  it("grants, adds, removes; an entry left with no right is deleted", () => {
    given(team)
      .when(set("lr"))
      .thenEvents([aclSet("lr")]);
    given([...team, aclSet("lr")])
      .when(set("ws", "add"))
      .thenEvents([aclSet("lrsw")]);
    given([...team, aclSet("lrsw")])
      .when(set("rs", "remove"))
      .thenEvents([aclSet("lw")]);
    given([...team, aclSet("lr")])
      .when(set("lr", "remove"))
      .thenEvents([aclDeleted()]);
    given([...team, aclSet("lr")])
      .when(set(""))
      .thenEvents([aclDeleted()]);
  });

  it("decides nothing when nothing changes", () => {
    given([...team, aclSet("lr")])
      .when(set("lr"))
      .thenEvents([]);
    given(team)
      .when({ type: "DeleteMailboxAcl", name: "Team", grantee: "u-bob", identifier: "bob" })
      .thenEvents([]);
    given([...team, aclSet("lr"), aclDeleted()])
      .when(set("l", "remove"))
      .thenEvents([]);
  });

  it('grants "anyone" with no account behind it', () => {
    given(team)
      .when({
        type: "SetMailboxAcl",
        name: "Team",
        grantee: "anyone",
        identifier: "anyone",
        change: { mode: "replace", rights: "l" },
      })
      .thenEvents([aclSet("l", "anyone", null)]);
  });

  it("refuses the owner, and a mailbox that does not exist", () => {
    given(team)
      .when({
        type: "SetMailboxAcl",
        name: "Team",
        grantee: "u1",
        identifier: "alice",
        change: { mode: "replace", rights: "l" },
      })
      .thenFails("CANNOT");
    given(team)
      .when({ ...set("lr"), name: "Nope" })
      .thenFails("NONEXISTENT");
  });

  it("forgets a deleted mailbox's ACL: a new mailbox of that name is shared with nobody", () => {
    const deleted: UserEvent = {
      type: "MailboxDeleted",
      schemaVersion: 1,
      data: { mailboxId: "mbx-Team", name: "Team", uidValidity: 7, uidNext: 1, keptAsNoselect: false },
    };
    given([...team, aclSet("lr"), deleted, created("Team", { mailboxId: "mbx-Team2" })])
      .when({ type: "DeleteMailboxAcl", name: "Team", grantee: "u-bob", identifier: "bob" })
      .thenEvents([]);
  });
});
