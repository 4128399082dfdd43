// The gateway logs through this narrow interface so the process can plug in its own logger.

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

function line(level: string, message: string, fields: LogFields | undefined): string {
  return JSON.stringify({ level, time: new Date().toISOString(), message, ...fields });
}

/** JSON lines on stderr, warnings and errors only: the default when the caller gives no logger. */
export const stderrLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (message, fields) => process.stderr.write(`${line("warn", message, fields)}\n`),
  error: (message, fields) => process.stderr.write(`${line("error", message, fields)}\n`),
};

export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
