// `mailledger replay --from-position N [--to-position M] [--to stdout|kafka]`: the log's events in
// global-position order, as the relay's wire envelope (password hashes redacted): JSON lines on
// standard output, or a re-feed of the Kafka topic for consumers that need one. Reads the log
// with readAll, so no event that commits late is skipped; without --to-position it stops at the
// head of the log as it was when it got there.
import type { Writable } from "node:stream";
import { parseArgs } from "node:util";
import type { DatabasePool } from "slonik";
import type { RecordedEvent } from "../events/envelope.ts";
import { Kafka, logLevel, type Producer } from "../events/kafka.ts";
import { readAll } from "../events/readAll.ts";
import { ensureEventsTopic, toKafkaMessage } from "../events/relay/outboxRelay.ts";
import { toWireEnvelope } from "../events/relay/wireEnvelope.ts";
import { type AdminCommandDeps, EXIT_OK, positionalsOf, runAdmin, UsageError, write } from "./mailbox.ts";

export const REPLAY_USAGE = `usage:
  mailledger replay --from-position N [--to-position M] [--to stdout|kafka]
N, M: global positions, both included (M: the head of the log when absent).
--to stdout (the default): one JSON wire envelope per line, as the relay publishes them.
--to kafka: to KAFKA_TOPIC on KAFKA_BROKERS, key = the user id (consumers skip what they saw by position).`;

export interface ReplayDeps extends Pick<AdminCommandDeps, "pool" | "stdout" | "stderr"> {
  /** KAFKA_BROKERS; needed by --to kafka only. */
  kafkaBrokers?: readonly string[];
  /** KAFKA_TOPIC (config.kafkaTopic). */
  kafkaTopic?: string;
  /** Events per page (and per Kafka batch). */
  batchSize?: number;
}

const DEFAULT_BATCH_SIZE = 500;

function parsePosition(value: string, option: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${option} "${value}" is not a global position (0, 1, 2, ...)`);
  }
  return Number(value);
}

/** Pages of events in (after, toPosition], in position order, up to the head of the log. */
export async function* replayPages(
  pool: DatabasePool,
  fromPosition: number,
  toPosition: number | undefined,
  batchSize = DEFAULT_BATCH_SIZE,
): AsyncGenerator<{ events: RecordedEvent[]; position: number }> {
  let after = Math.max(0, fromPosition - 1);
  for (;;) {
    const page = await readAll(pool, after, batchSize, toPosition === undefined ? {} : { toPosition });
    if (page.events.length > 0 || page.position > after)
      yield { events: page.events, position: page.position };
    after = page.position;
    if (page.caughtUp) return;
  }
}

/** Writes text, waiting for the stream to take it; false when the reader went away (EPIPE). */
function writeChunk(stream: Writable, text: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => {
      if (!error) resolve(true);
      else if ((error as { code?: string }).code === "EPIPE") resolve(false);
      else reject(error);
    });
  });
}

function progressOn(stderr: Writable) {
  const tty = (stderr as { isTTY?: boolean }).isTTY === true;
  return {
    update(count: number, position: number) {
      if (tty) stderr.write(`\rreplayed ${count} event${count === 1 ? "" : "s"} (position ${position})`);
    },
    done() {
      if (tty) stderr.write("\n");
    },
  };
}

export async function runReplayCommand(argv: string[], deps: ReplayDeps): Promise<number> {
  return runAdmin("replay", REPLAY_USAGE, deps, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        "from-position": { type: "string" },
        "to-position": { type: "string" },
        to: { type: "string", default: "stdout" },
      },
    });
    positionalsOf(positionals, []);
    if (values["from-position"] === undefined) throw new UsageError("--from-position is needed");
    const from = parsePosition(values["from-position"], "--from-position");
    const to =
      values["to-position"] === undefined ? undefined : parsePosition(values["to-position"], "--to-position");
    if (to !== undefined && to < from)
      throw new UsageError(`--to-position ${to} is before --from-position ${from}`);
    if (values.to !== "stdout" && values.to !== "kafka") {
      throw new UsageError(`--to "${values.to}" is not stdout or kafka`);
    }
    const progress = progressOn(deps.stderr);
    let count = 0;

    if (values.to === "stdout") {
      for await (const page of replayPages(deps.pool, from, to, deps.batchSize)) {
        const lines = page.events.map((event) => `${JSON.stringify(toWireEnvelope(event))}\n`).join("");
        // A reader that goes away early (`replay ... | head`) ends the replay quietly.
        if (lines !== "" && !(await writeChunk(deps.stdout, lines))) break;
        count += page.events.length;
        progress.update(count, page.position);
      }
      progress.done();
      return EXIT_OK;
    }

    const brokers = deps.kafkaBrokers ?? [];
    if (brokers.length === 0) throw new UsageError("--to kafka needs KAFKA_BROKERS");
    const topic = deps.kafkaTopic;
    if (topic === undefined) throw new UsageError("--to kafka needs KAFKA_TOPIC");
    const kafka = new Kafka({
      clientId: "mailledger-replay",
      brokers: [...brokers],
      logLevel: logLevel.NOTHING,
    });
    await ensureEventsTopic(kafka, topic);
    const producer: Producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    let last: number | undefined;
    try {
      for await (const page of replayPages(deps.pool, from, to, deps.batchSize)) {
        if (page.events.length > 0) {
          await producer.send({ topic, acks: -1, messages: page.events.map(toKafkaMessage) });
          last = page.events.at(-1)!.globalPosition;
        }
        count += page.events.length;
        progress.update(count, page.position);
      }
    } finally {
      progress.done();
      await producer.disconnect().catch(() => {});
    }
    write(
      deps.stdout,
      `replayed ${count} event${count === 1 ? "" : "s"} to ${topic}${last === undefined ? "" : ` (positions ${from}..${last})`}`,
    );
    return EXIT_OK;
  });
}
