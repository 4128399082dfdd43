// `mailledger user create|delete|list|passwd|appendlimit|quota ...`: account administration.
// Passwords are read from standard input (--password-stdin), never from arguments, which
// other local users can see in the process list.
import type { Readable, Writable } from "node:stream";
import { parseArgs } from "node:util";
import type { DatabasePool } from "slonik";
import type { DomainContext } from "../commands/context.ts";
import { DomainError, isDomainError } from "../commands/errors.ts";
import {
  changePassword,
  createUser,
  deleteUser,
  findUser,
  listUsers,
  setUserAppendLimit,
  setUserQuota,
} from "../commands/user/handlers.ts";
import { storageUsed } from "../commands/writeModel.ts";
import { parseSize } from "../config.ts";
import { createPostgresBlobStore } from "../events/blobs/postgresBlobStore.ts";
import { humanSize } from "./humanSize.ts";

export interface UserCommandDeps {
  pool: DatabasePool;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

export const USER_USAGE = `usage:
  mailledger user create USERNAME --password-stdin [--append-limit OCTETS]
  mailledger user delete USERNAME
  mailledger user list [--json]
  mailledger user passwd USERNAME --password-stdin
  mailledger user appendlimit USERNAME [OCTETS|none]   (no value: show the current limit)
  mailledger user quota USERNAME [SIZE|none] [--json]  (SIZE: octets or 500M, 2G; no value: show use and quota,
                                                        in KiB/MiB/GiB, or exact octets with --json)`;

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

/** Bounds what is read from standard input for a password. */
const MAX_PASSWORD_INPUT = 4096;

async function readPassword(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    length += buffer.length;
    if (length > MAX_PASSWORD_INPUT) throw new UsageError("the password on standard input is too long");
    chunks.push(buffer);
  }
  // One trailing line end is the terminal's or echo's, not the password's.
  const password = Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
  if (password.length === 0) throw new UsageError("no password on standard input");
  return password;
}

function parseLimit(value: string): number | null {
  if (value === "none") return null;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`"${value}" is not a number of octets (or "none")`);
  }
  return Number(value);
}

/** USERNAME [VALUE]: the shape of the subcommands that show a setting, or set it. */
function usernameAndValue(args: string[]): { username: string; value: string | undefined; json: boolean } {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean" } },
  });
  const [username, value, ...extra] = positionals;
  if (!username) throw new UsageError("a USERNAME is needed");
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  return { username, value, json: values.json === true };
}

async function existingUser(ctx: { pool: DatabasePool }, username: string) {
  const user = await findUser(ctx, username);
  if (!user) throw new DomainError("NONEXISTENT", `no user named "${username}"`);
  return user;
}

function oneUsername(positionals: string[]): string {
  const [username, ...rest] = positionals;
  if (!username) throw new UsageError("a USERNAME is needed");
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  return username;
}

const write = (stream: Writable, text: string) => stream.write(text.endsWith("\n") ? text : `${text}\n`);

export async function runUserCommand(argv: string[], deps: UserCommandDeps): Promise<number> {
  const [subcommand, ...rest] = argv;
  const ctx: DomainContext = {
    pool: deps.pool,
    blobStore: createPostgresBlobStore(deps.pool),
    metadata: { actor: "admin", command: { tag: "cli", name: `user ${subcommand ?? ""}`.trim() } },
    now: () => new Date(),
  };
  try {
    switch (subcommand) {
      case "create": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { "password-stdin": { type: "boolean" }, "append-limit": { type: "string" } },
        });
        const username = oneUsername(positionals);
        if (!values["password-stdin"])
          throw new UsageError("give the password on standard input with --password-stdin");
        const appendLimit = values["append-limit"] === undefined ? null : parseLimit(values["append-limit"]);
        const password = await readPassword(deps.stdin);
        const created = await createUser(ctx, { username, password, appendLimit });
        write(deps.stdout, `created user ${created.username} (${created.userId})`);
        return EXIT_OK;
      }
      case "delete": {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
        const username = oneUsername(positionals);
        await deleteUser(ctx, { username });
        write(deps.stdout, `deleted user ${username.toLowerCase()}`);
        return EXIT_OK;
      }
      case "list": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { json: { type: "boolean" } },
        });
        if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
        const users = await listUsers(ctx);
        if (values.json) {
          write(
            deps.stdout,
            JSON.stringify(
              users.map((user) => ({
                userId: user.userId,
                username: user.username,
                appendLimit: user.appendLimit,
                storageLimit: user.storageLimit,
                createdAt: user.createdAt.toISOString(),
              })),
            ),
          );
        } else {
          for (const user of users) {
            const limits = [
              ...(user.appendLimit === null ? [] : [`appendlimit=${user.appendLimit}`]),
              ...(user.storageLimit === null ? [] : [`quota=${user.storageLimit}`]),
            ];
            write(deps.stdout, [user.username, ...limits].join("\t"));
          }
        }
        return EXIT_OK;
      }
      case "passwd": {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { "password-stdin": { type: "boolean" } },
        });
        const username = oneUsername(positionals);
        if (!values["password-stdin"])
          throw new UsageError("give the password on standard input with --password-stdin");
        await changePassword(ctx, { username, password: await readPassword(deps.stdin) });
        write(deps.stdout, `password changed for ${username.toLowerCase()}`);
        return EXIT_OK;
      }
      case "appendlimit": {
        const { username, value } = usernameAndValue(rest);
        if (value === undefined) {
          const user = await existingUser(ctx, username);
          write(deps.stdout, user.appendLimit === null ? "none" : String(user.appendLimit));
          return EXIT_OK;
        }
        const appendLimit = parseLimit(value);
        await setUserAppendLimit(ctx, { username, appendLimit });
        write(deps.stdout, `append limit of ${username.toLowerCase()}: ${appendLimit ?? "none"}`);
        return EXIT_OK;
      }
      case "quota": {
        const { username, value, json } = usernameAndValue(rest);
        if (value === undefined) {
          const user = await existingUser(ctx, username);
          const used = await storageUsed(ctx.pool, user.userId);
          write(
            deps.stdout,
            json
              ? JSON.stringify({ username: user.username, used, quota: user.storageLimit })
              : `${humanSize(used)} of ${user.storageLimit === null ? "no quota" : humanSize(user.storageLimit)}`,
          );
          return EXIT_OK;
        }
        let storageLimit: number | null;
        try {
          storageLimit = value === "none" ? null : parseSize("SIZE", value);
        } catch {
          throw new UsageError(`"${value}" is not a size such as 524288000 or 500M (or "none")`);
        }
        await setUserQuota(ctx, { username, storageLimit });
        write(
          deps.stdout,
          `storage quota of ${username.toLowerCase()}: ${storageLimit === null ? "none" : `${humanSize(storageLimit)} (${storageLimit} octets)`}`,
        );
        return EXIT_OK;
      }
      case undefined:
      case "help":
      case "--help":
        write(subcommand === undefined ? deps.stderr : deps.stdout, USER_USAGE);
        return subcommand === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        throw new UsageError(`unknown subcommand "${subcommand}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      write(deps.stderr, `mailledger user: ${(error as Error).message}\n${USER_USAGE}`);
      return EXIT_USAGE;
    }
    if (isDomainError(error)) {
      write(deps.stderr, `mailledger user: ${(error as Error).message}`);
      return EXIT_FAILED;
    }
    throw error;
  }
}
