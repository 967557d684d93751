import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/types.js';

export type { Logger };

/** JSON lines on stdout; secrets never reach a log call, and these paths are masked in case. */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { service: 'mqtt-kafka-proxy' },
    redact: { paths: ['password', '*.password', 'token', '*.token'], censor: '[redacted]' },
  });
}
