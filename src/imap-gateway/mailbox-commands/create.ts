// CREATE (RFC 3501 6.3.3): missing superiors are created too; a trailing separator only says
// inferiors will follow. CREATE-SPECIAL-USE (RFC 6154 3): CREATE name (USE (\Drafts)) creates the
// mailbox with that special use, or not at all (NO [USEATTR] for a use it cannot carry).
import { createMailbox } from "../../commands/index.ts";
import { SPECIAL_USES, type SpecialUse } from "../../events/domain/common.ts";
import { no } from "../errors.ts";
import { userIdOf } from "../mail/commandSupport.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { refuseSharedName } from "../mail/sharedNamespace.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";

const SPECIAL_USE_BY_NAME = new Map<string, SpecialUse>(SPECIAL_USES.map((use) => [use.toUpperCase(), use]));

/** The special use asked for by USE, or null; a refusal names the attribute that cannot be. */
function specialUseOf(use: readonly string[] | undefined): SpecialUse | null {
  if (use === undefined || use.length === 0) return null;
  const known = use.map((attribute) => {
    const specialUse = SPECIAL_USE_BY_NAME.get(attribute.toUpperCase());
    if (specialUse === undefined) {
      throw no(`${attribute} is not a special use this server knows (${SPECIAL_USES.join(" ")})`, "USEATTR");
    }
    return specialUse;
  });
  const distinct = [...new Set(known)];
  if (distinct.length > 1)
    throw no(`a mailbox has one special use here, not ${distinct.join(" ")}`, "USEATTR");
  return distinct[0]!;
}

export function createCommand(services: MailServices) {
  return defineCommand({
    names: ["CREATE"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ["CREATE-SPECIAL-USE"],
    async handle(command, context) {
      const userId = userIdOf(context.session);
      refuseSharedName(command.args.mailbox, "CREATE");
      const specialUse = specialUseOf(command.args.use);
      const created = await createMailbox(domainContext(services, context), {
        userId,
        name: command.args.mailbox,
        specialUse,
      });
      return { code: `MAILBOXID (${created.mailboxId})`, text: "CREATE completed" };
    },
  });
}
