import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from '../config/types.js';

export type { Logger };

export interface LoggerOptions {
  /** Human-readable coloured lines instead of JSON (`--log-pretty`). */
  readonly pretty?: boolean;
  /** Where lines go; stdout by default. */
  readonly destination?: DestinationStream;
}

/** Field names whose values are credentials; masked wherever they appear, up to three levels deep. */
export const SECRET_FIELD_NAMES = ['password', 'passphrase', 'secret', 'token', 'accessToken', 'authorization', 'credentials', 'privateKey'] as const;

/** pino redact paths for {@link SECRET_FIELD_NAMES} at the top level and nested up to three levels. */
export const REDACT_PATHS: readonly string[] = SECRET_FIELD_NAMES.flatMap((name) => [name, `*.${name}`, `*.*.${name}`, `*.*.*.${name}`]);

/**
 * JSON lines on stdout. Secrets never reach a log call on purpose; the redact paths mask them if
 * one slips through (a password in an error object, a token in a connect packet).
 */
export function createLogger(level: LogLevel, options: LoggerOptions = {}): Logger {
  const settings = {
    level,
    base: { service: 'mqtt-kafka-proxy' },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  };
  if (options.pretty === true) {
    // Synchronous, in this thread: lines written just before exit are not lost.
    const { destination } = options;
    return pino(settings, pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', ...(destination !== undefined && { destination }) }));
  }
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}
