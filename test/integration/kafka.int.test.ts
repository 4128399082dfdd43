// Proves the real Kafka broker is there and kafkajs speaks to it: create a topic, produce, consume.

import { ulid } from "ulid";
import { afterAll, describe, expect, it } from "vitest";
import { Kafka, logLevel } from "../../src/events/kafka.ts";
import { TEST_KAFKA_BROKERS } from "../support/services.ts";

const kafka = new Kafka({
  clientId: "mailledger-smoke",
  brokers: TEST_KAFKA_BROKERS,
  logLevel: logLevel.NOTHING,
});
const topic = `mailledger.smoke.${ulid().toLowerCase()}`;
const admin = kafka.admin();

afterAll(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
});

describe("Kafka broker", () => {
  it("creates a topic, produces keyed messages and consumes them in per-key order", async () => {
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(3);

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 30 }, (_, i) => ({ key: `user-${i % 3}`, value: String(i) }));
    await producer.send({ topic, messages: sent });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `smoke-${ulid()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; value: string }[] = [];
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          received.push({ key: message.key!.toString(), value: message.value!.toString() });
          if (received.length === sent.length) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();

    for (const key of ["user-0", "user-1", "user-2"]) {
      expect(received.filter((m) => m.key === key).map((m) => m.value)).toEqual(
        sent.filter((m) => m.key === key).map((m) => m.value),
      );
    }
  });
});
