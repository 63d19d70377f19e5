import { pino, type Logger, type Level } from 'pino';
import { createRequire } from 'node:module';

export type { Logger, Level };

export interface LoggerOptions {
  level: Level;
  /** Human-readable lines instead of JSON; the default is to do so only on a TTY. */
  pretty?: boolean;
  /** Where to write; stdout by default. */
  destination?: NodeJS.WritableStream;
}

/** A pino logger: JSON lines, or pretty lines when writing to a terminal. */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  const isTty = (destination as { isTTY?: boolean }).isTTY === true;
  const base = { level: options.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (options.pretty ?? isTty) {
    // pino-pretty is loaded only when a terminal needs it (the daemon's log is JSON).
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(base, pretty({ destination: destination as never, sync: true, colorize: isTty }));
  }
  return pino(base, destination as never);
}
