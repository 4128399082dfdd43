import { describe, expect, it } from "vitest";
import { MetricsRegistry } from "../imap-gateway/metrics.ts";
import { createLogger, renderMetrics } from "./operations.ts";

describe("renderMetrics", () => {
  it("writes counters and gauges in Prometheus text format", () => {
    const metrics = new MetricsRegistry();
    metrics.increment("imap_commands_total", 3);
    metrics.setGauge("imap_sessions_active", 2);
    expect(renderMetrics(metrics, { extra_total: 1 })).toBe(
      [
        "# TYPE imap_commands_total counter",
        "imap_commands_total 3",
        "# TYPE imap_sessions_active gauge",
        "imap_sessions_active 2",
        "extra_total 1",
        "",
      ].join("\n"),
    );
  });
});

describe("createLogger", () => {
  it("drops lines below the configured level and writes JSON lines", () => {
    const lines: string[] = [];
    const logger = createLogger("warn", (line) => lines.push(line));
    logger.info("ignored");
    logger.warn("kept", { mailbox: "INBOX" });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "warn", message: "kept", mailbox: "INBOX" });
  });
});
