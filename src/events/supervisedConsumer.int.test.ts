// A consumer whose run ends with an error kafkajs calls final is started again, and goes on from
// its group's committed offset: nothing it had not finished is skipped, nothing finished repeats.
import { ulid } from "ulid";
import { afterAll, expect, it } from "vitest";
import { TEST_KAFKA_BROKERS } from "../../test/support/services.ts";
import { Kafka, logLevel } from "./kafka.ts";
import { ensureEventsTopic } from "./relay/outboxRelay.ts";
import { type SupervisedConsumer, startSupervisedConsumer } from "./supervisedConsumer.ts";

const kafka = new Kafka({
  brokers: TEST_KAFKA_BROKERS,
  logLevel: logLevel.NOTHING,
  retry: { initialRetryTime: 100, maxRetryTime: 500, retries: 3 },
});
const topic = `mailledger.test.supervised.${ulid().toLowerCase()}`;
let supervised: SupervisedConsumer | undefined;

afterAll(async () => {
  await supervised?.stop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic], timeout: 10_000 }).catch(() => {});
  await admin.disconnect();
});

it("a crash kafkajs would not restart starts a new consumer, which reads on from the committed offset", async () => {
  await ensureEventsTopic(kafka, topic);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: ["one", "two", "three"].map((value) => ({ key: "k", value })) });

  const seen: string[] = [];
  const crashes: string[] = [];
  let failOnce = true;
  const groupId = `${topic}.group`;
  const done = new Promise<void>((resolve) => {
    const check = () => (seen.includes("four") ? resolve() : setTimeout(check, 50));
    check();
  });
  supervised = await startSupervisedConsumer({
    create: () =>
      kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 }),
    start: async (consumer) => {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommitThreshold: 1,
        eachMessage: async ({ message }) => {
          const value = message.value!.toString();
          if (value === "two" && failOnce) {
            failOnce = false;
            // Final for kafkajs: it ends the run for good, as it does on UNKNOWN_MEMBER_ID.
            throw Object.assign(new Error("as a forgotten member's commit would"), { retriable: false });
          }
          seen.push(value);
        },
      });
    },
    onError: (error) => crashes.push(String(error)),
    restartDelayMs: 200,
  });
  await producer.send({ topic, messages: [{ key: "k", value: "four" }] });
  await producer.disconnect();
  await Promise.race([
    done,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${seen.join(",")}`)), 60_000)),
  ]);

  expect(seen).toEqual(["one", "two", "three", "four"]);
  expect(crashes.some((line) => line.includes("as a forgotten member's commit would"))).toBe(true);
  expect(supervised.starts).toBe(2);
}, 90_000);
