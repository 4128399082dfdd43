// The command side: one handler per intent (load exact state, decide, append and update the
// write model in one transaction), the pure deciders, and the domain errors.
export * from "./commit.ts";
export * from "./context.ts";
export * from "./errors.ts";
export * from "./flags.ts";
export * as mailboxAggregate from "./mailbox/decider.ts";
export * from "./mailbox/handlers.ts";
export * from "./messages/append.ts";
export * from "./messages/expunge.ts";
export * from "./messages/replace.ts";
export * from "./messages/store.ts";
export * from "./messages/transfer.ts";
export * from "./metadata/decider.ts";
export * from "./metadata/handlers.ts";
export * from "./names.ts";
export * from "./serverSecret.ts";
export * as userAggregate from "./user/decider.ts";
export * from "./user/handlers.ts";
export * from "./user/password.ts";
export * from "./user/username.ts";
export {
  findMailboxByName,
  findUserById,
  findUserByName,
  listMailboxRows,
  type MailboxRow,
  type MessageRow,
  type UserRow,
} from "./writeModel.ts";
