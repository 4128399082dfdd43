// Configuration from environment variables (DESIGN.md, Configuration). Bad values stop the
// process at start with a message naming the setting; nothing is guessed.
import { isIP } from "node:net";
import { DEFAULT_METADATA_LIMITS, type MetadataLimits } from "./commands/metadata/decider.ts";
import { GatewayConfigError, type GatewayLimits, resolveLimits } from "./imap-gateway/options.ts";

export type Mode = "embedded" | "distributed";
export type BlobStoreSetting = { kind: "postgres" } | { kind: "fs"; dir: string };
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Config {
  mode: Mode;
  databaseUrl: string | undefined;
  kafkaBrokers: string[];
  /** The events topic; one per deployment (DESIGN.md: mailledger.events). */
  kafkaTopic: string;
  redisUrl: string | undefined;
  /**
   * Starts every Redis name of the deployment (REDIS_PREFIX): the notice channel
   * `<prefix>:notices` and the login throttle's keys `<prefix>:login:...`.
   */
  redisPrefix: string;
  imapHost: string;
  imapPort: number;
  imapsPort: number | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  allowInsecureAuth: boolean;
  /** Offer COMPRESS=DEFLATE (RFC 4978) to authenticated clients (IMAP_COMPRESS). */
  imapCompress: boolean;
  /** IMAP_LITERAL_PLUS: offer LITERAL+ beside LITERAL- (RFC 7888); default true. */
  imapLiteralPlus: boolean;
  blobStore: BlobStoreSetting;
  /** The gateway's limits set by IMAP_MAX_* and the like (GATEWAY_LIMIT_VARIABLES); the rest default. */
  gatewayLimits: Partial<GatewayLimits>;
  /** Global APPENDLIMIT in bytes (RFC 7889); undefined means no limit beyond the literal cap. */
  appendLimit: number | undefined;
  /** Bytes of recently handled message bodies each node keeps in memory (BLOB_CACHE); 0: none. */
  blobCacheBytes: number;
  /** Bytes of large mailboxes' FLAGS and MODSEQ each node keeps for resyncs (FLAGS_CACHE); 0: none. */
  flagsCacheBytes: number;
  /**
   * How often selected mailboxes look for changes themselves while the doorbell (Redis) cannot be
   * heard (DOORBELL_POLL_MS): IDLE clients then converge within this (DESIGN.md contract 9).
   */
  doorbellPollMs: number;
  /** The projector's and notifier's Kafka consumer session timeout (KAFKA_SESSION_TIMEOUT_MS). */
  kafkaSessionTimeoutMs: number;
  /** How often an IDLE session looks at its mailbox whatever the doorbell says (IDLE_CHECK_MS). */
  idleCheckMs: number;
  /** METADATA (RFC 5464) limits: METADATA_MAX_VALUE_SIZE, METADATA_MAX_ENTRIES. */
  metadataLimits: MetadataLimits;
  /**
   * PostgreSQL cancels a statement of the server's that runs longer (PG_STATEMENT_TIMEOUT_MS): a
   * command waiting on a lock or a stuck disk is answered NO [UNAVAILABLE] (not done) instead of
   * hanging. Not applied to the embedded PGlite.
   */
  pgStatementTimeoutMs: number;
  nodeId: string;
  metricsPort: number | undefined;
  /** /readyz answers 503 when the relay or a projection of this node is further behind (READY_MAX_LAG). */
  readyMaxLag: number;
  logLevel: LogLevel;
  /** Where the embedded mode keeps its PGlite database and blobs. */
  dataDir: string;
  /** Mail delivery over LMTP (RFC 2033): the `lmtp` role's settings. */
  lmtp: LmtpSettings;
}

export interface LmtpSettings {
  /** LMTP_HOST: the address the TCP listener binds. */
  host: string;
  /** LMTP_PORT: the TCP port (0: any free port, for tests); ignored when `socket` is set. */
  port: number;
  /** LMTP_SOCKET: a Unix socket path to listen on instead of TCP. */
  socket: string | undefined;
  /** LMTP_RECIPIENT_DELIMITER: separates a local part's detail (`alice+lists`); "" for none. */
  recipientDelimiter: string;
  /** LMTP_DETAIL_MAILBOX: the detail delivers to the user's mailbox of that name when it exists. */
  detailMailbox: boolean;
  /** LMTP_DOMAINS: the recipient domains accepted; null: any. */
  domains: string[] | null;
  /** LMTP_ALLOWED_CLIENTS: the addresses and CIDR ranges that may connect over TCP. */
  allowedClients: string[];
  /** LMTP_QUOTA_REPLY: over quota is permanent (552 5.2.2) or temporary (452 4.2.2, the MTA retries). */
  quotaReply: "permanent" | "temporary";
  /** LMTP_DUPLICATE_WINDOW_MS: a delivery retried within this is recognised and not stored twice; 0: off. */
  duplicateWindowMs: number;
}

/** LMTP_PORT's default: 24 is LMTP's registered port, but binding it needs privileges. */
export const DEFAULT_LMTP_PORT = 2424;

/** LMTP_DUPLICATE_WINDOW_MS's default: longer than an MTA's first retries after a lost reply. */
export const DEFAULT_LMTP_DUPLICATE_WINDOW_MS = 60 * 60 * 1000;

export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(`configuration error: ${setting}: ${message}`);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

type Env = Record<string, string | undefined>;

/** Every environment variable loadConfig reads (deployment files are checked against it). */
export const CONFIG_VARIABLES = [
  "DATABASE_URL",
  "KAFKA_BROKERS",
  "KAFKA_TOPIC",
  "KAFKA_SESSION_TIMEOUT_MS",
  "REDIS_URL",
  "REDIS_PREFIX",
  "IMAP_HOST",
  "IMAP_PORT",
  "IMAPS_PORT",
  "TLS_CERT",
  "TLS_KEY",
  "ALLOW_INSECURE_AUTH",
  "IMAP_COMPRESS",
  "IMAP_LITERAL_PLUS",
  "BLOB_STORE",
  "APPEND_LIMIT",
  "BLOB_CACHE",
  "FLAGS_CACHE",
  "DOORBELL_POLL_MS",
  "IDLE_CHECK_MS",
  "METADATA_MAX_VALUE_SIZE",
  "METADATA_MAX_ENTRIES",
  "PG_STATEMENT_TIMEOUT_MS",
  "NODE_ID",
  "METRICS_PORT",
  "READY_MAX_LAG",
  "LOG_LEVEL",
  "DATA_DIR",
  "IMAP_MAX_LINE_LENGTH",
  "IMAP_MAX_LITERAL_SIZE",
  "IMAP_MAX_APPEND_LITERAL_SIZE",
  "IMAP_MAX_NESTING_DEPTH",
  "IMAP_MAX_CONNECTIONS",
  "IMAP_MAX_CONNECTIONS_PER_USER",
  "IMAP_MAX_PIPELINED_COMMANDS",
  "IMAP_MAX_COMMANDS_PER_SECOND_BEFORE_AUTH",
  "IMAP_MAX_CONSECUTIVE_BAD_BEFORE_AUTH",
  "IMAP_IDLE_TIMEOUT_BEFORE_AUTH_MS",
  "IMAP_IDLE_TIMEOUT_MS",
  "IMAP_SHUTDOWN_GRACE_MS",
  "IMAP_MAX_FAILED_LOGINS_PER_ADDRESS",
  "IMAP_MAX_FAILED_LOGINS_PER_USER",
  "IMAP_FAILED_LOGIN_WINDOW_MS",
  "IMAP_FAILED_LOGIN_LOCKOUT_MS",
  "LMTP_HOST",
  "LMTP_PORT",
  "LMTP_SOCKET",
  "LMTP_RECIPIENT_DELIMITER",
  "LMTP_DETAIL_MAILBOX",
  "LMTP_DOMAINS",
  "LMTP_ALLOWED_CLIENTS",
  "LMTP_QUOTA_REPLY",
  "LMTP_DUPLICATE_WINDOW_MS",
] as const;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

function port(env: Env, name: string, fallback?: number): number | undefined {
  const value = text(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new ConfigError(name, `expected a TCP port between 1 and 65535, got "${value}"`);
  }
  return Number(value);
}

/** A duration in whole milliseconds, from `min` up to an hour. */
function milliseconds(env: Env, name: string, fallback: number, min: number): number {
  const value = text(env, name);
  if (value === undefined) return fallback;
  const ms = Number(value);
  if (!/^\d+$/.test(value) || ms < min || ms > 3_600_000) {
    throw new ConfigError(name, `expected milliseconds between ${min} and 3600000, got "${value}"`);
  }
  return ms;
}

function count(env: Env, name: string, fallback: number): number {
  const value = text(env, name);
  if (value === undefined) return fallback;
  if (!/^\d{1,12}$/.test(value)) throw new ConfigError(name, `expected a whole number, got "${value}"`);
  return Number(value);
}

/** RFC 5464 4.1: a server accepts values of at least 1024 octets and at least 10 entries. */
function metadataLimits(env: Env): MetadataLimits {
  const sizeText = text(env, "METADATA_MAX_VALUE_SIZE");
  const maxValueSize =
    sizeText === undefined
      ? DEFAULT_METADATA_LIMITS.maxValueSize
      : parseSize("METADATA_MAX_VALUE_SIZE", sizeText);
  if (maxValueSize < 1024) {
    throw new ConfigError("METADATA_MAX_VALUE_SIZE", "RFC 5464 asks for at least 1024 octets");
  }
  const maxEntriesPerMailbox = count(
    env,
    "METADATA_MAX_ENTRIES",
    DEFAULT_METADATA_LIMITS.maxEntriesPerMailbox,
  );
  if (maxEntriesPerMailbox < 10)
    throw new ConfigError("METADATA_MAX_ENTRIES", "RFC 5464 asks for at least 10");
  return { ...DEFAULT_METADATA_LIMITS, maxValueSize, maxEntriesPerMailbox };
}

function lmtpSettings(env: Env): LmtpSettings {
  const portText = text(env, "LMTP_PORT");
  const lmtpPort = portText === "0" ? 0 : port(env, "LMTP_PORT", DEFAULT_LMTP_PORT)!;
  const delimiter = env.LMTP_RECIPIENT_DELIMITER ?? "+";
  if (delimiter.length > 1 || /[\s@"\\]/.test(delimiter)) {
    throw new ConfigError(
      "LMTP_RECIPIENT_DELIMITER",
      `expected one character (such as + or -) or nothing, got "${delimiter}"`,
    );
  }
  const domainsText = (text(env, "LMTP_DOMAINS") ?? "*").toLowerCase();
  const domains =
    domainsText === "*"
      ? null
      : domainsText
          .split(",")
          .map((domain) => domain.trim())
          .filter((domain) => domain !== "");
  for (const domain of domains ?? []) {
    if (!/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/.test(domain)) {
      throw new ConfigError(
        "LMTP_DOMAINS",
        `expected * or domain names separated by commas, got "${domain}"`,
      );
    }
  }
  const allowedClients = (text(env, "LMTP_ALLOWED_CLIENTS") ?? "127.0.0.0/8,::1")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  for (const entry of allowedClients) {
    const [address, bits, extra] = entry.split("/");
    const family = isIP(address ?? "");
    const maxBits = family === 6 ? 128 : 32;
    const bitsValid = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !bitsValid || extra !== undefined) {
      throw new ConfigError(
        "LMTP_ALLOWED_CLIENTS",
        `expected IP addresses or CIDR ranges separated by commas, got "${entry}"`,
      );
    }
  }
  const quotaReply = (text(env, "LMTP_QUOTA_REPLY") ?? "permanent").toLowerCase();
  if (quotaReply !== "permanent" && quotaReply !== "temporary") {
    throw new ConfigError(
      "LMTP_QUOTA_REPLY",
      `expected permanent (552 5.2.2) or temporary (452 4.2.2), got "${quotaReply}"`,
    );
  }
  const windowText = text(env, "LMTP_DUPLICATE_WINDOW_MS");
  const duplicateWindowMs =
    windowText === "0"
      ? 0
      : milliseconds(env, "LMTP_DUPLICATE_WINDOW_MS", DEFAULT_LMTP_DUPLICATE_WINDOW_MS, 1000);
  return {
    host: text(env, "LMTP_HOST") ?? "127.0.0.1",
    port: lmtpPort,
    socket: text(env, "LMTP_SOCKET"),
    recipientDelimiter: delimiter,
    detailMailbox: bool(env, "LMTP_DETAIL_MAILBOX", true),
    domains,
    allowedClients,
    quotaReply,
    duplicateWindowMs,
  };
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = text(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (["1", "true", "yes", "on"].includes(value)) return true;
  if (["0", "false", "no", "off"].includes(value)) return false;
  throw new ConfigError(name, `expected true or false, got "${value}"`);
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Accepts plain bytes or a K/M/G suffix ("50M"); 0 means no limit. */
/** READY_MAX_LAG's default: events a node's relay or projection may trail the log and stay ready. */
export const DEFAULT_READY_MAX_LAG = 10_000;

/** IDLE_CHECK_MS's default: Dovecot's mailbox_idle_check_interval. */
export const DEFAULT_IDLE_CHECK_MS = 30_000;
/**
 * A consumer killed without leaving its group (kill -9, a lost host) holds its partitions this
 * long: a restarted projector or notifier rejoins only then. kafkajs has no static membership
 * (KIP-345), so the bound is this timeout; heartbeats go every tenth of it.
 */
export const DEFAULT_KAFKA_SESSION_TIMEOUT_MS = 10_000;

/**
 * PG_STATEMENT_TIMEOUT_MS's default: slonik's own, which the server had before it was a setting;
 * long enough for the largest legitimate statement (a FETCH 1:* over a million messages streams in
 * pages), short enough that an IMAP client still waits for the answer.
 */
export const DEFAULT_PG_STATEMENT_TIMEOUT_MS = 60_000;

/** DOORBELL_POLL_MS's default. */
export const DEFAULT_DOORBELL_POLL_MS = 1_000;

/** BLOB_CACHE's default: 64 MiB of recent bodies per node. */
export const DEFAULT_BLOB_CACHE_BYTES = 64 * 1024 * 1024;

/** FLAGS_CACHE's default: 64 MiB, about 3 million messages' FLAGS and MODSEQ per node. */
export const DEFAULT_FLAGS_CACHE_BYTES = 64 * 1024 * 1024;

export function parseSize(name: string, value: string): number {
  const match = /^(\d+)\s*([kmg]?)i?b?$/i.exec(value.trim());
  if (!match) throw new ConfigError(name, `expected a size such as 52428800 or 50M, got "${value}"`);
  return Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!;
}

/**
 * The gateway's limits an operator sets, one variable each (sizes take K/M/G, durations are
 * milliseconds); unset ones keep the defaults in src/imap-gateway/options.ts.
 */
export const GATEWAY_LIMIT_VARIABLES = {
  IMAP_MAX_LINE_LENGTH: { limit: "maxLineLength", size: true },
  IMAP_MAX_LITERAL_SIZE: { limit: "maxLiteralSize", size: true },
  IMAP_MAX_APPEND_LITERAL_SIZE: { limit: "maxAppendLiteralSize", size: true },
  IMAP_MAX_NESTING_DEPTH: { limit: "maxNestingDepth", size: false },
  IMAP_MAX_CONNECTIONS: { limit: "maxConnections", size: false },
  IMAP_MAX_CONNECTIONS_PER_USER: { limit: "maxConnectionsPerUser", size: false },
  IMAP_MAX_PIPELINED_COMMANDS: { limit: "maxPipelinedCommands", size: false },
  IMAP_MAX_COMMANDS_PER_SECOND_BEFORE_AUTH: { limit: "maxCommandsPerSecondBeforeAuth", size: false },
  IMAP_MAX_CONSECUTIVE_BAD_BEFORE_AUTH: { limit: "maxConsecutiveBadBeforeAuth", size: false },
  IMAP_IDLE_TIMEOUT_BEFORE_AUTH_MS: { limit: "idleTimeoutBeforeAuthMs", size: false },
  IMAP_IDLE_TIMEOUT_MS: { limit: "idleTimeoutAuthenticatedMs", size: false },
  IMAP_SHUTDOWN_GRACE_MS: { limit: "shutdownGraceMs", size: false },
  IMAP_MAX_FAILED_LOGINS_PER_ADDRESS: { limit: "maxFailedLoginsPerAddress", size: false },
  IMAP_MAX_FAILED_LOGINS_PER_USER: { limit: "maxFailedLoginsPerUser", size: false },
  IMAP_FAILED_LOGIN_WINDOW_MS: { limit: "failedLoginWindowMs", size: false },
  IMAP_FAILED_LOGIN_LOCKOUT_MS: { limit: "failedLoginLockoutMs", size: false },
} as const satisfies Record<string, { limit: keyof GatewayLimits; size: boolean }>;

function gatewayLimits(env: Env): Partial<GatewayLimits> {
  const limits: Record<string, number> = {};
  for (const [name, { limit, size }] of Object.entries(GATEWAY_LIMIT_VARIABLES)) {
    const value = text(env, name);
    if (value === undefined) continue;
    if (size) limits[limit] = parseSize(name, value);
    else if (/^\d+$/.test(value)) limits[limit] = Number(value);
    else throw new ConfigError(name, `expected a whole number, got "${value}"`);
  }
  try {
    resolveLimits(limits);
  } catch (error) {
    if (!(error instanceof GatewayConfigError)) throw error;
    const limit = /^limits\.(\w+)/.exec(error.message)?.[1];
    const name =
      Object.entries(GATEWAY_LIMIT_VARIABLES).find(([, v]) => v.limit === limit)?.[0] ?? "IMAP limits";
    throw new ConfigError(name, error.message.replace(/^limits\.\w+/, "it"));
  }
  return limits as Partial<GatewayLimits>;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const value = text(env, name);
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `not a URL: "${value}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `expected a ${protocols.join(" or ")} URL, got "${parsed.protocol}"`);
  }
  return value;
}

/**
 * The distributed server needs all three services; admin commands need only DATABASE_URL, so
 * this check belongs to `serve`.
 */
export function assertDistributedServices(config: Config): void {
  if (config.mode !== "distributed") return;
  const missing = [
    config.kafkaBrokers.length === 0 && "KAFKA_BROKERS",
    config.redisUrl === undefined && "REDIS_URL",
  ]
    .filter(Boolean)
    .join(", ");
  if (missing !== "") {
    throw new ConfigError(
      missing,
      "the distributed mode (DATABASE_URL is set) needs KAFKA_BROKERS and REDIS_URL too; unset DATABASE_URL for the embedded mode",
    );
  }
}

/** Kafka topic names: letters, digits, ".", "_", "-", at most 249 characters. */
function kafkaTopic(env: Env): string {
  const value = text(env, "KAFKA_TOPIC") ?? "mailledger.events";
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(value)) {
    throw new ConfigError("KAFKA_TOPIC", `not a valid Kafka topic name: "${value}"`);
  }
  return value;
}

function redisPrefix(env: Env): string {
  const value = text(env, "REDIS_PREFIX") ?? "mailledger";
  if (!/^[A-Za-z0-9._:-]{1,100}$/.test(value)) {
    throw new ConfigError("REDIS_PREFIX", `expected 1 to 100 letters, digits or . _ : -, got "${value}"`);
  }
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = url(env, "DATABASE_URL", ["postgres:", "postgresql:"]);
  const redisUrl = url(env, "REDIS_URL", ["redis:", "rediss:"]);
  const kafkaText = text(env, "KAFKA_BROKERS");
  const kafkaBrokers = kafkaText === undefined ? [] : kafkaText.split(",").map((broker) => broker.trim());
  for (const broker of kafkaBrokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) {
      throw new ConfigError("KAFKA_BROKERS", `expected host:port[,host:port...], got "${kafkaText}"`);
    }
  }

  const tlsCert = text(env, "TLS_CERT");
  const tlsKey = text(env, "TLS_KEY");
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError(
      tlsCert === undefined ? "TLS_CERT" : "TLS_KEY",
      "TLS_CERT and TLS_KEY must be set together",
    );
  }
  const imapsPort = port(env, "IMAPS_PORT");
  if (imapsPort !== undefined && tlsCert === undefined) {
    throw new ConfigError("IMAPS_PORT", "implicit TLS needs TLS_CERT and TLS_KEY");
  }

  const blobText = text(env, "BLOB_STORE") ?? "postgres";
  let blobStore: BlobStoreSetting;
  if (blobText === "postgres") blobStore = { kind: "postgres" };
  else if (blobText.startsWith("fs:") && blobText.length > 3)
    blobStore = { kind: "fs", dir: blobText.slice(3) };
  else throw new ConfigError("BLOB_STORE", `expected "postgres" or "fs:<directory>", got "${blobText}"`);

  const appendLimitText = text(env, "APPEND_LIMIT");
  const appendLimit = appendLimitText === undefined ? undefined : parseSize("APPEND_LIMIT", appendLimitText);

  const blobCacheText = text(env, "BLOB_CACHE");
  const blobCacheBytes =
    blobCacheText === undefined ? DEFAULT_BLOB_CACHE_BYTES : parseSize("BLOB_CACHE", blobCacheText);

  const flagsCacheText = text(env, "FLAGS_CACHE");
  const flagsCacheBytes =
    flagsCacheText === undefined ? DEFAULT_FLAGS_CACHE_BYTES : parseSize("FLAGS_CACHE", flagsCacheText);

  const doorbellPollMs = milliseconds(env, "DOORBELL_POLL_MS", DEFAULT_DOORBELL_POLL_MS, 10);
  const idleCheckMs = milliseconds(env, "IDLE_CHECK_MS", DEFAULT_IDLE_CHECK_MS, 100);
  const pgStatementTimeoutMs = milliseconds(
    env,
    "PG_STATEMENT_TIMEOUT_MS",
    DEFAULT_PG_STATEMENT_TIMEOUT_MS,
    100,
  );
  // The broker refuses less than its group.min.session.timeout.ms (6 s by default).
  const kafkaSessionTimeoutMs = milliseconds(
    env,
    "KAFKA_SESSION_TIMEOUT_MS",
    DEFAULT_KAFKA_SESSION_TIMEOUT_MS,
    6_000,
  );

  const logLevel = (text(env, "LOG_LEVEL") ?? "info").toLowerCase();
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", `expected debug, info, warn or error, got "${logLevel}"`);
  }

  return {
    mode: databaseUrl === undefined ? "embedded" : "distributed",
    databaseUrl,
    kafkaBrokers,
    kafkaTopic: kafkaTopic(env),
    redisUrl,
    redisPrefix: redisPrefix(env),
    imapHost: text(env, "IMAP_HOST") ?? "127.0.0.1",
    imapPort: port(env, "IMAP_PORT", 1143)!,
    imapsPort,
    tlsCert,
    tlsKey,
    allowInsecureAuth: bool(env, "ALLOW_INSECURE_AUTH", false),
    imapCompress: bool(env, "IMAP_COMPRESS", true),
    imapLiteralPlus: bool(env, "IMAP_LITERAL_PLUS", true),
    blobStore,
    appendLimit: appendLimit === 0 ? undefined : appendLimit,
    gatewayLimits: gatewayLimits(env),
    blobCacheBytes,
    flagsCacheBytes,
    doorbellPollMs,
    idleCheckMs,
    metadataLimits: metadataLimits(env),
    pgStatementTimeoutMs,
    kafkaSessionTimeoutMs,
    nodeId: text(env, "NODE_ID") ?? `node-${process.pid}`,
    metricsPort: port(env, "METRICS_PORT"),
    readyMaxLag: count(env, "READY_MAX_LAG", DEFAULT_READY_MAX_LAG),
    logLevel: logLevel as LogLevel,
    dataDir: text(env, "DATA_DIR") ?? "./data",
    lmtp: lmtpSettings(env),
  };
}
