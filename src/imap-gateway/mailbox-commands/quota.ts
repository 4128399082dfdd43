// QUOTA (RFC 9208), the STORAGE resource: one quota root per account, named "", covering every
// mailbox of it. The limit is the operator's (`mailledger user quota`); SETQUOTA is not offered
// (no QUOTASET). An account without a quota has no quota root. APPEND and COPY above the quota
// are refused with NO [OVERQUOTA] by the command side.
import { findUserById } from "../../commands/index.ts";
import { encodeMailbox, encodeString } from "../codec/index.ts";
import { no } from "../errors.ts";
import { userIdOf } from "../mail/commandSupport.ts";
import type { MailServices } from "../mail/services.ts";
import { utf8Names } from "../modes.ts";
import { AUTHENTICATED_OR_SELECTED, type CommandContext, defineCommand } from "../module.ts";

const ROOT = "";

/** `* QUOTA "" (STORAGE used limit)`, in units of 1024 octets (use rounded up, the limit down). */
async function sendQuota(services: MailServices, context: CommandContext, userId: string, limit: number) {
  const used = await services.queries.storageUsed(userId);
  await context.untagged(
    "QUOTA ",
    encodeString(ROOT),
    ` (STORAGE ${Math.ceil(used / 1024)} ${Math.floor(limit / 1024)})`,
  );
}

async function storageLimitOf(services: MailServices, userId: string): Promise<number | null> {
  return (await findUserById(services.pool, userId))?.storage_limit ?? null;
}

export function getQuotaRootCommand(services: MailServices) {
  return defineCommand({
    names: ["GETQUOTAROOT"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ["QUOTA", "QUOTA=RES-STORAGE"],
    async handle(command, context) {
      const userId = userIdOf(context.session);
      const status = await services.queries.mailboxStatus(userId, command.args.mailbox);
      if (status === null) throw no(`no mailbox named "${command.args.mailbox}"`, "NONEXISTENT");
      const limit = await storageLimitOf(services, userId);
      const utf8 = utf8Names(context.session);
      await context.untagged(
        "QUOTAROOT ",
        encodeMailbox(status.name, { utf8 }),
        limit === null ? "" : " ",
        limit === null ? "" : encodeString(ROOT),
      );
      if (limit !== null) await sendQuota(services, context, userId, limit);
      return undefined;
    },
  });
}

export function getQuotaCommand(services: MailServices) {
  return defineCommand({
    names: ["GETQUOTA"],
    states: AUTHENTICATED_OR_SELECTED,
    async handle(command, context) {
      const userId = userIdOf(context.session);
      const limit = await storageLimitOf(services, userId);
      if (command.args.root !== ROOT || limit === null)
        throw no(`no quota root named "${command.args.root}"`, "NONEXISTENT");
      await sendQuota(services, context, userId, limit);
      return undefined;
    },
  });
}
