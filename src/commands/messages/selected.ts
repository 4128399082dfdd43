// The mailbox a command works on by id (the session's selected mailbox), locked.
import type { DatabaseTransactionConnection } from "slonik";
import { DomainError } from "../errors.ts";
import { lockMailboxWithMessages, type MailboxRow, type MessageRow } from "../writeModel.ts";

/** The selected mailbox, locked, with the messages a command works on (one round trip). */
export async function lockSelectedWithMessages(
  tx: DatabaseTransactionConnection,
  userId: string,
  mailboxId: string,
  uids: readonly number[] | "deleted",
): Promise<{ row: MailboxRow; messages: MessageRow[] }> {
  const locked = await lockMailboxWithMessages(tx, userId, mailboxId, uids);
  // Another session may have deleted it; a foreign id looks the same (isolation).
  if (locked?.row.status !== "selectable")
    throw new DomainError("NONEXISTENT", "the mailbox no longer exists");
  return locked;
}

export function validUids(uids: readonly number[]): number[] {
  return uids.filter((uid) => Number.isInteger(uid) && uid >= 1 && uid <= 0xffff_ffff);
}
