// ACL (RFC 4314): SETACL, DELETEACL, GETACL, LISTRIGHTS and MYRIGHTS. The rights live in the
// mailbox index, written with the MailboxAclSet / MailboxAclDeleted events of the owner's stream
// (src/commands/acl): `mailledger history` shows who granted what to whom. Administering an ACL
// needs "a"; a mailbox the user may not look up ("l") gets the answer a missing one gets.
import { deleteMailboxAcl, mailboxAcl, setMailboxAcl } from "../../commands/acl/handlers.ts";
import { ALL_RIGHTS, ANYONE, parseRightsChange } from "../../commands/acl/rights.ts";
import { DomainError } from "../../commands/errors.ts";
import { encodeAString, encodeMailbox } from "../codec/index.ts";
import { bad, no } from "../errors.ts";
import { domainContext, type MailServices } from "../mail/services.ts";
import { type MailboxTarget, resolveMailboxName } from "../mail/sharedNamespace.ts";
import { AUTHENTICATED_OR_SELECTED, type CommandContext, defineCommand } from "../module.ts";

/** The capabilities of ACL and of LIST's MYRIGHTS return option (RFC 8440). */
export const ACL_CAPABILITIES = ["ACL", "RIGHTS=texk", "LIST-MYRIGHTS"] as const;

interface AclTarget {
  target: MailboxTarget;
  mailboxId: string;
  /** As the user names it: Shared/<owner>/<name> for another user's mailbox. */
  shownName: string;
  ownerName: string;
}

async function targetOf(
  services: MailServices,
  context: CommandContext,
  mailbox: string,
): Promise<AclTarget> {
  const missing = () => no(`no mailbox named "${mailbox}"`, "NONEXISTENT");
  const target = await resolveMailboxName(services, context.session, mailbox);
  if (target === null) throw missing();
  if (target.kind === "shared") {
    return {
      target,
      mailboxId: target.mailbox.mailboxId,
      shownName: target.displayName,
      ownerName: target.mailbox.ownerName,
    };
  }
  const status = await services.queries.mailboxStatus(target.ownerId, target.name);
  if (status === null) throw missing();
  const ownerName = context.session.user?.username.toLowerCase() ?? "";
  return { target, mailboxId: status.mailboxId, shownName: status.name, ownerName };
}

function requireAdmin(acl: AclTarget, command: string): void {
  if (!acl.target.rights.includes("a")) {
    throw no(`${command} needs the right "a" on "${acl.shownName}" (RFC 4314)`, "NOPERM");
  }
}

/** RFC 4314 3.1: a rights string with a letter no RFC defines is BAD. */
function checkedRights(rights: string): string {
  try {
    parseRightsChange(rights);
  } catch (error) {
    if (error instanceof DomainError) throw bad(error.message);
    throw error;
  }
  return rights;
}

export function aclCommand(services: MailServices) {
  return defineCommand({
    names: ["SETACL", "DELETEACL", "GETACL", "LISTRIGHTS", "MYRIGHTS"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ACL_CAPABILITIES,
    async handle(command, context) {
      const utf8 = context.session.enabled.has("UTF8=ACCEPT");
      const acl = await targetOf(services, context, command.args.mailbox);
      const mailbox = encodeMailbox(acl.shownName, { utf8 });
      switch (command.name) {
        case "MYRIGHTS":
          await context.untagged("MYRIGHTS ", mailbox, " ", encodeAString(acl.target.rights));
          return undefined;
        case "GETACL": {
          requireAdmin(acl, "GETACL");
          const parts: (string | Buffer)[] = [
            "ACL ",
            mailbox,
            " ",
            encodeAString(acl.ownerName),
            ` ${ALL_RIGHTS}`,
          ];
          for (const entry of await mailboxAcl(services.pool, acl.mailboxId)) {
            parts.push(" ", encodeAString(entry.identifier), " ", encodeAString(entry.rights));
          }
          await context.untagged(...parts);
          return undefined;
        }
        case "LISTRIGHTS": {
          requireAdmin(acl, "LISTRIGHTS");
          const identifier = command.args.identifier;
          const isOwner = identifier.toLowerCase() === acl.ownerName;
          // The owner holds every right and no other; anyone else may be given each one alone.
          const rights = isOwner ? ` ${ALL_RIGHTS}` : ` "" ${[...ALL_RIGHTS].join(" ")}`;
          await context.untagged("LISTRIGHTS ", mailbox, " ", encodeAString(identifier), rights);
          return undefined;
        }
        case "SETACL":
        case "DELETEACL": {
          requireAdmin(acl, command.name);
          const identifier = command.args.identifier;
          const input = {
            ownerId: acl.target.ownerId,
            mailboxName: acl.target.name,
            identifier: identifier.toLowerCase() === ANYONE ? ANYONE : identifier,
          };
          const ctx = domainContext(services, context);
          if (command.name === "SETACL") {
            const rights = checkedRights(command.args.rights);
            await setMailboxAcl(ctx, { ...input, rights });
          } else {
            await deleteMailboxAcl(ctx, input);
          }
          return undefined;
        }
        default: {
          const unknown: never = command;
          throw new Error(`unhandled ACL command ${(unknown as { name: string }).name}`);
        }
      }
    },
  });
}
