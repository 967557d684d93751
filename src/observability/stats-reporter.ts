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
  /** Event-loop delay over the interval, in ms. */
  readonly eldP50: number;
  readonly eldP99: number;
  readonly eldMax: number;
  /** CPU time of the process since it started, in ms. */
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** Whatever the caller adds (e.g. produce requests sent). */
  readonly [extra: string]: unknown;
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
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
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
      eldP50: delay.percentile(50) / 1e6,
      eldP99: delay.percentile(99) / 1e6,
      eldMax: delay.max / 1e6,
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
  };
}
