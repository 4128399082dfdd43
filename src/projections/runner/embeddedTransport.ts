// The embedded transport (single-node mode): the projector tails the PostgreSQL log in process
// with the event store's subscribe, and keeps its resume point in `checkpoints`, moved in the
// same transaction as the views.
import type { DatabasePool } from "slonik";
import { readCheckpoint } from "../../events/checkpoints.ts";
import type { LogWakeup } from "../../events/logWakeup.ts";
import { type Subscription, subscribe } from "../../events/subscribe.ts";
import type { Upcasters } from "../../events/upcasting.ts";
import { CheckpointMismatchError, type Projector } from "./projector.ts";

export interface EmbeddedTransportOptions {
  pool: DatabasePool;
  projector: Projector;
  wakeup?: LogWakeup;
  upcasters?: Upcasters;
  batchSize?: number;
  pollIntervalMs?: number;
  /** Checkpoint name; default `projection:<name>`. */
  consumer?: string;
  onError?: (error: unknown) => void;
}

export interface RunningTransport {
  stop(): Promise<void>;
}

export async function startEmbeddedTransport(options: EmbeddedTransportOptions): Promise<RunningTransport> {
  const consumer = options.consumer ?? `projection:${options.projector.projection.name}`;
  let stored = await readCheckpoint(options.pool, consumer);
  const subscription: Subscription = subscribe(options.pool, {
    after: stored,
    batchSize: options.batchSize,
    pollIntervalMs: options.pollIntervalMs,
    wakeup: options.wakeup,
    upcasters: options.upcasters,
    onError: options.onError,
    onBatch: async (events, position) => {
      try {
        await options.projector.applyBatch(events, { consumer, expected: stored, position });
        stored = position;
      } catch (error) {
        // Another instance moved the checkpoint: take its value; user positions skip repeats.
        if (error instanceof CheckpointMismatchError) stored = error.actual;
        throw error;
      }
    },
  });
  return { stop: () => subscription.stop() };
}
