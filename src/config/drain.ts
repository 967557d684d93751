/** The `drain` section: how a replica leaves its load balancer and finishes what it started. */
import { deepFreeze } from './freeze.js';
import { MAX_TIMER_MS, readInteger, readSection, type Problems } from './readers.js';

export interface DrainConfig {
  /**
   * After SIGTERM, how long /readyz answers 503 while the proxy still serves everything, so the
   * load balancer takes the replica out before listeners close, in ms. Default 5000.
   */
  readonly delayMs: number;
  /**
   * Longest wait, after the listeners closed, for records on their way to Kafka and their
   * acknowledgements, in ms. Default 30000.
   */
  readonly timeoutMs: number;
}

export const DRAIN_DEFAULTS: DrainConfig = deepFreeze<DrainConfig>({ delayMs: 5000, timeoutMs: 30_000 });

const DRAIN_KEYS = ['delayMs', 'timeoutMs'] as const;

export function readDrain(value: unknown, problems: Problems): DrainConfig {
  const section = readSection(value, 'drain', DRAIN_KEYS, problems);
  return {
    delayMs: readInteger(section['delayMs'], 'drain.delayMs', 0, MAX_TIMER_MS, problems, DRAIN_DEFAULTS.delayMs),
    timeoutMs: readInteger(section['timeoutMs'], 'drain.timeoutMs', 0, MAX_TIMER_MS, problems, DRAIN_DEFAULTS.timeoutMs),
  };
}
