// The relay, the projector and the notifier each make sure of the events topic as they start,
// often at the same moment (a deployment started at once): none of them may fail on the race.
import { ulid } from "ulid";
import { afterAll, expect, it } from "vitest";
import { TEST_KAFKA_BROKERS } from "../../../test/support/services.ts";
import { Kafka, logLevel } from "../kafka.ts";
import { ensureEventsTopic } from "./outboxRelay.ts";

const kafka = new Kafka({ brokers: TEST_KAFKA_BROKERS, logLevel: logLevel.NOTHING });
const made: string[] = [];

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: made, timeout: 10_000 }).catch(() => {});
  await admin.disconnect();
});

it("three processes making one new topic at once all go on, and its partitions have leaders", async () => {
  for (let round = 0; round < 6; round++) {
    const topic = `mailledger.test.race.${ulid().toLowerCase()}`;
    made.push(topic);
    const results = await Promise.allSettled([1, 2, 3].map(() => ensureEventsTopic(kafka, topic)));
    expect(results.map((result) => (result.status === "rejected" ? String(result.reason) : "ok"))).toEqual([
      "ok",
      "ok",
      "ok",
    ]);
    const admin = kafka.admin();
    await admin.connect();
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    expect(topics[0]!.partitions.every((partition) => partition.leader >= 0)).toBe(true);
  }
});
