// A minimal metrics registry: named counters and gauges the gateway bumps; an exporter
// (Prometheus on METRICS_PORT, say) can read snapshot() later.

export class MetricsRegistry {
  readonly #counters = new Map<string, number>();
  readonly #gauges = new Map<string, number>();

  increment(name: string, by = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + by);
  }

  counter(name: string): number {
    return this.#counters.get(name) ?? 0;
  }

  setGauge(name: string, value: number): void {
    this.#gauges.set(name, value);
  }

  addGauge(name: string, delta: number): void {
    this.#gauges.set(name, (this.#gauges.get(name) ?? 0) + delta);
  }

  gauge(name: string): number {
    return this.#gauges.get(name) ?? 0;
  }

  snapshot(): { counters: Record<string, number>; gauges: Record<string, number> } {
    return { counters: Object.fromEntries(this.#counters), gauges: Object.fromEntries(this.#gauges) };
  }
}

/** Counter and gauge names, in one place so dashboards and tests agree. */
export const METRIC = {
  connectionsAccepted: "imap_connections_accepted_total",
  connectionsRefusedNodeLimit: "imap_connections_refused_node_limit_total",
  loginsRefusedUserLimit: "imap_logins_refused_user_connection_limit_total",
  sessionsActive: "imap_sessions_active",
  commands: "imap_commands_total",
  responsesBad: "imap_responses_bad_total",
  responsesNo: "imap_responses_no_total",
  serverBugs: "imap_server_bugs_total",
  literalTooBig: "imap_literal_too_big_total",
  lineTooLong: "imap_line_too_long_total",
  preauthGarbage: "imap_preauth_garbage_bye_total",
  preauthRate: "imap_preauth_rate_limit_bye_total",
  preauthBad: "imap_preauth_consecutive_bad_bye_total",
  loginsSucceeded: "imap_logins_succeeded_total",
  loginsFailed: "imap_logins_failed_total",
  loginsThrottled: "imap_logins_throttled_total",
  loginsPrivacyRequired: "imap_logins_privacy_required_total",
  idleLogouts: "imap_idle_logouts_total",
  startTls: "imap_starttls_total",
  compress: "imap_compress_total",
  tlsErrors: "imap_tls_errors_total",
  maxBufferedBytes: "imap_session_max_buffered_bytes",
} as const;
