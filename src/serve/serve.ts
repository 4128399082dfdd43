// `mailledger serve [--role all|gateway|relay|projector|notifier|lmtp]`: starts the roles of one node.
// Embedded mode runs everything in one process (the projector and the notifier tail the log in
// process). No role waits for another: the gateway reads the mailbox index, committed with the
// events, and derives what the projector has not reached yet.

import { sql } from "slonik";
import { z } from "zod";
import { type Config, ConfigError } from "../config.ts";
import { Kafka, logLevel } from "../events/kafka.ts";
import { type LagReading, registerLagSource } from "../events/metrics.ts";
import { ensureEventsTopic, RELAY_CHECKPOINT, startOutboxRelay } from "../events/relay/outboxRelay.ts";
import type { Logger } from "../imap-gateway/logger.ts";
import type { GatewayOptions } from "../imap-gateway/options.ts";
import type { LmtpServer } from "../lmtp/server.ts";
import { blobSourceFromStore } from "../projections/bodiesView/storeBlobSource.ts";
import { startKafkaNotifier, startLogNotifier } from "../projections/notifier/notifier.ts";
import { projectionStatus } from "../projections/rebuild/status.ts";
import { startEmbeddedTransport } from "../projections/runner/embeddedTransport.ts";
import { startKafkaTransport } from "../projections/runner/kafkaTransport.ts";
import { createBodiesProjection, type Projection } from "../projections/runner/projection.ts";
import { createProjector } from "../projections/runner/projector.ts";
import { type GatewayRole, startGateway } from "./gateway.ts";
import { startLmtpRole } from "./lmtp.ts";
import { type OpenRuntimeOptions, openRuntime, type Runtime } from "./runtime.ts";

export const ROLES = ["gateway", "projector", "relay", "notifier", "lmtp"] as const;
export type Role = (typeof ROLES)[number];

export function parseRoles(value: string | undefined): Role[] {
  if (value === undefined || value === "all") return [...ROLES];
  const roles = value.split(",").map((role) => role.trim());
  for (const role of roles) {
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new ConfigError(
        "--role",
        `expected all, gateway, relay, projector, notifier or lmtp (comma-separated), got "${role}"`,
      );
    }
  }
  return roles as Role[];
}

export interface ServeOptions extends OpenRuntimeOptions {
  roles?: Role[];
  gateway?: Partial<GatewayOptions>;
  /** Kafka topic and consumer groups (tests use their own). */
  topic?: string;
  groupId?: string;
  notifierGroupId?: string;
  kafkaSessionTimeoutMs?: number;
  /**
   * How events reach the projector and the notifier: "kafka" (relay + consumer groups; the
   * distributed default) or "in-process" (tailing the log; the embedded mode, and single-node
   * tests of the distributed one).
   */
  fanOut?: "kafka" | "in-process";
}

export interface RunningNode {
  runtime: Runtime;
  gateway: GatewayRole | undefined;
  /** Why this node should get no traffic now (/readyz); empty when ready. */
  readiness(): Promise<string[]>;
  /**
   * Graceful stop (SIGTERM): the gateway accepts no more connections, sends BYE to idle sessions
   * and lets running commands finish within its grace period; the relay, the projector and the
   * notifier store their positions and stop. /readyz answers "draining" from the first moment.
   */
  drain(): Promise<void>;
  /** The LMTP listener, when the node runs the lmtp role. */
  lmtp: LmtpServer | undefined;
  close(): Promise<void>;
}

/** How long /readyz waits for the database to answer. */
export const READINESS_DATABASE_TIMEOUT_MS = 2_000;

export async function startNode(
  config: Config,
  logger: Logger,
  options: ServeOptions = {},
): Promise<RunningNode> {
  const roles = new Set(options.roles ?? ROLES);
  if (config.mode === "embedded" && roles.size !== ROLES.length) {
    throw new ConfigError(
      "--role",
      "the embedded mode runs every role in one process; set DATABASE_URL for separate roles",
    );
  }
  const runtime = await openRuntime(config, logger, options);
  const stops: (() => Promise<void>)[] = [() => runtime.close()];
  let draining = false;
  let relayRole: { readonly state: string } | undefined;
  let projectionRole: Projection<unknown> | undefined;
  const close = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error) => logger.warn("while stopping", { error: String(error) }));
  };
  try {
    const topic = options.topic ?? config.kafkaTopic;
    const fanOut = options.fanOut ?? (config.mode === "distributed" ? "kafka" : "in-process");
    const kafka =
      fanOut === "kafka"
        ? new Kafka({
            clientId: `mailledger-${config.nodeId}`,
            brokers: config.kafkaBrokers,
            logLevel: logLevel.NOTHING,
            // Reconnections at most 3 s apart (kafkajs's default backs off to 30 s): a broker
            // that is back is found within 3 s, and the pipeline catches up from there.
            retry: { initialRetryTime: 300, maxRetryTime: 3_000, retries: 40 },
          })
        : undefined;

    // A consumer that crashed (a Kafka outage) rejoins as a new member: its group waits this long
    // for the old one before it goes on (KAFKA_SESSION_TIMEOUT_MS).
    const sessionTimeoutMs = options.kafkaSessionTimeoutMs ?? config.kafkaSessionTimeoutMs;
    const consumerTimings = {
      sessionTimeoutMs,
      heartbeatIntervalMs: Math.max(100, Math.floor(sessionTimeoutMs / 10)),
    };

    if (roles.has("relay") && kafka) {
      await ensureEventsTopic(kafka, topic);
      const relay = startOutboxRelay({
        pool: runtime.pool,
        databaseUrl: runtime.databaseUrl,
        kafka,
        topic,
        wakeup: runtime.logWakeup,
        onError: (error) => logger.warn("relay", { error: String(error) }),
        onStateChange: (state) => logger.info(`relay is ${state}`),
      });
      stops.push(() => relay.stop());
      relayRole = relay;
      // Only the active relay tails the log when Kafka fans out: while it is this one, the
      // commits of this node wake it in process and send no NOTIFY.
      if (fanOut === "kafka") runtime.setLocalReader(() => relay.state === "active");
    }

    if (roles.has("projector")) {
      projectionRole = createBodiesProjection(blobSourceFromStore(runtime.blobStore));
      const projector = createProjector({
        pool: runtime.pool,
        projection: projectionRole,
        onWarning: (message, detail) => logger.warn(message, { detail: String(detail) }),
      });
      const transport = kafka
        ? await (async () => {
            await ensureEventsTopic(kafka, topic);
            return startKafkaTransport({
              kafka,
              topic,
              projector,
              ...(options.groupId ? { groupId: options.groupId } : {}),
              ...consumerTimings,
              onError: (error) => logger.warn("projector (kafka)", { error: String(error) }),
            });
          })()
        : await startEmbeddedTransport({
            pool: runtime.pool,
            projector,
            wakeup: runtime.logWakeup,
            onError: (error) => logger.warn("projector", { error: String(error) }),
          });
      stops.push(() => transport.stop());
    }

    if (roles.has("notifier")) {
      const notifier = kafka
        ? await (async () => {
            await ensureEventsTopic(kafka, topic);
            return startKafkaNotifier({
              kafka,
              topic,
              notices: runtime.notices,
              ...(options.notifierGroupId ? { groupId: options.notifierGroupId } : {}),
              ...consumerTimings,
              onError: (error) => logger.warn("notifier (kafka)", { error: String(error) }),
            });
          })()
        : await startLogNotifier({
            connection: runtime.pool,
            notices: runtime.notices,
            wakeup: runtime.logWakeup,
            onError: (error) => logger.warn("notifier", { error: String(error) }),
          });
      stops.push(() => notifier.stop());
    }

    let gateway: GatewayRole | undefined;
    if (roles.has("gateway")) {
      gateway = await startGateway(runtime, logger, options.gateway);
      stops.push(() => gateway!.server.close());
      logger.info(
        `IMAP listening on ${config.imapHost}:${gateway.port}${gateway.tlsPort ? ` (IMAPS ${gateway.tlsPort})` : ""}`,
      );
    }
    let lmtp: LmtpServer | undefined;
    if (roles.has("lmtp")) {
      lmtp = await startLmtpRole(runtime, logger);
      stops.push(() => lmtp!.close());
      logger.info(`LMTP listening on ${lmtp.address}`);
    }
    const lagOf = lagReader(runtime, relayRole !== undefined, projectionRole);
    const unregisterLag = registerLagSource(lagOf);
    stops.push(async () => unregisterLag());
    const readiness = async (): Promise<string[]> => {
      if (draining) return ["draining: this node is stopping"];
      const problems: string[] = [];
      let lag: LagReading | undefined;
      try {
        lag = await withTimeout(lagOf(), READINESS_DATABASE_TIMEOUT_MS);
      } catch (error) {
        problems.push(`database: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (
        config.mode === "distributed" &&
        (roles.has("gateway") || roles.has("notifier")) &&
        !runtime.notices.healthy
      )
        problems.push("redis: notices can be neither sent nor heard (REDIS_URL)");
      if (relayRole?.state === "active" && (lag?.relayEvents ?? 0) > config.readyMaxLag)
        problems.push(
          `relay: ${lag?.relayEvents} events not yet in Kafka (READY_MAX_LAG ${config.readyMaxLag})`,
        );
      for (const [name, events] of Object.entries(lag?.projections ?? {}))
        if (events > config.readyMaxLag)
          problems.push(
            `projection ${name}: ${events} events behind the log (READY_MAX_LAG ${config.readyMaxLag})`,
          );
      return problems;
    };
    const drain = async () => {
      draining = true;
      await close();
    };
    return { runtime, gateway, lmtp, readiness, drain, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const lagRow = z.object({
  head: z.number(),
  relay: z.number().nullable(),
  oldest_unrelayed: z.number().nullable(),
});

/** One round trip: the log's head, the relay's checkpoint and its oldest unpublished event's age. */
function lagReader(
  runtime: Runtime,
  relay: boolean,
  projection: Projection<unknown> | undefined,
): () => Promise<LagReading> {
  return async () => {
    const row = await runtime.pool.one(sql.type(lagRow)`
      WITH r AS (SELECT global_position FROM checkpoints WHERE consumer = ${RELAY_CHECKPOINT})
      SELECT (SELECT coalesce(max(global_position), 0) FROM events) AS head,
             (SELECT global_position FROM r) AS relay,
             (SELECT extract(epoch FROM clock_timestamp() - recorded_at)::float8 FROM events
               WHERE global_position > coalesce((SELECT global_position FROM r), 0)
               ORDER BY global_position LIMIT 1) AS oldest_unrelayed`);
    const reading: LagReading = {};
    if (relay) {
      reading.relayEvents = Math.max(0, row.head - (row.relay ?? 0));
      reading.relaySeconds = Math.max(0, row.oldest_unrelayed ?? 0);
    }
    if (projection) {
      const statuses = await projectionStatus(runtime.pool, [projection]);
      reading.projections = Object.fromEntries(statuses.map((status) => [status.name, status.lag]));
    }
    return reading;
  };
}
