// STATUS (RFC 3501 6.3.10) with HIGHESTMODSEQ (RFC 7162), SIZE (RFC 8438), DELETED (RFC 9051)
// and APPENDLIMIT (RFC 7889). The STATUS data of one mailbox is also what LIST-STATUS (RFC 5819)
// returns, so the values and their encoding live here.
import { effectiveAppendLimit, findUserById } from "../../commands/index.ts";
import { unclaimedRecentCount } from "../../commands/recent.ts";
import type { MailboxStatus } from "../../projections/queries/index.ts";
import { encodeMailbox, type StatusItem } from "../codec/index.ts";
import { bad, no } from "../errors.ts";
import { enableCondstore } from "../mail/commandSupport.ts";
import type { MailServices } from "../mail/services.ts";
import { queriesAs, resolveMailboxName } from "../mail/sharedNamespace.ts";
import { speaksRev2, utf8Names } from "../modes.ts";
import { AUTHENTICATED_OR_SELECTED, type CommandContext, defineCommand } from "../module.ts";
import type { GatewayLimits } from "../options.ts";
import { SelectedMailbox } from "../selected/mailbox.ts";

/** What the items of one STATUS response are computed from. */
export interface StatusFacts {
  readonly status: MailboxStatus;
  /** \Recent messages: this session's in its selected mailbox, elsewhere those nobody claimed yet. */
  readonly recent: number;
  /** Messages with \Deleted, when DELETED was asked. */
  readonly deleted: number | undefined;
  /** The APPEND limit in force for this mailbox (null: none), when APPENDLIMIT was asked. */
  readonly appendLimit: number | null | undefined;
}

/** `ITEM value` pairs in the order the client asked for them (RFC 3501 7.2.4). */
export function formatStatusItems(items: readonly StatusItem[], facts: StatusFacts): string {
  const { status } = facts;
  const values = items.map((item) => {
    switch (item) {
      case "MESSAGES":
        return `MESSAGES ${status.messages}`;
      case "RECENT":
        return `RECENT ${facts.recent}`;
      case "UIDNEXT":
        return `UIDNEXT ${status.uidNext}`;
      case "UIDVALIDITY":
        return `UIDVALIDITY ${status.uidValidity}`;
      case "UNSEEN":
        return `UNSEEN ${status.unseen}`;
      case "HIGHESTMODSEQ":
        return `HIGHESTMODSEQ ${status.highestModSeq}`;
      case "SIZE":
        return `SIZE ${status.size}`;
      case "DELETED":
        return `DELETED ${facts.deleted ?? 0}`;
      case "APPENDLIMIT":
        // RFC 7889 section 4: NIL when no limit applies.
        return `APPENDLIMIT ${facts.appendLimit ?? "NIL"}`;
      case "MAILBOXID":
        // RFC 8474: the mailbox's id, kept across RENAME, new for a new mailbox of the same name.
        return `MAILBOXID (${status.mailboxId})`;
      default: {
        const unknown: never = item;
        throw new Error(`unhandled status item ${String(unknown)}`);
      }
    }
  });
  return `(${values.join(" ")})`;
}

/** The APPEND limit of one mailbox: its own, else the user's, else the global one, capped by the literal limit. */
async function appendLimitOf(
  services: MailServices,
  limits: GatewayLimits,
  userId: string,
  status: MailboxStatus,
): Promise<number> {
  const user = status.appendLimit === null ? await findUserById(services.pool, userId) : null;
  const limit = effectiveAppendLimit(status.appendLimit, user?.append_limit ?? null, services.appendLimit);
  return Math.min(limit ?? Number.POSITIVE_INFINITY, limits.maxAppendLiteralSize);
}

/** Computes the facts the asked items need (extra reads only for DELETED and APPENDLIMIT). */
export async function statusFacts(
  services: MailServices,
  context: CommandContext,
  userId: string,
  status: MailboxStatus,
  items: readonly StatusItem[],
): Promise<StatusFacts> {
  const selected = context.session.selected;
  // The selected mailbox's \Recent messages are this session's own; elsewhere, the messages no
  // session has been told of yet are the ones that would be \Recent (RFC 3501 2.3.2).
  const recent =
    selected instanceof SelectedMailbox && selected.mailboxId === status.mailboxId
      ? selected.state.recentCount
      : items.includes("RECENT")
        ? await unclaimedRecentCount(services.pool, status.mailboxId)
        : 0;
  const deleted = items.includes("DELETED")
    ? (
        await services.queries.search(userId, status.mailboxId, {
          type: "flag",
          flag: "\\Deleted",
          set: true,
        })
      ).uids.length
    : undefined;
  const appendLimit = items.includes("APPENDLIMIT")
    ? await appendLimitOf(services, context.services.limits, userId, status)
    : undefined;
  return { status, recent, deleted, appendLimit };
}

/** Writes `* STATUS name (items)`. */
export async function sendStatus(
  context: CommandContext,
  status: MailboxStatus,
  items: readonly StatusItem[],
  facts: StatusFacts,
): Promise<void> {
  const utf8 = utf8Names(context.session);
  await context.untagged(
    "STATUS ",
    encodeMailbox(status.name, { utf8 }),
    ` ${formatStatusItems(items, facts)}`,
  );
}

/** IMAP4rev2 has no \Recent, and no RECENT status item (RFC 9051 E): BAD, as any unknown item. */
export function refuseRecentInRev2(context: CommandContext, items: readonly StatusItem[]): void {
  if (speaksRev2(context.session) && items.includes("RECENT")) {
    throw bad("RECENT is not a STATUS item in IMAP4rev2 (RFC 9051 removed \\Recent)");
  }
}

export function statusCommand(services: MailServices) {
  return defineCommand({
    names: ["STATUS"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ["STATUS=SIZE"],
    async handle(command, context) {
      const { mailbox, items } = command.args;
      refuseRecentInRev2(context, items);
      const target = await resolveMailboxName(services, context.session, mailbox);
      const userId = target?.ownerId;
      // UNSEEN as the actor sees it: his own \Seen on a shared mailbox.
      const found =
        target && userId ? await queriesAs(services, target).mailboxStatus(userId, target.name) : null;
      if (!target || !userId || found === null) throw no(`no mailbox named "${mailbox}"`, "NONEXISTENT");
      // RFC 4314 4: STATUS needs "r".
      if (!target.rights.includes("r")) {
        throw no(`STATUS needs the right "r" on "${mailbox}" (RFC 4314)`, "NOPERM");
      }
      const status = target.kind === "shared" ? { ...found, name: target.displayName } : found;
      if (!status.selectable)
        throw no(`"${status.name}" has no status: it cannot be selected (\\Noselect)`, "CANNOT");
      // RFC 7162 3.1: STATUS (HIGHESTMODSEQ) is a CONDSTORE-enabling command.
      if (items.includes("HIGHESTMODSEQ")) await enableCondstore(context);
      await sendStatus(context, status, items, await statusFacts(services, context, userId, status, items));
      return { text: "STATUS completed" };
    },
  });
}
