// Read-your-writes (DESIGN.md contract 2): a command caller waits until the projection has
// applied the position of its events before it answers OK. Notices resolve the wait within
// milliseconds; PostgreSQL (the user's applied position in the view) is checked when the wait
// starts, every so often while it lasts (more often while the notice bus is unhealthy), and a
// last time at the deadline. A timeout is an error value, logged and counted, never a silent
// stale read.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { MailboxNotice, NoticeBus } from "./notices/notice.ts";

export type PositionTarget = { userId: string } | { mailboxId: string };

export type WaitResult =
  | { ok: true; via: "notice" | "database"; waitedMs: number }
  | {
      ok: false;
      kind: "timeout";
      target: PositionTarget;
      position: number;
      /** The applied position PostgreSQL reported last (0 when unknown). */
      appliedPosition: number;
      waitedMs: number;
    };

/** How often the database is asked while notices flow: a safety net for a lost notice. */
const DATABASE_CHECK_MS = 250;
/** How often while the notice bus is unhealthy (Redis down): PostgreSQL is then the only signal. */
const UNHEALTHY_DATABASE_CHECK_MS = 20;

export interface PositionWaiterOptions {
  connection: CommonQueryMethods;
  notices?: NoticeBus;
  onTimeout?: (result: Extract<WaitResult, { ok: false }>) => void;
}

export interface PositionWaiter {
  waitForPosition(target: PositionTarget, position: number, timeoutMs: number): Promise<WaitResult>;
  /** Timeouts so far: a metric. */
  readonly timeouts: number;
}

/** The default report of a timeout: a process warning, which the server's logger picks up. */
function reportTimeout(result: Extract<WaitResult, { ok: false }>) {
  process.emitWarning(
    `read-your-writes wait timed out after ${result.waitedMs} ms: position ${result.position} not applied for ${JSON.stringify(result.target)} (applied ${result.appliedPosition})`,
    { code: "MAILLEDGER_RYW_TIMEOUT" },
  );
}

const appliedRow = z.object({ global_position: z.number() });

/** The projection's applied position for the target's user (0 if it has applied nothing of them). */
export async function appliedPositionOf(
  connection: CommonQueryMethods,
  target: PositionTarget,
): Promise<number> {
  const position =
    "userId" in target
      ? await connection.maybeOneFirst(sql.type(appliedRow)`
          SELECT global_position FROM proj_mailbox.user_positions WHERE user_id = ${target.userId}`)
      : await connection.maybeOneFirst(sql.type(appliedRow)`
          SELECT p.global_position
          FROM proj_mailbox.user_positions AS p
          JOIN proj_mailbox.mailboxes AS m ON m.user_id = p.user_id
          WHERE m.mailbox_id = ${target.mailboxId}`);
  return position ?? 0;
}

const matches = (target: PositionTarget, notice: MailboxNotice) =>
  "userId" in target ? notice.userId === target.userId : notice.mailboxId === target.mailboxId;

export function createPositionWaiter(options: PositionWaiterOptions): PositionWaiter {
  let timeouts = 0;
  return {
    get timeouts() {
      return timeouts;
    },
    async waitForPosition(target, position, timeoutMs) {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      let resolveNotice: (() => void) | undefined;
      const noticed = new Promise<void>((resolve) => {
        resolveNotice = resolve;
      });
      // Listen before the first check, so a notice sent in between is not missed.
      const unsubscribe = options.notices?.subscribe((notice) => {
        if (notice.globalPosition >= position && matches(target, notice)) resolveNotice?.();
      });
      let applied = 0;
      try {
        const deadline = started + timeoutMs;
        for (;;) {
          applied = await appliedPositionOf(options.connection, target);
          if (applied >= position) return { ok: true, via: "database", waitedMs: elapsed() };
          const left = deadline - performance.now();
          if (left <= 0) break;
          const every = options.notices?.healthy === true ? DATABASE_CHECK_MS : UNHEALTHY_DATABASE_CHECK_MS;
          let timer: NodeJS.Timeout | undefined;
          const outcome = await Promise.race([
            noticed.then(() => "notice" as const),
            new Promise<"check">((resolve) => {
              timer = setTimeout(() => resolve("check"), Math.min(every, left));
            }),
          ]);
          clearTimeout(timer);
          if (outcome === "notice") return { ok: true, via: "notice", waitedMs: elapsed() };
        }
      } finally {
        unsubscribe?.();
      }
      timeouts += 1;
      const result = {
        ok: false as const,
        kind: "timeout" as const,
        target,
        position,
        appliedPosition: applied,
        waitedMs: elapsed(),
      };
      (options.onTimeout ?? reportTimeout)(result);
      return result;
    },
  };
}
