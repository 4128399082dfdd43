// The notifier (role `notifier`): rings the doorbell as soon as it reads events, never waiting for
// a projector or touching PostgreSQL (DESIGN.md, the path of one APPEND; contract 9). In the
// distributed mode it is a Kafka consumer group of its own, publishing to Redis; in the embedded
// mode it tails the log in process and publishes to the in-process bus. A doorbell only says
// "look": one lost or repeated costs a delay or a read, never an update, so the notifier keeps
// no checkpoint of its own and starts at the head.
import type { CommonQueryMethods } from "slonik";
import { DEFAULT_KAFKA_SESSION_TIMEOUT_MS } from "../../config.ts";
import type { RecordedEvent } from "../../events/envelope.ts";
import { type Consumer, type EachBatchPayload, type Kafka, logLevel } from "../../events/kafka.ts";
import type { LogWakeup } from "../../events/logWakeup.ts";
import { doorbellSeconds, notifierLagSeconds } from "../../events/metrics.ts";
import { logHead } from "../../events/readAll.ts";
import { fromWireEnvelope } from "../../events/relay/wireEnvelope.ts";
import { subscribe } from "../../events/subscribe.ts";
import { startSupervisedConsumer } from "../../events/supervisedConsumer.ts";
import type { Upcasters } from "../../events/upcasting.ts";
import type { NoticeBus } from "../notices/notice.ts";
import type { RunningTransport } from "../runner/embeddedTransport.ts";
import { doorbellNotices } from "./doorbell.ts";

export { logLevel };

/** The notifier's consumer group, named from the deployment's topic so deployments never share one. */
export const notifierGroupOf = (topic: string) => `${topic}.notifier`;

export interface KafkaNotifierOptions {
  kafka: Kafka;
  topic: string;
  notices: NoticeBus;
  groupId?: string;
  upcasters?: Upcasters;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  onError?: (error: unknown) => void;
}

/** All partitions at once: a doorbell must not queue behind another user's batch. */
const PARTITIONS_CONCURRENTLY = 8;

export async function startKafkaNotifier(options: KafkaNotifierOptions): Promise<RunningTransport> {
  const create = (): Consumer =>
    options.kafka.consumer({
      groupId: options.groupId ?? notifierGroupOf(options.topic),
      sessionTimeout: options.sessionTimeoutMs ?? DEFAULT_KAFKA_SESSION_TIMEOUT_MS,
      // A rebalance waits this long for members that do not rejoin (a notifier that crashed):
      // kafkajs's 60 s would keep the doorbell silent that long. Its batches take milliseconds.
      rebalanceTimeout: 2 * (options.sessionTimeoutMs ?? DEFAULT_KAFKA_SESSION_TIMEOUT_MS),
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      // The broker answers a fetch as soon as one event arrives; this only bounds an idle fetch.
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
    });
  const start = async (consumer: Consumer) => {
    await consumer.connect();
    // A new group starts at the end: doorbells of the past ring for no one.
    await consumer.subscribe({ topic: options.topic, fromBeginning: false });
    await consumer.run({
      // Committed after every batch: a notifier restarted (or a broker come back) resumes where it
      // rang last. A group with no committed offset starts at the end, so an uncommitted second
      // before a restart would lose the doorbells published while it rejoins.
      autoCommit: true,
      autoCommitThreshold: 1,
      autoCommitInterval: 1_000,
      partitionsConsumedConcurrently: PARTITIONS_CONCURRENTLY,
      eachBatch: async (payload: EachBatchPayload) => {
        const events = [];
        for (const message of payload.batch.messages) {
          if (!message.value) continue;
          try {
            events.push(fromWireEnvelope(message.value, options.upcasters));
          } catch (error) {
            // A message this build cannot read rings nothing; the others still ring.
            options.onError?.(error);
          }
        }
        if (events.length > 0) await ring(options.notices, events, options.onError);
      },
    });
  };
  // A crash kafkajs would leave stopped (a broker restart can end one so) starts a new member.
  const supervised = await startSupervisedConsumer({
    create,
    start,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return { stop: () => supervised.stop() };
}

export interface LogNotifierOptions {
  connection: CommonQueryMethods;
  notices: NoticeBus;
  wakeup?: LogWakeup;
  upcasters?: Upcasters;
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

/** The embedded notifier: tails the log in process from its head. */
export async function startLogNotifier(options: LogNotifierOptions): Promise<RunningTransport> {
  const subscription = subscribe(options.connection, {
    after: await logHead(options.connection),
    ...(options.wakeup ? { wakeup: options.wakeup } : {}),
    ...(options.upcasters ? { upcasters: options.upcasters } : {}),
    ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
    onBatch: (events) => ring(options.notices, events, options.onError),
  });
  return { stop: () => subscription.stop() };
}

/** Publishes the batch's doorbells; measures commit → doorbell for each event it rang for. */
async function ring(
  notices: NoticeBus,
  events: readonly RecordedEvent[],
  onError: ((error: unknown) => void) | undefined,
): Promise<void> {
  try {
    await notices.publish(doorbellNotices(events));
  } catch (error) {
    onError?.(error);
    return;
  }
  const now = Date.now();
  for (const event of events) doorbellSeconds.observe(Math.max(0, now - event.recordedAt.getTime()) / 1000);
  const last = events.at(-1);
  if (last !== undefined) notifierLagSeconds.set(Math.max(0, now - last.recordedAt.getTime()) / 1000);
}
