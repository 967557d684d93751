import type { Logger } from 'pino';
import type { ProxyMetrics } from './metrics.js';

/** Counts a limit reached (`limits_hit_total{limit}`) and logs it as a warning naming the limit. */
export type LimitReporter = (limit: string, fields: Record<string, unknown>, message: string) => void;

/**
 * A reporter that logs each limit at most once a second, with how many lines were held back since
 * the last one: a flood of refused connections must not flood the log. Every hit is counted.
 */
export function createLimitReporter(logger: Logger, metrics: ProxyMetrics): LimitReporter {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (limit, fields, message) => {
    metrics.limitsHit.inc({ limit });
    const now = Date.now();
    const entry = last.get(limit);
    if (entry !== undefined && now - entry.at < 1000) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    last.set(limit, { at: now, suppressed: 0 });
    const line = { limit, ...fields };
    logger.warn(suppressed > 0 ? { ...line, notLogged: suppressed } : line, message);
  };
}
