// What wakes a tailing reader: PostgreSQL LISTEN on a channel that writers NOTIFY after they
// commit. A dedicated pg client, since a pooled connection cannot hold LISTEN.
//
// The NOTIFY is sent after the commit, in its own statement: a NOTIFY inside the writing
// transaction would take PostgreSQL's database-wide notify lock at commit and serialize every
// commit behind it (measured here: 418 against 616 single-event appends/s with 8 writers).
// It is a hint: readers poll too, so a lost notice costs latency, never an event.
import pg from "pg";
import { type CommonQueryMethods, sql } from "slonik";

export const EVENTS_CHANNEL = "mailledger_events";

export interface LogWakeup {
  /** Calls `listener` after each commit that appended events; returns the unsubscribe. */
  onWake(listener: () => void): () => void;
  close(): Promise<void>;
}

/** A wakeup source that reconnects on its own; while it is down, readers rely on polling. */
export function createPgLogWakeup(connectionString: string, onError?: (error: Error) => void): LogWakeup {
  const listeners = new Set<() => void>();
  let client: pg.Client | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;

  const wakeAll = () => {
    for (const listener of listeners) listener();
  };

  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({ connectionString });
    next.on("notification", wakeAll);
    next.on("error", (error) => {
      onError?.(error);
      next.end().catch(() => {});
      if (client === next) client = undefined;
      scheduleReconnect();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${EVENTS_CHANNEL}`);
      if (closed) {
        await next.end();
        return;
      }
      client = next;
      // Anything committed while we were not listening is found by this wake.
      wakeAll();
    } catch (error) {
      onError?.(error as Error);
      next.end().catch(() => {});
      scheduleReconnect();
    }
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, 1000);
    retryTimer.unref();
  };

  void connect();

  return {
    onWake(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      listeners.clear();
      await client?.end().catch(() => {});
      client = undefined;
    },
  };
}

/**
 * Sends NOTIFY after commits, coalescing bursts: while one NOTIFY is in flight, any number of
 * further requests become a single follow-up one.
 */
export function createAppendNotifier(
  connection: CommonQueryMethods,
  onError?: (error: unknown) => void,
): { notify(): void; flush(): Promise<void> } {
  let inFlight: Promise<void> | undefined;
  let again = false;
  const send = async (): Promise<void> => {
    do {
      again = false;
      try {
        await connection.query(sql.unsafe`SELECT pg_notify(${EVENTS_CHANNEL}, '')`);
      } catch (error) {
        onError?.(error);
      }
    } while (again);
    inFlight = undefined;
  };
  return {
    notify() {
      if (inFlight) again = true;
      else inFlight = send();
    },
    async flush() {
      await inFlight;
    },
  };
}

/** In-process wakeups for the embedded mode, where writers and readers share one process. */
export function createLocalLogWakeup(): LogWakeup & { wake(): void } {
  const listeners = new Set<() => void>();
  return {
    wake() {
      for (const listener of listeners) listener();
    },
    onWake(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
    },
  };
}

/** Wakes on either source (in-process commits, NOTIFY from other processes). */
export function combineLogWakeups(...sources: LogWakeup[]): LogWakeup {
  return {
    onWake(listener) {
      const unsubscribes = sources.map((source) => source.onWake(listener));
      return () => {
        for (const unsubscribe of unsubscribes) unsubscribe();
      };
    },
    async close() {
      await Promise.all(sources.map((source) => source.close()));
    },
  };
}
