// A Kafka consumer that always comes back. kafkajs restarts a crashed consumer only when the
// crash's cause is "retriable"; a broker restart can end a consumer's run with a protocol error
// kafkajs calls final (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS from an
// offset commit or a heartbeat of the member the broker forgot). Such a consumer stays stopped for
// good, with nothing said: the notifier's doorbell went silent after a Kafka restart that way.
// Here a crash kafkajs will not restart is reported, and a new consumer of the same group starts
// after a pause, again and again until it runs (backing off to MAX_RESTART_DELAY_MS).
import type { Consumer } from "./kafka.ts";

const FIRST_RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 10_000;

export interface SupervisedConsumerOptions {
  /** A new consumer (same group) for each start. */
  create(): Consumer;
  /** Connects, subscribes and runs it; resolves once it runs. */
  start(consumer: Consumer): Promise<void>;
  /** A crash, and each failed restart. */
  onError?: (error: unknown) => void;
  /** The first pause before a restart (default FIRST_RESTART_DELAY_MS); doubles per failure. */
  restartDelayMs?: number;
}

export interface SupervisedConsumer {
  /** Consumers started so far: 1 until the first restart. */
  readonly starts: number;
  stop(): Promise<void>;
}

/** Starts the first consumer (its failure is thrown, as kafkajs's own) and keeps one running. */
export async function startSupervisedConsumer(
  options: SupervisedConsumerOptions,
): Promise<SupervisedConsumer> {
  const firstDelay = options.restartDelayMs ?? FIRST_RESTART_DELAY_MS;
  let current: Consumer | undefined;
  let starts = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const launch = async (): Promise<void> => {
    const consumer = options.create();
    current = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      if (consumer !== current || stopped) return;
      options.onError?.(event.payload.error);
      // kafkajs restarts this one itself.
      if (event.payload.restart) return;
      current = undefined;
      schedule(firstDelay);
    });
    starts += 1;
    try {
      await options.start(consumer);
    } catch (error) {
      if (current === consumer) current = undefined;
      await consumer.disconnect().catch(() => {});
      throw error;
    }
  };

  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (stopped) return;
      launch().catch((error: unknown) => {
        options.onError?.(error);
        schedule(Math.min(delayMs * 2, MAX_RESTART_DELAY_MS));
      });
    }, delayMs);
    timer.unref?.();
  };

  await launch();
  return {
    get starts() {
      return starts;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      const consumer = current;
      current = undefined;
      await consumer?.disconnect();
    },
  };
}
