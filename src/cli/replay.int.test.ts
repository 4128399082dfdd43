import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureCli } from "../../test/support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/database.ts";
import { TEST_KAFKA_BROKERS } from "../../test/support/services.ts";
import { createMailbox } from "../commands/mailbox/handlers.ts";
import { appendMessage } from "../commands/messages/append.ts";
import { testDomainContext, testMessage } from "../commands/testing/context.ts";
import { createUser } from "../commands/user/handlers.ts";
import { Kafka, logLevel } from "../events/kafka.ts";
import { REDACTED, type WireEnvelope } from "../events/relay/wireEnvelope.ts";
import { type ReplayDeps, runReplayCommand } from "./replay.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  const ctx = testDomainContext(db.pool);
  for (const username of ["ann", "bob"]) {
    const { userId } = await createUser(ctx, { username, password: "pw" });
    await createMailbox(ctx, { userId, name: "Work" });
    await appendMessage(ctx, { userId, mailboxName: "INBOX", body: testMessage(`Hello ${username}`) });
  }
});
afterAll(async () => {
  await db.drop();
});

async function run(argv: string[], extra: Partial<ReplayDeps> = {}) {
  return captureCli(({ stdout, stderr }) =>
    runReplayCommand(argv, { pool: db.pool, stdout, stderr, ...extra }),
  );
}

const envelopes = (text: string) =>
  text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as WireEnvelope);

describe("mailledger replay", () => {
  it("writes the whole log as JSON lines in position order, hashes redacted, quiet in a pipe", async () => {
    const result = await run(["--from-position", "0"], { batchSize: 2 });
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const events = envelopes(result.stdout);
    expect(events.length).toBeGreaterThanOrEqual(6);
    expect(events.map((e) => e.globalPosition)).toEqual(
      [...events.map((e) => e.globalPosition)].sort((a, b) => a - b),
    );
    expect(events[0]?.globalPosition).toBe(1);
    const created = events.filter((e) => e.type === "UserCreated");
    expect(created).toHaveLength(2);
    for (const event of created) expect((event.data as { passwordHash: string }).passwordHash).toBe(REDACTED);
    expect(result.stdout).not.toContain("$argon2");
    expect(events.some((e) => e.type === "MessageAppended")).toBe(true);
  });

  it("replays a window of positions, both ends included", async () => {
    const result = await run(["--from-position", "3", "--to-position", "5", "--to", "stdout"], {
      batchSize: 1,
    });
    expect(result.code).toBe(0);
    expect(envelopes(result.stdout).map((e) => e.globalPosition)).toEqual([3, 4, 5]);
    expect(envelopes((await run(["--from-position", "100000"])).stdout)).toEqual([]);
  });

  it("refuses bad options with the usage text (exit 2)", async () => {
    for (const argv of [
      [],
      ["--from-position", "x"],
      ["--from-position", "5", "--to-position", "2"],
      ["--from-position", "1", "--to", "file"],
      ["--from-position", "1", "extra"],
      ["--from-position", "1", "--to", "kafka"],
    ]) {
      const result = await run(argv);
      expect(result.code, argv.join(" ")).toBe(2);
      expect(result.stderr).toContain("usage:");
    }
  });

  it("re-feeds Kafka: every event once, in order per user, keyed by user id", async () => {
    const topic = `mailledger.replay.${ulid().toLowerCase()}`;
    const kafka = new Kafka({
      clientId: "replay-test",
      brokers: TEST_KAFKA_BROKERS,
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const expected = envelopes((await run(["--from-position", "1"])).stdout);
      const result = await run(["--from-position", "1", "--to", "kafka"], {
        kafkaBrokers: TEST_KAFKA_BROKERS,
        kafkaTopic: topic,
        batchSize: 3,
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`replayed ${expected.length} events to ${topic}`);

      const consumer = kafka.consumer({ groupId: `replay-test-${ulid()}` });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received: { key: string; envelope: WireEnvelope }[] = [];
      await new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            received.push({
              key: message.key!.toString(),
              envelope: JSON.parse(message.value!.toString()) as WireEnvelope,
            });
            if (received.length === expected.length) resolve();
          },
        });
      });
      await consumer.disconnect();
      expect(received.map((m) => m.envelope.globalPosition).sort((a, b) => a - b)).toEqual(
        expected.map((e) => e.globalPosition),
      );
      for (const { key, envelope } of received) expect(key).toBe(envelope.metadata.userId);
      for (const key of new Set(received.map((m) => m.key))) {
        const positions = received.filter((m) => m.key === key).map((m) => m.envelope.globalPosition);
        expect(positions).toEqual([...positions].sort((a, b) => a - b));
      }
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  }, 60_000);
});
