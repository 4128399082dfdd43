// Two deployments on one Kafka cluster, each with its own KAFKA_TOPIC and default settings
// otherwise: their projectors and notifiers take consumer groups named from their topics, so
// neither joins the other's group, and both views keep up with their own log.
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendMessage } from "../../src/commands/messages/append.ts";
import { testDomainContext, testMessage } from "../../src/commands/testing/context.ts";
import { createUser } from "../../src/commands/user/handlers.ts";
import { loadConfig } from "../../src/config.ts";
import { Kafka, logLevel } from "../../src/events/kafka.ts";
import { silentLogger } from "../../src/imap-gateway/logger.ts";
import { type RunningNode, startNode } from "../../src/serve/serve.ts";
import { bodiesViewCaughtUp } from "../support/bodiesView.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from "../support/services.ts";

const kafka = new Kafka({
  clientId: "deployments-test",
  brokers: TEST_KAFKA_BROKERS,
  logLevel: logLevel.NOTHING,
});

interface Deployment {
  topic: string;
  db: TestDatabase;
  node: RunningNode;
}

const deployments: Deployment[] = [];

beforeAll(async () => {
  for (let i = 0; i < 2; i++) {
    const db = await createTestDatabase();
    const topic = `mailledger.test.deployment.${ulid().toLowerCase()}`;
    const config = loadConfig({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(","),
      KAFKA_TOPIC: topic,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: `mailledger:test:${ulid().toLowerCase()}`,
    });
    // Default consumer groups: none passed, as `mailledger serve` runs them.
    const node = await startNode(config, silentLogger, {
      roles: ["relay", "projector", "notifier"],
      kafkaSessionTimeoutMs: 6_000,
    });
    deployments.push({ topic, db, node });
  }
});

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  for (const { topic, db, node } of deployments) {
    await node.close();
    await admin.deleteGroups([`${topic}.projections`, `${topic}.notifier`]).catch(() => {});
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await db.drop();
  }
  await admin.disconnect();
});

describe("two deployments on one Kafka", () => {
  it("keep their consumer groups apart and both views up to date", async () => {
    for (const [i, { db }] of deployments.entries()) {
      const ctx = testDomainContext(db.pool);
      const { userId } = await createUser(ctx, { username: `owner${i}`, password: "pw" });
      for (let n = 0; n < 5; n++) {
        await appendMessage(ctx, {
          userId,
          mailboxName: "INBOX",
          body: testMessage(`deployment ${i} mail ${n}`),
        });
      }
    }
    for (const { db } of deployments) await bodiesViewCaughtUp(db.pool, 60_000);

    const admin = kafka.admin();
    await admin.connect();
    try {
      const groups = (await admin.listGroups()).groups.map((group) => group.groupId);
      for (const { topic } of deployments) {
        expect(groups).toContain(`${topic}.projections`);
        expect(groups).toContain(`${topic}.notifier`);
      }
      // Each projector group reads its own topic only.
      for (const { topic } of deployments) {
        const [described] = (await admin.describeGroups([`${topic}.projections`])).groups;
        expect(described!.members.length).toBeGreaterThan(0);
        const offsets = await admin.fetchOffsets({ groupId: `${topic}.projections`, topics: [topic] });
        expect(offsets.map((entry) => entry.topic)).toEqual([topic]);
      }
    } finally {
      await admin.disconnect();
    }
  });
});
