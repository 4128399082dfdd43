// The log's and the pipeline's metrics (events appended, relay, projections, notifier, doorbell):
// prom-client metrics defined once, at module level, on the default register (see
// src/imap-gateway/metrics.ts). Lags that only the database knows are read at scrape time from
// the sources the serving process registers (registerLagSource).
import { Counter, Gauge, Histogram } from "prom-client";
import { observeAppends } from "./appendObserver.ts";

export const eventsAppended = new Counter({
  name: "mailledger_events_appended_total",
  help: "events this process wrote to the log, by event type (a transaction rolled back afterwards, rare, counts too)",
  labelNames: ["type"] as const,
});
observeAppends((types) => {
  for (const type of types) eventsAppended.inc({ type });
});

/** What the database says about how far each consumer is behind the log's head. */
export interface LagReading {
  /** Events between the relay's checkpoint and the head; undefined when no relay runs here. */
  relayEvents?: number;
  /** Age of the oldest event the relay has not published (0 when it is at the head). */
  relaySeconds?: number;
  /** Events between each projection's front and the head, by projection name. */
  projections?: Readonly<Record<string, number>>;
}

let lagSource: (() => Promise<LagReading>) | undefined;

/** The serving process says where lags come from; returns the unregistration. */
export function registerLagSource(source: () => Promise<LagReading>): () => void {
  lagSource = source;
  return () => {
    if (lagSource === source) lagSource = undefined;
  };
}

/** One database round per scrape, shared by the lag gauges that ask within the same scrape. */
let pendingReading: Promise<LagReading | undefined> | undefined;
function currentLag(): Promise<LagReading | undefined> {
  if (lagSource === undefined) return Promise.resolve(undefined);
  if (pendingReading === undefined) {
    pendingReading = lagSource()
      .catch(() => undefined)
      .finally(() => {
        setTimeout(() => {
          pendingReading = undefined;
        }, 100).unref();
      });
  }
  return pendingReading;
}

export const relayLagEvents = new Gauge({
  name: "mailledger_relay_lag_events",
  help: "events committed to the log that the relay has not yet published to Kafka",
  async collect() {
    const lag = await currentLag();
    if (lag?.relayEvents !== undefined) this.set(lag.relayEvents);
  },
});

export const relayLagSeconds = new Gauge({
  name: "mailledger_relay_lag_seconds",
  help: "age of the oldest committed event the relay has not yet published (0 at the head)",
  async collect() {
    const lag = await currentLag();
    if (lag?.relaySeconds !== undefined) this.set(lag.relaySeconds);
  },
});

export const projectionLagEvents = new Gauge({
  name: "mailledger_projection_lag_events",
  help: "events between each projection's front and the log's head, by projection",
  labelNames: ["projection"] as const,
  async collect() {
    const lag = await currentLag();
    for (const [projection, events] of Object.entries(lag?.projections ?? {}))
      this.set({ projection }, events);
  },
});

export const notifierLagSeconds = new Gauge({
  name: "mailledger_notifier_lag_seconds",
  help: "age of the last event the notifier rang the doorbell for, when it rang",
});

export const doorbellSeconds = new Histogram({
  name: "mailledger_doorbell_latency_seconds",
  help: "from an event's commit to its doorbell published (Redis or in process)",
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});
