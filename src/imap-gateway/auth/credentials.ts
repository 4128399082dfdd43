// The credential check shared by LOGIN and AUTHENTICATE PLAIN: privacy (no clear-text passwords
// unless allowed), throttling per address and per user, the Authenticator, the per-user
// connection limit, and the answers each outcome gets (RFC 5530 response codes).

import { no } from "../errors.ts";
import { imapLimitsHit, imapLogins } from "../metrics.ts";
import type { CommandContext, CommandOutcome } from "../module.ts";

/** RFC 3501 6.2.3 / RFC 5530: refuse clear-text credentials with PRIVACYREQUIRED. */
export function requirePrivacy(context: CommandContext): void {
  if (!context.session.authAllowed) {
    imapLogins.inc({ result: "privacy_required" });
    throw no(
      context.session.canStartTls
        ? "authentication is not allowed on a clear-text connection; use STARTTLS first"
        : "authentication is not allowed on a clear-text connection, and this server has no TLS certificate configured (TLS_CERT/TLS_KEY; or ALLOW_INSECURE_AUTH on a trusted network)",
      "PRIVACYREQUIRED",
    );
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

export async function checkCredentials(
  context: CommandContext,
  username: string,
  password: string,
  commandName: string,
): Promise<CommandOutcome> {
  const { session, services } = context;
  const { loginThrottle, authenticator, logger } = services;
  const verdict = await loginThrottle.check(session.remoteAddress, username);
  if (!verdict.allowed) {
    imapLogins.inc({ result: "throttled" });
    imapLimitsHit.inc({ limit: "failed_logins" });
    const seconds = Math.ceil(verdict.retryAfterMs / 1000);
    const who = verdict.scope === "address" ? "from your address" : "for this user";
    throw no(`too many failed logins ${who}; try again in ${seconds} s`, "UNAVAILABLE");
  }
  const result = await authenticator.verify(username, password, session.remoteAddress);
  if (!result.ok) {
    imapLogins.inc({ result: "failure" });
    const delay = await loginThrottle.recordFailure(session.remoteAddress, username);
    logger.info("login failed", { sessionId: session.id, remoteAddress: session.remoteAddress, username });
    await sleep(delay, context.signal);
    throw no("invalid credentials", "AUTHENTICATIONFAILED");
  }
  const login = session.authenticate({ userId: result.userId, username });
  if (!login.ok) {
    throw no(`too many connections for this user (limit ${services.limits.maxConnectionsPerUser})`, "LIMIT");
  }
  await loginThrottle.recordSuccess(session.remoteAddress);
  imapLogins.inc({ result: "success" });
  return { text: `${commandName} completed`, code: `CAPABILITY ${session.capabilities().join(" ")}` };
}
