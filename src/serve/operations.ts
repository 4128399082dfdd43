// What an operator touches on a running node besides IMAP: the metrics endpoint (METRICS_PORT,
// Prometheus text format), the log level (LOG_LEVEL), and the wire log switch (SIGUSR2 toggles
// the debug wire log for every session; passwords are always redacted).
import http from "node:http";
import type { LogLevel } from "../config.ts";
import type { LogFields, Logger } from "../imap-gateway/logger.ts";
import type { MetricsRegistry } from "../imap-gateway/metrics.ts";
import type { ImapServer } from "../imap-gateway/server.ts";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** JSON lines on stderr at or above `level`. */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const emit = (name: LogLevel) => (message: string, fields?: LogFields) => {
    if (LEVELS[name] < LEVELS[level]) return;
    write(`${JSON.stringify({ level: name, time: new Date().toISOString(), message, ...fields })}\n`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** The registry in Prometheus text exposition format. */
export function renderMetrics(metrics: MetricsRegistry, extra: Record<string, number> = {}): string {
  const { counters, gauges } = metrics.snapshot();
  const lines: string[] = [];
  for (const [name, value] of Object.entries(counters).sort())
    lines.push(`# TYPE ${name} counter`, `${name} ${value}`);
  for (const [name, value] of Object.entries(gauges).sort())
    lines.push(`# TYPE ${name} gauge`, `${name} ${value}`);
  for (const [name, value] of Object.entries(extra).sort()) lines.push(`${name} ${value}`);
  return `${lines.join("\n")}\n`;
}

export async function startMetricsServer(
  host: string,
  port: number,
  metrics: MetricsRegistry,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    if (request.url !== "/metrics") {
      response.writeHead(404).end("see /metrics\n");
      return;
    }
    response.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    response.end(renderMetrics(metrics));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** SIGUSR2 flips the wire log for all sessions; returns the uninstaller. */
export function installWireLogToggle(server: ImapServer, logger: Logger): () => void {
  let enabled = false;
  const toggle = () => {
    enabled = !enabled;
    server.setDebug({ enabled });
    logger.warn(`wire log ${enabled ? "on" : "off"} (SIGUSR2 toggles it)`);
  };
  process.on("SIGUSR2", toggle);
  return () => process.off("SIGUSR2", toggle);
}
