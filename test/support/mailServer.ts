// A whole mailledger node for end-to-end tests: a fresh PostgreSQL database, the real Redis
// notice bus, and the projector and notifier fed either through Kafka (the distributed path) or by
// tailing the log in process (the embedded path, faster to start). The IMAP gateway listens on a
// free port.

import { ulid } from "ulid";
import { createUser } from "../../src/commands/user/handlers.ts";
import { type Config, loadConfig } from "../../src/config.ts";
import { createPostgresBlobStore } from "../../src/events/blobs/postgresBlobStore.ts";
import { Kafka, logLevel } from "../../src/events/kafka.ts";
import { silentLogger } from "../../src/imap-gateway/logger.ts";
import type { GatewayOptions } from "../../src/imap-gateway/options.ts";
import { type Role, type RunningNode, type ServeOptions, startNode } from "../../src/serve/serve.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from "./services.ts";

export interface TestMailServer {
  host: string;
  port: number;
  db: TestDatabase;
  node: RunningNode;
  config: Config;
  /** Creates an account through the command side (as `mailledger user create` does). */
  createUser(username: string, password: string): Promise<string>;
  /** Starts another node on the same database (multi-node tests); `options` as startNode's. */
  startNode(roles?: Role[], options?: Pick<ServeOptions, "notices">): Promise<RunningNode>;
  close(): Promise<void>;
}

export interface TestMailServerOptions {
  /** "kafka": relay + Kafka consumer group (distributed); "embedded": in-process tailing. */
  transport?: "kafka" | "embedded";
  gateway?: Partial<GatewayOptions>;
  env?: Record<string, string>;
}

export async function startTestMailServer(options: TestMailServerOptions = {}): Promise<TestMailServer> {
  const db = await createTestDatabase();
  const transport = options.transport ?? "embedded";
  const unique = ulid().toLowerCase();
  const config = loadConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(","),
    REDIS_URL: TEST_REDIS_URL,
    IMAP_PORT: "1",
    ALLOW_INSECURE_AUTH: "true",
    NODE_ID: `test-${unique}`,
    // Notices and failed logins of one test server stay apart from every other's on the shared Redis.
    REDIS_PREFIX: `mailledger:test:${unique}`,
    ...options.env,
  });
  config.imapPort = 0;
  const nodes: RunningNode[] = [];
  const launch = async (roles?: Role[], extra: Pick<ServeOptions, "notices"> = {}) => {
    const node = await startNode(config, silentLogger, {
      ...extra,
      roles:
        roles ??
        (transport === "embedded"
          ? ["gateway", "projector", "notifier"]
          : ["gateway", "projector", "relay", "notifier"]),
      topic: `mailledger.test.${unique}`,
      groupId: `projections-${unique}`,
      notifierGroupId: `notifier-${unique}`,
      kafkaSessionTimeoutMs: 6_000,
      gateway: options.gateway,
      fanOut: transport === "kafka" ? "kafka" : "in-process",
    });
    nodes.push(node);
    return node;
  };
  const node = await launch();
  return {
    host: "127.0.0.1",
    port: node.gateway!.port,
    db,
    node,
    config,
    async createUser(username, password) {
      const created = await createUser(
        {
          pool: db.pool,
          blobStore: createPostgresBlobStore(db.pool),
          metadata: { actor: "test" },
          now: () => new Date(),
          onCommitted: node.runtime.onCommitted,
        },
        { username, password },
      );
      return created.userId;
    },
    startNode: (roles, options) => launch(roles, options),
    async close() {
      for (const running of nodes.reverse()) await running.close();
      await db.drop();
      if (transport === "kafka") {
        // The run's topic and consumer group go too: a broker kept across runs keeps no litter.
        const admin = new Kafka({ brokers: TEST_KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
        await admin
          .connect()
          .then(() => admin.deleteTopics({ topics: [`mailledger.test.${unique}`], timeout: 10_000 }))
          .then(() => admin.deleteGroups([`projections-${unique}`, `notifier-${unique}`]))
          .catch(() => {})
          .finally(() => admin.disconnect());
      }
    },
  };
}
