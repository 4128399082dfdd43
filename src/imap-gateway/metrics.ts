// The gateway's metrics: prom-client metrics defined once, at module level, on prom-client's
// default register (tests start several servers in one process; a metric registered twice
// throws). `/metrics` on METRICS_PORT serves `register.metrics()`, so every role's metrics,
// and the process's default ones, come out of one scrape.
import { Counter, Gauge, Histogram } from "prom-client";

/** Latency buckets in seconds: a NOOP answers in well under a millisecond, a big FETCH in seconds. */
const COMMAND_SECONDS_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export const imapConnections = new Counter({
  name: "mailledger_imap_connections_total",
  help: "IMAP connections, by result (accepted, refused_node_limit, refused_shutting_down)",
  labelNames: ["result"] as const,
});

export type SessionStateCounts = Readonly<Record<string, number>>;
const sessionSources = new Set<() => SessionStateCounts>();

/** A server adds the counter of its open sessions by state; the gauge sums them at scrape time. */
export function trackSessions(source: () => SessionStateCounts): () => void {
  sessionSources.add(source);
  return () => sessionSources.delete(source);
}

export const imapSessions = new Gauge({
  name: "mailledger_imap_sessions",
  help: "open IMAP sessions, by state (not-authenticated, authenticated, selected, idle)",
  labelNames: ["state"] as const,
  collect() {
    const totals: Record<string, number> = {
      "not-authenticated": 0,
      authenticated: 0,
      selected: 0,
      idle: 0,
    };
    for (const source of sessionSources)
      for (const [state, count] of Object.entries(source())) totals[state] = (totals[state] ?? 0) + count;
    for (const [state, count] of Object.entries(totals)) this.set({ state }, count);
  },
});

export const imapCommands = new Counter({
  name: "mailledger_imap_commands_total",
  help: "IMAP commands answered, by command name and result (OK, NO, BAD); unparsable ones as (invalid)",
  labelNames: ["command", "result"] as const,
});

export const imapCommandSeconds = new Histogram({
  name: "mailledger_imap_command_duration_seconds",
  help: "time from a command's last byte to its tagged answer, by command name and result",
  labelNames: ["command", "result"] as const,
  buckets: COMMAND_SECONDS_BUCKETS,
});

export const imapLogins = new Counter({
  name: "mailledger_imap_logins_total",
  help: "LOGIN and AUTHENTICATE attempts, by result (success, failure, throttled, privacy_required, user_connection_limit)",
  labelNames: ["result"] as const,
});

/** Every explicit limit a client can hit (README: Limits are explicit), by name. */
export type LimitName =
  | "node_connections"
  | "user_connections"
  | "literal_too_big"
  | "line_too_long"
  | "preauth_garbage"
  | "preauth_rate"
  | "preauth_bad_commands"
  | "idle_timeout"
  | "failed_logins";

export const imapLimitsHit = new Counter({
  name: "mailledger_imap_limits_hit_total",
  help: "limits a client reached, by limit",
  labelNames: ["limit"] as const,
});

export const imapRefusals = new Counter({
  name: "mailledger_imap_refusals_total",
  help: "commands not answered with a plain OK, by the triage's kind (reader, parse, unknown-command, wrong-state, refused, domain, unavailable, outcome-unknown, after-commit, bug)",
  labelNames: ["kind"] as const,
});

export const imapServerBugs = new Counter({
  name: "mailledger_imap_server_bugs_total",
  help: "commands or sessions that failed unexpectedly (answered NO [SERVERBUG] or BYE)",
});

export const imapTls = new Counter({
  name: "mailledger_imap_tls_total",
  help: "TLS on IMAP connections, by event (starttls, handshake_error)",
  labelNames: ["event"] as const,
});

export const imapCompress = new Counter({
  name: "mailledger_imap_compress_total",
  help: "connections that turned COMPRESS=DEFLATE on",
});

export const imapMaxBufferedBytes = new Gauge({
  name: "mailledger_imap_session_max_buffered_bytes",
  help: "the most input bytes one session has held for commands not yet executed, since start",
});

/** The current value of a metric's series with exactly these labels (0 when it has none yet). */
export async function metricValue(
  metric: Counter | Gauge,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  const { values } = await metric.get();
  const wanted = Object.entries(labels);
  const match = values.find(
    (value) =>
      Object.keys(value.labels).length === wanted.length &&
      wanted.every(([key, text]) => value.labels[key] === text),
  );
  return match?.value ?? 0;
}
