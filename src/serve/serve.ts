// `mailledger serve [--role all|gateway|projector|relay]`: starts the roles of one node.
// Embedded mode runs everything in one process (the projector tails the log in process).

import { type Config, ConfigError } from "../config.ts";
import { readCheckpoint } from "../events/checkpoints.ts";
import { Kafka, logLevel } from "../events/kafka.ts";
import { ensureEventsTopic, startOutboxRelay } from "../events/relay/outboxRelay.ts";
import type { Logger } from "../imap-gateway/logger.ts";
import type { GatewayOptions } from "../imap-gateway/options.ts";
import { logHead } from "../projections/catchUp.ts";
import { blobSourceFromStore } from "../projections/mailboxView/storeBlobSource.ts";
import { startEmbeddedTransport } from "../projections/runner/embeddedTransport.ts";
import { startKafkaTransport } from "../projections/runner/kafkaTransport.ts";
import { createMailboxProjection, MAILBOX_PROJECTION_NAME } from "../projections/runner/projection.ts";
import { createProjector } from "../projections/runner/projector.ts";
import { type GatewayRole, startGateway } from "./gateway.ts";
import { type OpenRuntimeOptions, openRuntime, type Runtime } from "./runtime.ts";

export const ROLES = ["gateway", "projector", "relay"] as const;
export type Role = (typeof ROLES)[number];

export function parseRoles(value: string | undefined): Role[] {
  if (value === undefined || value === "all") return [...ROLES];
  const roles = value.split(",").map((role) => role.trim());
  for (const role of roles) {
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new ConfigError(
        "--role",
        `expected all, gateway, projector or relay (comma-separated), got "${role}"`,
      );
    }
  }
  return roles as Role[];
}

export interface ServeOptions extends OpenRuntimeOptions {
  roles?: Role[];
  gateway?: Partial<GatewayOptions>;
  /** Kafka topic and consumer group (tests use their own). */
  topic?: string;
  groupId?: string;
  kafkaSessionTimeoutMs?: number;
  /**
   * How events reach the projector: "kafka" (relay + consumer group; the distributed default) or
   * "in-process" (tailing the log; the embedded mode, and single-node tests of the distributed one).
   */
  fanOut?: "kafka" | "in-process";
}

/** How long a starting node waits for its in-process projector to reach the log's head. */
const STARTUP_CATCH_UP_MS = 5 * 60_000;

/**
 * Events written while no server ran (admin commands, a crash) are applied before the gateway
 * opens, so the first sessions do not read a stale view.
 */
async function catchUpBeforeServing(runtime: Runtime, logger: Logger): Promise<void> {
  const head = await logHead(runtime.pool);
  const consumer = `projection:${MAILBOX_PROJECTION_NAME}`;
  const started = Date.now();
  let reported = started;
  while ((await readCheckpoint(runtime.pool, consumer)) < head) {
    if (Date.now() - started > STARTUP_CATCH_UP_MS) {
      logger.warn(`serving before the projection caught up with position ${head}: it is still behind`);
      return;
    }
    if (Date.now() - reported > 5_000) {
      reported = Date.now();
      logger.info(`projecting events written while no server ran, up to position ${head}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface RunningNode {
  runtime: Runtime;
  gateway: GatewayRole | undefined;
  close(): Promise<void>;
}

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
          })
        : undefined;

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
      // Only the active relay tails the log when Kafka fans out: while it is this one, the
      // commits of this node wake it in process and send no NOTIFY.
      if (fanOut === "kafka") runtime.setLocalReader(() => relay.state === "active");
    }

    if (roles.has("projector")) {
      const projector = createProjector({
        pool: runtime.pool,
        projection: createMailboxProjection(blobSourceFromStore(runtime.blobStore)),
        notices: runtime.notices,
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
              ...(options.kafkaSessionTimeoutMs
                ? {
                    sessionTimeoutMs: options.kafkaSessionTimeoutMs,
                    heartbeatIntervalMs: Math.max(100, options.kafkaSessionTimeoutMs / 10),
                  }
                : {}),
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
      if (!kafka) await catchUpBeforeServing(runtime, logger);
    }

    let gateway: GatewayRole | undefined;
    if (roles.has("gateway")) {
      gateway = await startGateway(runtime, logger, options.gateway);
      stops.push(() => gateway!.server.close());
      logger.info(
        `IMAP listening on ${config.imapHost}:${gateway.port}${gateway.tlsPort ? ` (IMAPS ${gateway.tlsPort})` : ""}`,
      );
    }
    return { runtime, gateway, close };
  } catch (error) {
    await close();
    throw error;
  }
}
