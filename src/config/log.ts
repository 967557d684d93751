/** The `log` section. */
import { deepFreeze } from './freeze.js';
import { readOneOf, readSection, type Problems } from './readers.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LogConfig {
  /** Default `info`. */
  readonly level: LogLevel;
}

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const LOG_DEFAULTS: LogConfig = deepFreeze<LogConfig>({ level: 'info' });

const LOG_KEYS = ['level'] as const;

export function readLogLevel(value: unknown, path: string, problems: Problems): LogLevel {
  return readOneOf(value, path, LOG_LEVELS, problems, LOG_DEFAULTS.level);
}

export function readLog(value: unknown, problems: Problems): LogConfig {
  const section = readSection(value, 'log', LOG_KEYS, problems);
  return { level: readLogLevel(section['level'], 'log.level', problems) };
}
