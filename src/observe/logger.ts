import { pino, type Logger, type LevelWithSilent } from 'pino';
import pinoPretty from 'pino-pretty';

/**
 * The agent's own log: what it is doing and what went wrong (an exporter
 * failing, capture starting and stopping). JSON lines on stderr for machines
 * by default; readable lines when a person is watching a terminal. Writes are
 * synchronous so that nothing is lost when a signal ends the process.
 * (Spans, views and the end-of-run summary are not log lines and never go
 * through here.)
 */

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  level: LevelWithSilent;
  format: LogFormat;
  /** Where lines go; stderr by default. */
  destination?: NodeJS.WritableStream;
  /** Whether the destination is a terminal (decides 'auto'); stderr's isTTY by default. */
  isTTY?: boolean;
  /** Colours in pretty output; by default on a terminal unless NO_COLOR is set. */
  colorize?: boolean;
}

export type { Logger };

/** 'auto' becomes 'pretty' on a terminal, 'json' otherwise. */
export function resolveLogFormat(format: LogFormat, isTTY: boolean): 'json' | 'pretty' {
  if (format === 'auto') return isTTY ? 'pretty' : 'json';
  return format;
}

export function createLogger(options: LoggerOptions): Logger {
  const isTTY = options.isTTY ?? (options.destination === undefined ? Boolean(process.stderr.isTTY) : false);
  const format = resolveLogFormat(options.format, isTTY);
  // Level names rather than pino's numbers: log pipelines and people both read "warn".
  const pinoOptions = { name: 'wiretrace', level: options.level, formatters: { level: (label: string) => ({ level: label }) } };
  if (format === 'pretty') {
    const pretty = pinoPretty({
      destination: options.destination ?? 2,
      sync: true,
      colorize: options.colorize ?? (isTTY && !process.env.NO_COLOR),
      ignore: 'pid,hostname,name',
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
    });
    return pino(pinoOptions, pretty);
  }
  return pino(pinoOptions, options.destination ?? pino.destination({ fd: 2, sync: true }));
}
