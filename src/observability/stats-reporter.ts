import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Environment variable that turns the reporter on; its value is the interval in ms. */
export const STATS_ENV = 'MKP_BENCH_STATS';

export interface StatsLine {
  readonly mkpStats: 1;
  readonly pid: number;
  /** Milliseconds since the epoch. */
  readonly t: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** Event-loop delay over the interval, in ms: how late the loop was, the sampling period taken off. */
  readonly eldP50: number;
  readonly eldP99: number;
  readonly eldMax: number;
  /** Event-loop delay p99 since the reporter started, in ms (a whole run's figure, unlike eldP99). */
  readonly eldP99SinceStart: number;
  /** CPU time of the process since it started, in ms. */
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** Whatever the caller adds (e.g. produce requests sent). */
  readonly [extra: string]: unknown;
}

const SAMPLING_MS = 10;

/**
 * The histogram holds the time between two samples, which is the sampling period itself when the
 * loop is idle: an idle process would read as 10 ms late. What the loop added is the excess.
 */
export function lateness(intervalNs: number): number {
  return Math.max(0, intervalNs / 1e6 - SAMPLING_MS);
}

/**
 * Writes one JSON line per interval to stderr with RSS, heap and event-loop delay, so a benchmark
 * can follow the process from outside without the admin HTTP server. Off unless `MKP_BENCH_STATS`
 * is a positive number of milliseconds. Returns a function that stops it.
 */
export function startStatsReporter(
  env: NodeJS.ProcessEnv,
  extra: () => Record<string, unknown> = () => ({}),
  write: (line: string) => void = (l) => process.stderr.write(l),
): () => void {
  const raw = env[STATS_ENV];
  if (raw === undefined || raw === '') return () => undefined;
  const intervalMs = Number(raw);
  if (!Number.isInteger(intervalMs) || intervalMs <= 0) return () => undefined;
  const delay = monitorEventLoopDelay({ resolution: SAMPLING_MS });
  delay.enable();
  // A second monitor, never reset: interval histograms cannot be merged into another one.
  const sinceStart = monitorEventLoopDelay({ resolution: SAMPLING_MS });
  sinceStart.enable();
  const timer = setInterval(() => {
    try {
      report();
    } catch {
      // Never let a report take the proxy down (process.memoryUsage fails when no fd is left).
    }
  }, intervalMs);
  const report = (): void => {
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    const line: StatsLine = {
      mkpStats: 1,
      pid: process.pid,
      t: Date.now(),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      eldP50: lateness(delay.percentile(50)),
      eldP99: lateness(delay.percentile(99)),
      eldMax: lateness(delay.max),
      eldP99SinceStart: lateness(sinceStart.percentile(99)),
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      ...extra(),
    };
    delay.reset();
    write(`${JSON.stringify(line)}\n`);
  };
  timer.unref();
  return () => {
    clearInterval(timer);
    delay.disable();
    sinceStart.disable();
  };
}
