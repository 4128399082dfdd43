import { describe, expect, it } from "vitest";
import { assertDistributedServices, ConfigError, loadConfig, parseSize } from "./config.ts";

describe("loadConfig", () => {
  it("defaults to the embedded mode with nothing set", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      mode: "embedded",
      imapHost: "127.0.0.1",
      imapPort: 1143,
      allowInsecureAuth: false,
      blobStore: { kind: "postgres" },
      dataDir: "./data",
      logLevel: "info",
      kafkaTopic: "mailledger.events",
      redisPrefix: "mailledger",
      imapCompress: true,
      blobCacheBytes: 64 * 1024 * 1024,
    });
    expect(loadConfig({ BLOB_CACHE: "0" }).blobCacheBytes).toBe(0);
    expect(loadConfig({ REDIS_PREFIX: "tenant-b" }).redisPrefix).toBe("tenant-b");
    expect(loadConfig({ IMAP_COMPRESS: "false" }).imapCompress).toBe(false);
    expect(loadConfig({}).imapLiteralPlus).toBe(true);
    expect(loadConfig({ IMAP_LITERAL_PLUS: "false" }).imapLiteralPlus).toBe(false);
    expect(loadConfig({ BLOB_CACHE: "8M" }).blobCacheBytes).toBe(8 * 1024 * 1024);
    expect(loadConfig({}).flagsCacheBytes).toBe(64 * 1024 * 1024);
    expect(loadConfig({ FLAGS_CACHE: "0" }).flagsCacheBytes).toBe(0);
    expect(loadConfig({ FLAGS_CACHE: "256M" }).flagsCacheBytes).toBe(256 * 1024 * 1024);
    expect(loadConfig({})).toMatchObject({
      doorbellPollMs: 1_000,
      idleCheckMs: 30_000,
      pgStatementTimeoutMs: 60_000,
      kafkaSessionTimeoutMs: 10_000,
    });
    expect(
      loadConfig({ DOORBELL_POLL_MS: "250", IDLE_CHECK_MS: "5000", PG_STATEMENT_TIMEOUT_MS: "2000" }),
    ).toMatchObject({
      doorbellPollMs: 250,
      idleCheckMs: 5_000,
      pgStatementTimeoutMs: 2_000,
    });
    expect(loadConfig({}).metadataLimits).toMatchObject({
      maxValueSize: 16 * 1024,
      maxEntriesPerMailbox: 100,
    });
    expect(
      loadConfig({ METADATA_MAX_VALUE_SIZE: "1M", METADATA_MAX_ENTRIES: "500" }).metadataLimits,
    ).toMatchObject({
      maxValueSize: 1024 * 1024,
      maxEntriesPerMailbox: 500,
    });
  });

  it("takes the gateway's limits from IMAP_MAX_* and the like, the rest left to their defaults", () => {
    expect(loadConfig({}).gatewayLimits).toEqual({});
    expect(
      loadConfig({
        IMAP_MAX_CONNECTIONS: "500",
        IMAP_MAX_LITERAL_SIZE: "1M",
        IMAP_MAX_APPEND_LITERAL_SIZE: "100M",
        IMAP_MAX_NESTING_DEPTH: "20",
        IMAP_IDLE_TIMEOUT_MS: "3600000",
      }).gatewayLimits,
    ).toEqual({
      maxConnections: 500,
      maxLiteralSize: 1024 * 1024,
      maxAppendLiteralSize: 100 * 1024 * 1024,
      maxNestingDepth: 20,
      idleTimeoutAuthenticatedMs: 3_600_000,
    });
  });

  it("reads the LMTP listener's settings, loopback-only by default", () => {
    expect(loadConfig({}).lmtp).toEqual({
      host: "127.0.0.1",
      port: 2424,
      socket: undefined,
      recipientDelimiter: "+",
      detailMailbox: true,
      domains: null,
      allowedClients: ["127.0.0.0/8", "::1"],
      quotaReply: "permanent",
      duplicateWindowMs: 3_600_000,
    });
    expect(
      loadConfig({
        LMTP_HOST: "10.0.0.5",
        LMTP_PORT: "24",
        LMTP_SOCKET: "/run/mailledger/lmtp",
        LMTP_RECIPIENT_DELIMITER: "",
        LMTP_DETAIL_MAILBOX: "no",
        LMTP_DOMAINS: "Example.org, example.net",
        LMTP_ALLOWED_CLIENTS: "10.0.0.0/24, fd00::1",
        LMTP_QUOTA_REPLY: "temporary",
        LMTP_DUPLICATE_WINDOW_MS: "0",
      }).lmtp,
    ).toEqual({
      host: "10.0.0.5",
      port: 24,
      socket: "/run/mailledger/lmtp",
      recipientDelimiter: "",
      detailMailbox: false,
      domains: ["example.org", "example.net"],
      allowedClients: ["10.0.0.0/24", "fd00::1"],
      quotaReply: "temporary",
      duplicateWindowMs: 0,
    });
    expect(loadConfig({ LMTP_PORT: "0" }).lmtp.port).toBe(0);
  });

  it("takes the distributed mode when database, Kafka and Redis are all set", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/mail",
      KAFKA_BROKERS: "127.0.0.1:9092, 127.0.0.2:9092",
      REDIS_URL: "redis://127.0.0.1:6379",
      BLOB_STORE: "fs:/var/lib/mailledger/blobs",
      APPEND_LIMIT: "50M",
    });
    expect(config.mode).toBe("distributed");
    expect(config.kafkaBrokers).toEqual(["127.0.0.1:9092", "127.0.0.2:9092"]);
    expect(config.blobStore).toEqual({ kind: "fs", dir: "/var/lib/mailledger/blobs" });
    expect(config.appendLimit).toBe(50 * 1024 * 1024);
  });

  it.each([
    [{ IMAP_PORT: "70000" }, "IMAP_PORT"],
    [{ IMAP_PORT: "abc" }, "IMAP_PORT"],
    [{ ALLOW_INSECURE_AUTH: "maybe" }, "ALLOW_INSECURE_AUTH"],
    [{ BLOB_STORE: "s3" }, "BLOB_STORE"],
    [{ APPEND_LIMIT: "lots" }, "APPEND_LIMIT"],
    [{ BLOB_CACHE: "-1" }, "BLOB_CACHE"],
    [{ FLAGS_CACHE: "lots" }, "FLAGS_CACHE"],
    [{ LOG_LEVEL: "chatty" }, "LOG_LEVEL"],
    [{ KAFKA_TOPIC: "no spaces" }, "KAFKA_TOPIC"],
    [{ REDIS_PREFIX: "two words" }, "REDIS_PREFIX"],
    [{ IMAP_COMPRESS: "sometimes" }, "IMAP_COMPRESS"],
    [{ IMAP_LITERAL_PLUS: "sometimes" }, "IMAP_LITERAL_PLUS"],
    [{ DOORBELL_POLL_MS: "5" }, "DOORBELL_POLL_MS"],
    [{ DOORBELL_POLL_MS: "1.5" }, "DOORBELL_POLL_MS"],
    [{ IDLE_CHECK_MS: "half a minute" }, "IDLE_CHECK_MS"],
    [{ IDLE_CHECK_MS: "3600001" }, "IDLE_CHECK_MS"],
    [{ METADATA_MAX_VALUE_SIZE: "512" }, "METADATA_MAX_VALUE_SIZE"],
    [{ METADATA_MAX_ENTRIES: "9" }, "METADATA_MAX_ENTRIES"],
    [{ KAFKA_SESSION_TIMEOUT_MS: "1000" }, "KAFKA_SESSION_TIMEOUT_MS"],
    [{ PG_STATEMENT_TIMEOUT_MS: "10" }, "PG_STATEMENT_TIMEOUT_MS"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ TLS_CERT: "/c.pem" }, "TLS_KEY"],
    [{ IMAPS_PORT: "993" }, "IMAPS_PORT"],
    [{ DATABASE_URL: "postgres://x/db", REDIS_URL: "redis://r", KAFKA_BROKERS: "nohost" }, "KAFKA_BROKERS"],
    [{ IMAP_MAX_LINE_LENGTH: "100" }, "IMAP_MAX_LINE_LENGTH"],
    [{ IMAP_MAX_CONNECTIONS: "0" }, "IMAP_MAX_CONNECTIONS"],
    [{ IMAP_MAX_NESTING_DEPTH: "deep" }, "IMAP_MAX_NESTING_DEPTH"],
    [{ IMAP_MAX_LITERAL_SIZE: "big" }, "IMAP_MAX_LITERAL_SIZE"],
    [{ LMTP_PORT: "24x" }, "LMTP_PORT"],
    [{ LMTP_RECIPIENT_DELIMITER: "++" }, "LMTP_RECIPIENT_DELIMITER"],
    [{ LMTP_DOMAINS: "example.org, bad domain" }, "LMTP_DOMAINS"],
    [{ LMTP_ALLOWED_CLIENTS: "10.0.0.0/33" }, "LMTP_ALLOWED_CLIENTS"],
    [{ LMTP_ALLOWED_CLIENTS: "localhost" }, "LMTP_ALLOWED_CLIENTS"],
    [{ LMTP_QUOTA_REPLY: "maybe" }, "LMTP_QUOTA_REPLY"],
    [{ LMTP_DETAIL_MAILBOX: "perhaps" }, "LMTP_DETAIL_MAILBOX"],
    [{ LMTP_DUPLICATE_WINDOW_MS: "10" }, "LMTP_DUPLICATE_WINDOW_MS"],
  ])("refuses %j naming %s", (env, setting) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe(setting);
    expect((error as Error).message).toContain(setting);
  });
});

describe("assertDistributedServices", () => {
  it("accepts DATABASE_URL alone for admin commands but not for the distributed server", () => {
    const config = loadConfig({ DATABASE_URL: "postgres://x/db" });
    expect(config.mode).toBe("distributed");
    expect(() => assertDistributedServices(config)).toThrow(/KAFKA_BROKERS, REDIS_URL/);
    expect(() =>
      assertDistributedServices(
        loadConfig({ DATABASE_URL: "postgres://x/db", KAFKA_BROKERS: "k:9092", REDIS_URL: "redis://r" }),
      ),
    ).not.toThrow();
    expect(() => assertDistributedServices(loadConfig({}))).not.toThrow();
  });
});

describe("parseSize", () => {
  it("reads bytes and K/M/G suffixes", () => {
    expect(parseSize("X", "1024")).toBe(1024);
    expect(parseSize("X", "10k")).toBe(10240);
    expect(parseSize("X", "2MiB")).toBe(2 * 1024 * 1024);
    expect(parseSize("X", "1G")).toBe(1024 ** 3);
  });
});
