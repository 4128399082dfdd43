// What an operator touches on a running node besides IMAP: the operations endpoint on
// METRICS_PORT (`/metrics` in Prometheus text from prom-client's default register, `/healthz`,
// `/readyz`), the log (pino JSON lines on stderr at LOG_LEVEL, pretty on a terminal), and the wire
// log switch (SIGUSR2 toggles the debug wire log for every session; passwords are always redacted).
import http from "node:http";
import { createRequire } from "node:module";
import { pino } from "pino";
import { collectDefaultMetrics, register } from "prom-client";
import type { LogLevel } from "../config.ts";
import type { LogFields, Logger } from "../imap-gateway/logger.ts";
import type { ImapServer } from "../imap-gateway/server.ts";

/** Field names whose values never reach a log line, whoever passes them. */
const REDACTED_FIELDS = ["password", "pass", "*.password", "body", "literal"];

export interface LoggerOptions {
  /** Where the JSON lines go (default: standard error). */
  write?: (line: string) => void;
  /** Human-readable lines (pino-pretty) instead of JSON; default: when stderr is a terminal. */
  pretty?: boolean;
  /** Fields on every line (nodeId). */
  base?: Readonly<Record<string, unknown>>;
}

/** One JSON line per entry: `{"level":"info","time":"...","message":"...",...fields}`. */
export function createLogger(level: LogLevel, options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (options.write === undefined && process.stderr.isTTY === true);
  const destination = pretty
    ? prettyStream()
    : options.write !== undefined
      ? { write: options.write }
      : pino.destination({ fd: 2, sync: true });
  const log = pino(
    {
      level,
      messageKey: "message",
      base: { ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_FIELDS, censor: "[redacted]" },
    },
    destination,
  );
  const emit = (name: LogLevel) => (message: string, fields?: LogFields | unknown) =>
    log[name](asFields(fields), message);
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** Callers pass fields, or (RuntimeLogger) an error or any detail: always a field object for pino. */
function asFields(detail: unknown): object {
  if (detail === undefined) return {};
  if (detail instanceof Error) return { error: detail.message };
  if (typeof detail === "object" && detail !== null && !Array.isArray(detail)) return detail;
  return { detail: String(detail) };
}

/** pino-pretty is loaded only for a terminal: a process writing JSON never pays for it. */
function prettyStream(): pino.DestinationStream {
  const require = createRequire(import.meta.url);
  const pretty = require("pino-pretty") as (options: object) => pino.DestinationStream;
  return pretty({
    destination: 2,
    sync: true,
    messageKey: "message",
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "nodeId",
  });
}

/** Why the node should get no traffic now; an empty list means ready. */
export type ReadinessProbe = () => Promise<string[]>;

let defaultMetricsCollected = false;

/** Node's process metrics (CPU, memory, event loop lag, handles, GC) on the default register, once. */
export function collectProcessMetrics(): void {
  if (defaultMetricsCollected) return;
  defaultMetricsCollected = true;
  collectDefaultMetrics();
}

export interface OperationsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `/metrics`: every metric of the process (prom-client's default register, so metrics other
 * modules define there come out too); `/healthz`: 200 while the process answers; `/readyz`: 200
 * when `ready` finds nothing wrong, else 503 with one reason a line.
 */
export async function startOperationsServer(
  host: string,
  port: number,
  ready: ReadinessProbe,
): Promise<OperationsServer> {
  collectProcessMetrics();
  const server = http.createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    const answer = (status: number, body: string, type = "text/plain; charset=utf-8") =>
      response.writeHead(status, { "content-type": type, "cache-control": "no-store" }).end(body);
    switch (path) {
      case "/metrics":
        register.metrics().then(
          (text) => answer(200, text, register.contentType),
          (error: unknown) => answer(500, `metrics failed: ${String(error)}\n`),
        );
        return;
      case "/healthz":
        answer(200, "ok\n");
        return;
      case "/readyz":
        ready().then(
          (problems) =>
            problems.length === 0 ? answer(200, "ready\n") : answer(503, `${problems.join("\n")}\n`),
          (error: unknown) => answer(503, `readiness check failed: ${String(error)}\n`),
        );
        return;
      default:
        answer(404, "see /metrics, /healthz, /readyz\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
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
