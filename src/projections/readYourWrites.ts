// Read-your-writes (DESIGN.md contract 2): a command caller waits until the projection has
// applied the position of its events before it answers OK. Notices resolve the wait within
// milliseconds (or at once, when the notice came before the wait began); PostgreSQL (the user's
// applied position in the view) is checked when a notice is late, every so often while the wait
// lasts (at once and often while the notice bus is unhealthy), and a last time at the deadline. A timeout is an error value, logged and counted, never a silent
// stale read.
import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { MailboxNotice, NoticeBus } from "./notices/notice.ts";
import { createNoticeRouter } from "./notices/noticeRouter.ts";

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

/** While notices flow, the first database check comes this late: the notice nearly always wins. */
const FIRST_DATABASE_CHECK_MS = 50;
/** How often the database is asked after that while notices flow: a safety net for a lost notice. */
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

/** How many users and mailboxes the waiter remembers the last notice of (oldest forgotten first). */
const REMEMBERED_TARGETS = 50_000;

/** The highest notified position per key, forgetting the least recently notified past a bound. */
class HighWaterMarks {
  readonly #positions = new Map<string, number>();
  get(key: string): number {
    return this.#positions.get(key) ?? 0;
  }
  raise(key: string, position: number): void {
    const known = this.#positions.get(key);
    if (known !== undefined && known >= position) return;
    this.#positions.delete(key);
    this.#positions.set(key, position);
    if (this.#positions.size > REMEMBERED_TARGETS) {
      const oldest = this.#positions.keys().next().value;
      if (oldest !== undefined) this.#positions.delete(oldest);
    }
  }
}

const keyOf = (target: PositionTarget) =>
  "userId" in target ? `u:${target.userId}` : `m:${target.mailboxId}`;

export function createPositionWaiter(options: PositionWaiterOptions): PositionWaiter {
  let timeouts = 0;
  // Every notice raises the mark of its user and of its mailbox. A command's notice may arrive
  // before its caller starts to wait (the projector is fast, the caller's promise chain is not):
  // the mark answers that wait at once. Waits themselves listen through the router.
  const marks = new HighWaterMarks();
  options.notices?.subscribe((notice) => {
    marks.raise(`u:${notice.userId}`, notice.globalPosition);
    if (notice.mailboxId !== null) marks.raise(`m:${notice.mailboxId}`, notice.globalPosition);
  });
  const router = options.notices ? createNoticeRouter(options.notices) : undefined;
  return {
    get timeouts() {
      return timeouts;
    },
    async waitForPosition(target, position, timeoutMs) {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const key = keyOf(target);
      if (options.notices?.healthy === true && marks.get(key) >= position) {
        return { ok: true, via: "notice", waitedMs: elapsed() };
      }
      let resolveNotice: (() => void) | undefined;
      const noticed = new Promise<void>((resolve) => {
        resolveNotice = resolve;
      });
      const listener = (notice: MailboxNotice) => {
        if (notice.globalPosition >= position) resolveNotice?.();
      };
      const stopListening =
        "userId" in target
          ? router?.onUser(target.userId, listener)
          : router?.onMailbox(target.mailboxId, listener);
      let applied = 0;
      try {
        const deadline = started + timeoutMs;
        // While notices flow, PostgreSQL is asked only when the notice is late: a position
        // applied before this waiter listened (an admin command's own earlier commit) or a
        // notice lost in a Redis blip. Without notices it is the only signal, asked at once.
        let nextCheck = options.notices?.healthy === true ? FIRST_DATABASE_CHECK_MS : 0;
        for (;;) {
          const left = deadline - performance.now();
          if (nextCheck > 0 && left > 0) {
            let timer: NodeJS.Timeout | undefined;
            const outcome = await Promise.race([
              noticed.then(() => "notice" as const),
              new Promise<"check">((resolve) => {
                timer = setTimeout(() => resolve("check"), Math.min(nextCheck, left));
              }),
            ]);
            clearTimeout(timer);
            if (outcome === "notice") return { ok: true, via: "notice", waitedMs: elapsed() };
          }
          applied = await appliedPositionOf(options.connection, target);
          if (applied >= position) return { ok: true, via: "database", waitedMs: elapsed() };
          if (deadline - performance.now() <= 0) break;
          nextCheck = options.notices?.healthy === true ? DATABASE_CHECK_MS : UNHEALTHY_DATABASE_CHECK_MS;
        }
      } finally {
        stopListening?.();
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
