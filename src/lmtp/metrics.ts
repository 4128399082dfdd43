// The LMTP listener's metrics, on prom-client's default registry (served at /metrics). Defined
// once per process: a test or a bench that starts several listeners shares them.
import { Counter, Histogram } from "prom-client";

export const lmtpDeliveries = new Counter({
  name: "mailledger_lmtp_deliveries_total",
  help: "LMTP recipients by outcome: delivered, duplicate (a retry recognised), unknown_user, over_quota, too_big, refused, temporary_failure",
  labelNames: ["result"] as const,
});

export const lmtpReceivedBytes = new Counter({
  name: "mailledger_lmtp_received_bytes_total",
  help: "Octets of messages received over LMTP (DATA, before the added headers)",
});

export const lmtpDeliveryDuration = new Histogram({
  name: "mailledger_lmtp_delivery_duration_seconds",
  help: "From the end of DATA to the last recipient's reply: storing and committing for every recipient",
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

export const lmtpConnections = new Counter({
  name: "mailledger_lmtp_connections_total",
  help: "LMTP connections, accepted or refused (a client outside LMTP_ALLOWED_CLIENTS)",
  labelNames: ["result"] as const,
});
