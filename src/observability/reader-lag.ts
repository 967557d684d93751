import { Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX } from './metrics.js';

/** What a Kafka reader reports lag to (the reader's `LagSink`, by shape). */
export interface LagGauge {
  set(topic: string, partition: number, lag: number): void;
  remove(topic: string, partition: number): void;
}

export const READ_LAG_METRIC = `${METRIC_PREFIX}kafka_read_lag_records`;

/**
 * `mqtt_kafka_proxy_kafka_read_lag_records{reader, topic, partition}`: how many records each
 * partition a reader reads is behind its end. The reader reports after every fetch; the numbers
 * are kept plain and handed to the gauge when it is scraped, so the fetch path hashes no labels.
 * Labels stay bounded: `reader` is the caller's name for it (delivery, sessions, retained), topics
 * come from the configuration.
 */
export function readerLagGauge(registry: Registry, reader: string): LagGauge {
  const lags = new Map<string, { topic: string; partition: number; lag: number }>();
  const removed: Array<{ topic: string; partition: number }> = [];
  const existing = registry.getSingleMetric(READ_LAG_METRIC);
  const gauge =
    existing instanceof Gauge
      ? (existing as Gauge<'reader' | 'topic' | 'partition'>)
      : new Gauge({
          name: READ_LAG_METRIC,
          help: 'Records a Kafka reader is behind the end of each partition it reads',
          labelNames: ['reader', 'topic', 'partition'],
          registers: [registry],
          // prom-client calls collect() before each read of the gauge: every reader's numbers go in then.
          collect() {
            for (const flush of collectors.get(this) ?? []) flush();
          },
        });
  const flushes = collectors.get(gauge) ?? [];
  collectors.set(gauge, flushes);
  flushes.push(() => {
    for (const { topic, partition } of removed.splice(0)) gauge.remove({ reader, topic, partition: String(partition) });
    for (const { topic, partition, lag } of lags.values()) gauge.set({ reader, topic, partition: String(partition) }, lag);
  });
  return {
    set(topic, partition, lag) {
      const key = `${topic}\u0000${partition}`;
      const entry = lags.get(key);
      if (entry === undefined) lags.set(key, { topic, partition, lag });
      else entry.lag = lag;
    },
    remove(topic, partition) {
      if (lags.delete(`${topic}\u0000${partition}`)) removed.push({ topic, partition });
    },
  };
}

// The readers reporting to each gauge (one gauge per registry).
const collectors = new WeakMap<Gauge<'reader' | 'topic' | 'partition'>, Array<() => void>>();
