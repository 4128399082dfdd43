// Starts Debian's Dovecot (dovecot-imapd) on a port of its own, with users from a passwd file and
// Maildirs under a temp directory, as the reference server for bench/imap.ts.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, link, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { hashPassword } from "../../src/commands/user/password.ts";
import { waitForPort } from "../support.ts";

export interface DovecotInstance {
  /** The master process: its descendants are every Dovecot process of the instance. */
  pid: number;
  host: string;
  port: number;
  /** The Maildir of a user (mail_location = maildir:<mail>/%u), for writing messages directly. */
  maildirOf(user: string): string;
  stop(): Promise<void>;
}

const DOVECOT = "/usr/sbin/dovecot";

export function dovecotAvailable(): boolean {
  return existsSync(DOVECOT);
}

export async function startDovecot(
  port: number,
  users: { name: string; password: string }[],
): Promise<DovecotInstance> {
  if (!dovecotAvailable()) {
    throw new Error(
      "Dovecot is not installed: apt-get install dovecot-imapd (the bench compares against it)",
    );
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "ml-dovecot-"));
  await chmod(dir, 0o755);
  const mail = path.join(dir, "mail");
  await mkdir(mail, { recursive: true });
  // Dovecot will not run a mail process as root: the Maildirs belong to its own system user.
  execFileSync("chown", ["dovecot:dovecot", mail]);
  await mkdir(path.join(dir, "run"), { recursive: true });
  // The same argon2id hash mailledger stores (same parameters, PHC form, which Dovecot's ARGON2ID
  // scheme reads), so a LOGIN costs both servers the same: a plain password would flatter Dovecot
  // wherever a load logs in often (imaptest's stress mix logs in and out every cycle).
  const hashes = await Promise.all(users.map((u) => hashPassword(u.password)));
  const passwd = users.map((u, i) => `${u.name}:{ARGON2ID}${hashes[i]}::::::`).join("\n");
  await writeFile(path.join(dir, "passwd"), `${passwd}\n`);
  const config = `
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:${mail}/%u
mail_fsync = optimized
passdb {
  driver = passwd-file
  args = ${dir}/passwd
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${mail}/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  process_min_avail = 2
  service_count = 0
}
service imap {
  process_limit = 4096
}
protocol imap {
  mail_max_userip_connections = 1000
}
`;
  const configPath = path.join(dir, "dovecot.conf");
  await writeFile(configPath, config);
  const child = spawn(DOVECOT, ["-F", "-c", configPath], { stdio: "ignore" });
  child.once("exit", (code, signal) => {
    if (code !== 0 && signal === null)
      process.stderr.write(`dovecot exited with ${code}; see ${dir}/dovecot.log\n`);
  });
  try {
    await waitForPort(port, { timeoutMs: 15_000, what: "Dovecot" });
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    host: "127.0.0.1",
    port,
    pid: child.pid!,
    maildirOf: (user) => path.join(mail, user),
    async stop() {
      try {
        execFileSync(DOVECOT, ["-c", configPath, "stop"], { stdio: "ignore" });
      } catch {
        child.kill("SIGTERM");
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Writes `count` messages straight into a user's Maildir/cur (as a delivery agent would), cycling
 * through `messages`; repeated bodies are hard links to one file, so 100,000 messages cost the disk
 * only the distinct ones. Call before the user first logs in. Returns the time it took in ms.
 */
export async function populateMaildir(
  maildir: string,
  messages: readonly Buffer[],
  count: number,
  /** The Maildir info flags of message `index` ("S" for \\Seen), none by default. */
  flagsOf: (index: number) => string = () => "",
): Promise<number> {
  const started = performance.now();
  const cur = path.join(maildir, "cur");
  for (const sub of ["cur", "new", "tmp"]) await mkdir(path.join(maildir, sub), { recursive: true });
  const now = Math.floor(Date.now() / 1000);
  const fileOf = (i: number) =>
    path.join(
      cur,
      `${now}.M${i}P${process.pid}.bench,S=${messages[i % messages.length]!.length}:2,${flagsOf(i)}`,
    );
  const distinct = Math.min(count, messages.length);
  await Promise.all(Array.from({ length: distinct }, (_, i) => writeFile(fileOf(i), messages[i]!)));
  const batch = 500;
  for (let start = distinct; start < count; start += batch) {
    const links: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + batch); i++)
      links.push(link(fileOf(i % messages.length), fileOf(i)));
    await Promise.all(links);
  }
  execFileSync("chown", ["-R", "dovecot:dovecot", maildir]);
  return performance.now() - started;
}
