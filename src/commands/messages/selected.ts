// The mailbox a command works on by id (the session's selected mailbox), locked.
import type { DatabaseTransactionConnection } from "slonik";
import { DomainError } from "../errors.ts";
import { lockMailboxes, type MailboxRow } from "../writeModel.ts";

export async function lockSelectedMailbox(
  tx: DatabaseTransactionConnection,
  userId: string,
  mailboxId: string,
): Promise<MailboxRow> {
  const row = (await lockMailboxes(tx, userId, [mailboxId])).get(mailboxId);
  // Another session may have deleted it; a foreign id looks the same (isolation).
  if (row?.status !== "selectable") throw new DomainError("NONEXISTENT", "the mailbox no longer exists");
  return row;
}

export function validUids(uids: readonly number[]): number[] {
  return uids.filter((uid) => Number.isInteger(uid) && uid >= 1 && uid <= 0xffff_ffff);
}
