// The outbox relay: publishes the events table to Kafka in global-position order, at least once,
// from the committed log (never from an after-commit hook, which loses events on a crash).
//
// - Key = metadata.userId, so one user's events share a partition and keep their order.
// - Idempotent producer, one request in flight, acks from all replicas: a retry can neither
//   reorder nor (within a producer session) duplicate a batch.
// - Its checkpoint ("relay" in `checkpoints`) moves only after Kafka acknowledged the batch, so
//   a crash repeats at most the last batch, which consumers skip by global position.
// - One relay publishes at a time: the active one holds a PostgreSQL session advisory lock on a
//   dedicated connection. Standbys try to take it every few hundred ms; when the active one
//   dies, its connection (and lock) goes with it and a standby takes over from the checkpoint.

import pg from "pg";
import type { DatabasePool } from "slonik";
import { readCheckpoint, type StoreCheckpointResult, storeCheckpoint } from "../checkpoints.ts";
import type { RecordedEvent } from "../envelope.ts";
import { type Kafka, logLevel, type Producer } from "../kafka.ts";
import type { LogWakeup } from "../logWakeup.ts";
import { type ReadAllResult, readAll } from "../readAll.ts";
import { toWireEnvelope } from "./wireEnvelope.ts";

export const DEFAULT_EVENTS_TOPIC = "mailledger.events";
export const RELAY_CHECKPOINT = "relay";
export const DEFAULT_TOPIC_PARTITIONS = 8;
/** Arbitrary constant, distinct from the migration lock: who may publish. */
export const RELAY_LOCK_KEY = 0x6d6c726c;
const DEFAULT_BATCH_SIZE = 500;
/** How often a standby tries to take the lock: bounds the publishing pause after a failover. */
const DEFAULT_STANDBY_POLL_MS = 500;
/**
 * The checkpoint is stored at most this often, not after every batch (a statement per command
 * under light load): a relay that crashes sends up to this much again, which consumers skip.
 */
const CHECKPOINT_EVERY_MS = 200;
/** Poll interval of the active relay when no LISTEN/NOTIFY wakeup arrives. */
const DEFAULT_POLL_MS = 500;
const ERROR_BACKOFF_MS = 500;

export type RelayState = "standby" | "active" | "stopped";

export interface OutboxRelayOptions {
  pool: DatabasePool;
  /** For the dedicated connection that holds the advisory lock. */
  databaseUrl: string;
  kafka: Kafka;
  topic?: string;
  /** Partitions of the topic when the relay creates it. */
  partitions?: number;
  replicationFactor?: number;
  wakeup?: LogWakeup;
  batchSize?: number;
  standbyPollMs?: number;
  pollIntervalMs?: number;
  /** The checkpoint's consumer name; one per topic. */
  checkpoint?: string;
  onError?: (error: unknown) => void;
  onStateChange?: (state: RelayState) => void;
}

export interface OutboxRelay {
  readonly state: RelayState;
  /** The position up to which Kafka has acknowledged every event (while active). */
  readonly position: number;
  stop(): Promise<void>;
}

/** The Kafka message of one event: key, JSON envelope, and headers for routing without parsing. */
export function toKafkaMessage(event: RecordedEvent) {
  return {
    key: event.metadata.userId,
    value: JSON.stringify(toWireEnvelope(event)),
    headers: {
      type: event.type,
      schemaVersion: String(event.schemaVersion),
      globalPosition: String(event.globalPosition),
    },
  };
}

/** Errors of a topic that another process is creating at the same moment: look again shortly. */
const TOPIC_RACE_ERRORS = new Set([
  "UNKNOWN_TOPIC_OR_PARTITION",
  "LEADER_NOT_AVAILABLE",
  "TOPIC_ALREADY_EXISTS",
  "NOT_CONTROLLER",
]);
const TOPIC_ATTEMPTS = 40;

function topicRace(error: unknown): boolean {
  const { type, errors } = error as { type?: string; errors?: unknown[] };
  if (typeof type === "string" && TOPIC_RACE_ERRORS.has(type)) return true;
  return Array.isArray(errors) && errors.length > 0 && errors.every(topicRace);
}

/**
 * Makes the events topic if it is missing and returns once every partition has a leader. The
 * relay, the projector and the notifier all call it as they start, often at the same moment: a
 * topic another process has just made may not be served yet ("does not host this
 * topic-partition"), which is waited out, not fatal.
 */
export async function ensureEventsTopic(
  kafka: Kafka,
  topic: string,
  partitions = DEFAULT_TOPIC_PARTITIONS,
  replicationFactor = 1,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const existing = await admin.listTopics();
        if (!existing.includes(topic)) {
          await admin.createTopics({
            topics: [{ topic, numPartitions: partitions, replicationFactor }],
            waitForLeaders: true,
          });
        }
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const served = topics[0]?.partitions ?? [];
        if (served.length > 0 && served.every((partition) => partition.leader >= 0)) return;
      } catch (error) {
        if (attempt >= TOPIC_ATTEMPTS || !topicRace(error)) throw error;
      }
      if (attempt >= TOPIC_ATTEMPTS) throw new Error(`topic ${topic} has partitions without a leader`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await admin.disconnect();
  }
}

/** How long stop() lets the active loop finish its step before closing its connections. */
const STOP_GRACE_MS = 5_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const topic = options.topic ?? DEFAULT_EVENTS_TOPIC;
  const consumer = options.checkpoint ?? RELAY_CHECKPOINT;
  const stopping = new AbortController();
  let state: RelayState = "standby";
  let position = 0;
  /** What the active loop holds, so stop() can cut it short when Kafka or PostgreSQL hang. */
  const held: { producer?: Producer; lockClient?: pg.Client } = {};
  let wake: (() => void) | undefined;
  let woken = false;
  const unsubscribeWakeup = options.wakeup?.onWake(() => {
    woken = true;
    wake?.();
  });

  const setState = (next: RelayState) => {
    if (state === next) return;
    state = next;
    options.onStateChange?.(next);
  };

  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (woken || signal.aborted) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      wake = done;
    });

  /** Connects and tries the lock once; the client (holding the lock) or undefined. */
  const tryTakeLock = async (): Promise<pg.Client | undefined> => {
    const client = new pg.Client({ connectionString: options.databaseUrl });
    client.on("error", () => {}); // replaced by the active loop's handler once locked
    try {
      await client.connect();
      const result = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
        RELAY_LOCK_KEY,
      ]);
      if (result.rows[0]?.locked) return client;
    } catch (error) {
      options.onError?.(error);
    }
    await client.end().catch(() => {});
    return undefined;
  };

  /** Publishes while the lock is held; returns when it is lost or the relay stops. */
  const publishWhileLocked = async (lockClient: pg.Client) => {
    const lost = new AbortController();
    const onStop = () => lost.abort();
    stopping.signal.addEventListener("abort", onStop, { once: true });
    lockClient.removeAllListeners("error");
    lockClient.on("error", (error) => {
      options.onError?.(error);
      lost.abort();
    });
    lockClient.on("end", () => lost.abort());
    let producer: Producer | undefined;
    held.lockClient = lockClient;
    try {
      await ensureEventsTopic(options.kafka, topic, options.partitions, options.replicationFactor);
      producer = options.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Bounded retries: a failed send is retried by the loop from the checkpoint anyway.
        retry: { retries: 5, maxRetryTime: 5_000 },
      });
      held.producer = producer;
      await producer.connect();
      setState("active");
      let stored = await readCheckpoint(options.pool, consumer);
      let storedAt = 0;
      position = stored;
      // `woken` says whether a commit came since the last read began: cleared as each read begins,
      // so a commit during a read (or a read-ahead) is never missed.
      const readPage = (after: number) => {
        woken = false;
        return readAll(options.pool, after, options.batchSize ?? DEFAULT_BATCH_SIZE, { gapWaitMs: 1_000 });
      };
      // Latency: the next page is read while Kafka acknowledges this one, and the checkpoint of a
      // sent page is stored while the next is read. It is awaited before the next send, so a relay
      // that finds the checkpoint moved by another one stops before publishing anything further.
      let checkpoint: Promise<StoreCheckpointResult> | undefined;
      let readAhead: Promise<ReadAllResult> | undefined;
      while (!lost.signal.aborted) {
        // A read-ahead that failed is done again here, where a second failure ends this turn.
        const batch = await (readAhead?.catch(() => readPage(position)) ?? readPage(position));
        readAhead = undefined;
        const moved = await checkpoint;
        checkpoint = undefined;
        if (moved && !moved.ok) {
          // Someone else published meanwhile (a lock lost unnoticed): resume from theirs.
          stored = moved.actual;
          position = moved.actual;
          continue;
        }
        if (batch.events.length > 0) {
          // The lock is checked before each send: a relay that lost it must not publish further.
          if (lost.signal.aborted) break;
          const sent = producer.send({ topic, acks: -1, messages: batch.events.map(toKafkaMessage) });
          if (!batch.caughtUp && !batch.waitingOnGap) readAhead = readPage(batch.position);
          readAhead?.catch(() => {});
          await sent;
        }
        position = batch.position;
        const sinceStored = performance.now() - storedAt;
        if (position > stored && sinceStored >= CHECKPOINT_EVERY_MS) {
          checkpoint = storeCheckpoint(options.pool, consumer, stored, position);
          // Its failure surfaces where it is awaited, not as an unhandled rejection meanwhile.
          checkpoint.catch(() => {});
          stored = position;
          storedAt = performance.now();
        }
        if (batch.caughtUp || batch.waitingOnGap) {
          const pollMs = options.pollIntervalMs ?? DEFAULT_POLL_MS;
          // What was sent but not yet checkpointed is stored on the next turn after the interval.
          const until = position > stored ? Math.min(pollMs, CHECKPOINT_EVERY_MS - sinceStored) : pollMs;
          await sleep(Math.max(1, until), lost.signal);
        }
      }
      await checkpoint;
      // A stop stores how far this relay got, so its successor does not send the tail again.
      // Compare-and-set: if another relay moved the checkpoint meanwhile, this changes nothing.
      if (stopping.signal.aborted && position > stored) {
        await storeCheckpoint(options.pool, consumer, stored, position);
      }
    } catch (error) {
      if (!stopping.signal.aborted) options.onError?.(error);
    } finally {
      stopping.signal.removeEventListener("abort", onStop);
      held.producer = undefined;
      held.lockClient = undefined;
      await producer?.disconnect().catch(() => {});
      await lockClient.end().catch(() => {});
    }
  };

  const loop = async () => {
    while (!stopping.signal.aborted) {
      setState("standby");
      const lockClient = await tryTakeLock();
      if (!lockClient) {
        await sleep(options.standbyPollMs ?? DEFAULT_STANDBY_POLL_MS, stopping.signal);
        woken = false;
        continue;
      }
      await publishWhileLocked(lockClient);
      if (!stopping.signal.aborted) await sleep(ERROR_BACKOFF_MS, stopping.signal);
    }
    unsubscribeWakeup?.();
    setState("stopped");
  };
  const done = loop();

  return {
    get state() {
      return state;
    },
    get position() {
      return position;
    },
    async stop() {
      stopping.abort();
      wake?.();
      // A send or a query in flight may hang on a sick broker or database: after a grace period,
      // close them under the loop so it ends. Nothing is lost: the checkpoint only moves after acks.
      const finished = await Promise.race([done.then(() => true), delay(STOP_GRACE_MS).then(() => false)]);
      if (!finished) {
        await held.producer?.disconnect().catch(() => {});
        await held.lockClient?.end().catch(() => {});
        await done;
      }
    },
  };
}

export { logLevel };
