// Tails the log from a position: batches in global-position order, none skipped, woken by
// LISTEN/NOTIFY within milliseconds and polling as the fallback when notices are lost.
import type { CommonQueryMethods } from "slonik";
import type { RecordedEvent } from "./envelope.ts";
import type { LogWakeup } from "./logWakeup.ts";
import { readAll } from "./readAll.ts";
import type { Upcasters } from "./upcasting.ts";

export interface SubscribeOptions {
  /** Start after this position (the consumer's checkpoint). */
  after: number;
  batchSize?: number;
  /** Poll interval when no notice arrives: bounds the latency if LISTEN is down. */
  pollIntervalMs?: number;
  wakeup?: LogWakeup;
  upcasters?: Upcasters;
  /**
   * Handles one batch; the subscription moves on when it resolves. `position` is the settled
   * position after this batch: store it as the checkpoint together with the batch's effects.
   */
  onBatch: (events: RecordedEvent[], position: number) => Promise<void>;
  onError?: (error: unknown) => void;
  signal?: AbortSignal;
}

export interface Subscription {
  /** The settled position handled so far. */
  readonly position: number;
  /** Resolves when the subscription has stopped (after abort). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_POLL_INTERVAL_MS = 500;
const ERROR_BACKOFF_MS = 1_000;

export function subscribe(connection: CommonQueryMethods, options: SubscribeOptions): Subscription {
  const controller = new AbortController();
  options.signal?.addEventListener("abort", () => controller.abort(), { once: true });
  let position = options.after;
  let wake: (() => void) | undefined;
  let woken = false;
  const unsubscribeWakeup = options.wakeup?.onWake(() => {
    woken = true;
    wake?.();
  });
  controller.signal.addEventListener("abort", () => wake?.(), { once: true });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || controller.signal.aborted) {
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const loop = async () => {
    while (!controller.signal.aborted) {
      woken = false;
      try {
        const batch = await readAll(connection, position, options.batchSize ?? DEFAULT_BATCH_SIZE, {
          gapWaitMs: 1_000,
          upcasters: options.upcasters,
        });
        if (batch.events.length > 0 || batch.position > position) {
          if (batch.events.length > 0) await options.onBatch(batch.events, batch.position);
          position = batch.position;
          // A full batch means more may be waiting: read again at once.
          continue;
        }
        await sleep(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
      } catch (error) {
        if (controller.signal.aborted) break;
        options.onError?.(error);
        await sleep(ERROR_BACKOFF_MS);
      }
    }
    unsubscribeWakeup?.();
  };

  const done = loop();
  return {
    get position() {
      return position;
    },
    done,
    async stop() {
      controller.abort();
      await done;
    },
  };
}
