// The Kafka transport (distributed mode): consumer group "<topic>.projections" on the relay's
// topic, named from the deployment's topic so two deployments on one Kafka never share a group.
// One user's events sit on one partition in log order, so each partition's batch is applied
// in order; offsets are committed only after the batch's transaction committed. A redelivered
// batch (crash between commit and offset commit, rebalance) is skipped by the user positions.

import { DEFAULT_KAFKA_SESSION_TIMEOUT_MS } from "../../config.ts";
import type { RecordedEvent } from "../../events/envelope.ts";
import { type Consumer, type EachBatchPayload, type Kafka, logLevel } from "../../events/kafka.ts";
import { fromWireEnvelope } from "../../events/relay/wireEnvelope.ts";
import { startSupervisedConsumer } from "../../events/supervisedConsumer.ts";
import type { Upcasters } from "../../events/upcasting.ts";
import type { RunningTransport } from "./embeddedTransport.ts";
import type { Projector } from "./projector.ts";

/** The projector's consumer group, named from the deployment's topic. */
export const projectionsGroupOf = (topic: string) => `${topic}.projections`;
/** The relay's default partition count (src/events/relay): all of them in parallel. */
const DEFAULT_PARTITIONS_CONCURRENTLY = 8;
const OFFSET_COMMIT_INTERVAL_MS = 500;
/** How long the broker may hold a fetch to gather a batch for the projector. */
export const DEFAULT_BATCH_WAIT_MS = 200;
/** A fetch returns at once when this much is there to apply. */
const BATCH_MIN_BYTES = 1024 * 1024;

export { logLevel };

export interface KafkaTransportOptions {
  kafka: Kafka;
  topic: string;
  projector: Projector;
  groupId?: string;
  upcasters?: Upcasters;
  /** Kafka consumer session timeout; short in tests so a dead member leaves the group fast. */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** How long the broker may gather a batch (default DEFAULT_BATCH_WAIT_MS); tests use less. */
  batchWaitMs?: number;
  /** Batches of different partitions applied at once (each in its own transaction). */
  partitionsConsumedConcurrently?: number;
  onError?: (error: unknown) => void;
}

export async function startKafkaTransport(options: KafkaTransportOptions): Promise<RunningTransport> {
  const create = (): Consumer =>
    options.kafka.consumer({
      groupId: options.groupId ?? projectionsGroupOf(options.topic),
      sessionTimeout: options.sessionTimeoutMs ?? DEFAULT_KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      // Nothing waits for the view (reads derive what it lacks), so the broker gathers a batch
      // first: a transaction per BATCH_WAIT_MS under load instead of one per event, which cost
      // the pipeline and PostgreSQL several round trips and a WAL flush each.
      maxWaitTimeInMs: options.batchWaitMs ?? DEFAULT_BATCH_WAIT_MS,
      minBytes: BATCH_MIN_BYTES,
      allowAutoTopicCreation: false,
    });
  const start = async (consumer: Consumer) => {
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await consumer.run({
      // Offsets are resolved only after a batch's transaction committed, and committed to Kafka
      // every OFFSET_COMMIT_INTERVAL_MS rather than after each batch: a commit per batch was a
      // Kafka round trip in every partition's path. What a crash repeats, user positions skip.
      autoCommit: true,
      autoCommitInterval: OFFSET_COMMIT_INTERVAL_MS,
      eachBatchAutoResolve: false,
      // Every partition of a fetch at once: the next fetch waits for the slowest batch of this one.
      partitionsConsumedConcurrently:
        options.partitionsConsumedConcurrently ?? DEFAULT_PARTITIONS_CONCURRENTLY,
      eachBatch: async (payload: EachBatchPayload) => {
        const { batch } = payload;
        if (batch.messages.length === 0) return;
        const events: RecordedEvent[] = [];
        for (const message of batch.messages) {
          if (message.value) events.push(fromWireEnvelope(message.value, options.upcasters));
        }
        try {
          await options.projector.applyBatch(events);
        } catch (error) {
          options.onError?.(error);
          // Thrown: kafkajs restarts the consumer from the last committed offset.
          throw error;
        }
        payload.resolveOffset(batch.messages.at(-1)!.offset);
        await payload.heartbeat();
      },
    });
  };
  // A crash kafkajs would leave stopped (a broker restart can end one so) starts a new member,
  // which resumes from the group's committed offsets.
  const supervised = await startSupervisedConsumer({
    create,
    start,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return { stop: () => supervised.stop() };
}
