// `mailledger acl get|set|delete USER MAILBOX ...`: a mailbox's access control list (RFC 4314),
// through the same command handlers as SETACL and DELETEACL over IMAP (the events say actor
// "admin", so `mailledger history` shows the operator's grants beside the users').
import { parseArgs } from "node:util";
import { deleteMailboxAcl, mailboxAcl, setMailboxAcl } from "../commands/acl/handlers.ts";
import { ALL_RIGHTS } from "../commands/acl/rights.ts";
import { DomainError } from "../commands/errors.ts";
import { canonicalMailboxName } from "../commands/names.ts";
import { findMailboxByName } from "../commands/writeModel.ts";
import {
  type AdminCommandDeps,
  adminContext,
  EXIT_OK,
  EXIT_USAGE,
  positionalsOf,
  requireUser,
  runAdmin,
  UsageError,
  write,
} from "./mailbox.ts";

export const ACL_USAGE = `usage:
  mailledger acl get USER MAILBOX [--json]          who holds which rights (the owner holds all)
  mailledger acl set USER MAILBOX IDENTIFIER RIGHTS  IDENTIFIER: a user name or "anyone";
                                                     RIGHTS: some of ${ALL_RIGHTS}, "+..." adds, "-..." removes
  mailledger acl delete USER MAILBOX IDENTIFIER      take every right of IDENTIFIER away`;

export async function runAclCommand(argv: string[], deps: AdminCommandDeps): Promise<number> {
  const [subcommand, ...rest] = argv;
  const ctx = adminContext(deps, `acl ${subcommand ?? ""}`.trim());
  return runAdmin("acl", ACL_USAGE, deps, async () => {
    switch (subcommand) {
      case "get": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { json: { type: "boolean" } },
        });
        const [username, name] = positionalsOf(positionals, ["USER", "MAILBOX"]);
        const owner = await requireUser(deps.pool, username!);
        const canonical = canonicalMailboxName(name!);
        const mailbox = await findMailboxByName(deps.pool, owner.id, canonical);
        if (!mailbox)
          throw new DomainError("NONEXISTENT", `${owner.username} has no mailbox named "${canonical}"`);
        const entries = [
          { identifier: owner.username, rights: ALL_RIGHTS, owner: true },
          ...(await mailboxAcl(deps.pool, mailbox.id)).map((entry) => ({ ...entry, owner: false })),
        ];
        if (values.json) write(deps.stdout, JSON.stringify(entries));
        else {
          for (const entry of entries) {
            write(deps.stdout, `${entry.identifier}\t${entry.rights}${entry.owner ? "\t(owner)" : ""}`);
          }
        }
        return EXIT_OK;
      }
      case "set":
      case "delete": {
        // Not parseArgs: RIGHTS may begin with "-" ("-w" takes "w" away).
        const positionals = rest;
        const names =
          subcommand === "set"
            ? ["USER", "MAILBOX", "IDENTIFIER", "RIGHTS"]
            : ["USER", "MAILBOX", "IDENTIFIER"];
        const [username, name, identifier, rights] = positionalsOf(positionals, names);
        const owner = await requireUser(deps.pool, username!);
        const input = { ownerId: owner.id, mailboxName: name!, identifier: identifier! };
        const outcome =
          subcommand === "set"
            ? await setMailboxAcl(ctx, { ...input, rights: rights! })
            : await deleteMailboxAcl(ctx, input);
        const canonical = canonicalMailboxName(name!);
        const mailbox = await findMailboxByName(deps.pool, owner.id, canonical);
        const now = mailbox
          ? (await mailboxAcl(deps.pool, mailbox.id)).find(
              (entry) => entry.identifier === identifier!.toLowerCase(),
            )?.rights
          : undefined;
        write(
          deps.stdout,
          `${outcome.lastGlobalPosition === null ? "unchanged: " : ""}${identifier!.toLowerCase()} holds ${now ? `"${now}"` : "no right"} on ${owner.username}'s ${canonical}`,
        );
        return EXIT_OK;
      }
      case undefined:
      case "help":
      case "--help":
        write(subcommand === undefined ? deps.stderr : deps.stdout, ACL_USAGE);
        return subcommand === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        throw new UsageError(`unknown subcommand "${subcommand}"`);
    }
  });
}
