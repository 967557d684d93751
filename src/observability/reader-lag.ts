import { Gauge, type Registry } from 'prom-client';

/** What a Kafka reader reports lag to (the reader's `LagSink`, by shape). */
export interface LagGauge {
  set(topic: string, partition: number, lag: number): void;
  remove(topic: string, partition: number): void;
}

// The metrics prefix spelled out: metrics.ts registers this gauge with every registry, so this
// module may not import it back.
export const READ_LAG_METRIC = 'mqtt_kafka_proxy_kafka_read_lag_records';

type LagGaugeMetric = Gauge<'reader' | 'topic' | 'partition'>;

/** The registry's read-lag gauge, made on first use (createMetrics makes it, so it is always exported). */
export function readLagGauge(registry: Registry): LagGaugeMetric {
  const existing = registry.getSingleMetric(READ_LAG_METRIC);
  if (existing instanceof Gauge) return existing as LagGaugeMetric;
  return new Gauge({
    name: READ_LAG_METRIC,
    help: 'Records a Kafka reader is behind the end of each partition it reads',
    labelNames: ['reader', 'topic', 'partition'],
    registers: [registry],
    // prom-client calls collect() before each read of the gauge: every reader's numbers go in then.
    collect() {
      for (const flush of collectors.get(this) ?? []) flush();
    },
  });
}

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
  const gauge = readLagGauge(registry);
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
const collectors = new WeakMap<LagGaugeMetric, Array<() => void>>();
