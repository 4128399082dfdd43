// `mailledger serve [--role all|gateway|relay|projector|notifier|lmtp]`: starts the roles of one node.
// Embedded mode runs everything in one process (the projector and the notifier tail the log in
// process). No role waits for another: the gateway reads the mailbox index, committed with the
// events, and derives what the projector has not reached yet.

import { type Config, ConfigError } from "../config.ts";
import { Kafka, logLevel } from "../events/kafka.ts";
import { ensureEventsTopic, startOutboxRelay } from "../events/relay/outboxRelay.ts";
import type { Logger } from "../imap-gateway/logger.ts";
import type { GatewayOptions } from "../imap-gateway/options.ts";
import type { LmtpServer } from "../lmtp/server.ts";
import { blobSourceFromStore } from "../projections/bodiesView/storeBlobSource.ts";
import { startKafkaNotifier, startLogNotifier } from "../projections/notifier/notifier.ts";
import { startEmbeddedTransport } from "../projections/runner/embeddedTransport.ts";
import { startKafkaTransport } from "../projections/runner/kafkaTransport.ts";
import { createBodiesProjection } from "../projections/runner/projection.ts";
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
  /** The LMTP listener, when the node runs the lmtp role. */
  lmtp: LmtpServer | undefined;
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
      // Only the active relay tails the log when Kafka fans out: while it is this one, the
      // commits of this node wake it in process and send no NOTIFY.
      if (fanOut === "kafka") runtime.setLocalReader(() => relay.state === "active");
    }

    if (roles.has("projector")) {
      const projector = createProjector({
        pool: runtime.pool,
        projection: createBodiesProjection(blobSourceFromStore(runtime.blobStore)),
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
    return { runtime, gateway, lmtp, close };
  } catch (error) {
    await close();
    throw error;
  }
}
