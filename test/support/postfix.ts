// A throwaway Postfix (Debian's `postfix` package) for tests and benches: its own main.cf,
// master.cf, queue and log in a temporary directory, SMTP on a loopback port, every domain of
// `domains` handed to an LMTP destination (virtual_transport, as the README tells operators).
// Nothing of the system's Postfix (/etc/postfix, /var/spool/postfix) is used or touched.
//
// Postfix's master runs as root and its daemons as the `postfix` user (mail_owner), so this
// needs root and the postfix user and postdrop group the package creates.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./freePort.ts";

const run = promisify(execFile);
const POSTFIX = "/usr/sbin/postfix";

export interface ThrowawayPostfix {
  smtpPort: number;
  dir: string;
  /** Postfix's log (maillog_file). */
  log(): Promise<string>;
  /** Waits until the log has a line matching `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Why this machine cannot run a throwaway Postfix, or null when it can. */
export function postfixUnavailable(): string | null {
  if (!existsSync(POSTFIX)) return "postfix is not installed (apt-get install postfix; .ci/run does it)";
  if (process.getuid?.() !== 0)
    return "a Postfix instance needs root (its master runs as root, its daemons as postfix)";
  return null;
}

export async function startThrowawayPostfix(options: {
  domains: string[];
  /** `inet:127.0.0.1:24` or `unix:/path/to/socket` */
  lmtpDestination: string;
  /** Domains delivered elsewhere: domain → transport (`lmtp:unix:/path`), also virtual mailbox domains. */
  transports?: Record<string, string>;
}): Promise<ThrowawayPostfix> {
  const transports = Object.entries(options.transports ?? {});
  const unavailable = postfixUnavailable();
  if (unavailable) throw new Error(`cannot run the Postfix test: ${unavailable}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), "ml-postfix-"));
  // The daemons run as postfix and must reach the queue below this directory.
  await chmod(dir, 0o755);
  const etc = path.join(dir, "etc");
  const queue = path.join(dir, "queue");
  const data = path.join(dir, "data");
  const maillog = path.join(dir, "maillog");
  await mkdir(etc);
  await mkdir(queue);
  await mkdir(data);
  const { stdout: uid } = await run("id", ["-u", "postfix"]);
  await chown(data, Number(uid.trim()), -1);
  const smtpPort = await freePort();
  await writeFile(
    path.join(etc, "main.cf"),
    `compatibility_level = 3.6
queue_directory = ${queue}
data_directory = ${data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.invalid
mydomain = test.invalid
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = ${[...options.domains, ...transports.map(([domain]) => domain)].join(", ")}
virtual_transport = lmtp:${options.lmtpDestination}
transport_maps = ${transports.length === 0 ? "" : `inline:{ ${transports.map(([domain, transport]) => `${domain}=${transport}`).join(", ")} }`}
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
maillog_file = ${maillog}
maillog_file_prefixes = ${dir}
message_size_limit = 52428800
`,
  );
  await writeFile(
    path.join(etc, "master.cf"),
    `127.0.0.1:${smtpPort} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`,
  );
  // `check` creates the queue's directories with their owners and modes.
  await run(POSTFIX, ["-c", etc, "check"]);
  const master: ChildProcess = spawn(POSTFIX, ["-c", etc, "start-fg"], { stdio: "ignore" });
  const log = () => readFile(maillog, "utf8").catch(() => "");
  const waitForLog = async (pattern: RegExp, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await log();
      const line = text.split("\n").find((entry) => pattern.test(entry));
      if (line !== undefined) return line;
      if (Date.now() > deadline) throw new Error(`Postfix never logged ${pattern}; its log:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const stop = async () => {
    await run(POSTFIX, ["-c", etc, "stop"]).catch(() => {});
    if (master.exitCode === null) {
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          master.kill("SIGKILL");
          resolve(undefined);
        }, 10_000);
        master.once("exit", () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForLog(/daemon started/);
  } catch (error) {
    await stop();
    throw error;
  }
  return { smtpPort, dir, log, waitForLog, stop };
}
