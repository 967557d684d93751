/**
 * What the pipeline counts per PUBLISH, as plain numbers added up on the hot path (see
 * ProxyMetrics.hotCount), and its log lines about the in-flight bound, rate-limited.
 */
import type { Logger } from 'pino';
import type { LimitsConfig } from '../config/types.js';
import type { HotCount, ProxyMetrics } from '../observability/metrics.js';

export type RecordOutcome = 'acked' | 'rejected' | 'failed' | 'dropped';

/** How a message came in: the `transport` label of the publish and record counters. */
export type Transport = 'mqtt' | 'http';

/** At most one log line about dropped QoS 0 publishes per this many ms. */
const DROP_LOG_INTERVAL_MS = 10_000;

/** Counts by label values; a child counter is made for each combination at its first use. */
export class PublishCounters {
  private readonly received = new Map<string, HotCount>();
  private readonly outcomes = new Map<string, HotCount>();
  private readonly bytesReceived: Record<Transport, HotCount>;

  constructor(private readonly metrics: ProxyMetrics) {
    this.bytesReceived = {
      mqtt: metrics.hotCount(metrics.bytesReceived, { transport: 'mqtt' }),
      http: metrics.hotCount(metrics.bytesReceived, { transport: 'http' }),
    };
  }

  payload(bytes: number, transport: Transport): void {
    this.bytesReceived[transport].inc(bytes);
  }

  publish(qos: number, rule: string, transport: Transport): void {
    const key = `${qos}\u0000${rule}\u0000${transport}`;
    let child = this.received.get(key);
    if (child === undefined) {
      child = this.metrics.hotCount(this.metrics.publishesReceived, { qos: String(qos), rule, transport });
      this.received.set(key, child);
    }
    child.inc();
  }

  outcome(outcome: RecordOutcome, reason: string, transport: Transport): void {
    const key = `${outcome}\u0000${reason}\u0000${transport}`;
    let child = this.outcomes.get(key);
    if (child === undefined) {
      child = this.metrics.hotCount(this.metrics.records, { outcome, reason, transport });
      this.outcomes.set(key, child);
    }
    child.inc();
  }
}

/** The in-flight figures a log line about the bound shows (the budget's own, read when a line is written). */
export interface InflightFigures {
  readonly messages: number;
  readonly bytes: number;
  readonly pausedConnections: number;
}

/** One log line each time the global bound is reached and left; dropped QoS 0 at most every 10 s. */
export class OverloadLog {
  private wasOverloaded = false;
  private droppedSinceLog = 0;
  private lastDropLog = 0;

  constructor(
    private readonly logger: Logger,
    private readonly limits: Pick<LimitsConfig, 'maxInflightMessages' | 'maxInflightBytes' | 'qos0Overload'>,
  ) {}

  /** After each change of the in-flight figures. */
  update(overloaded: boolean, inflight: InflightFigures): void {
    // The in-flight gauges are read when /metrics is scraped, not set per record.
    if (overloaded === this.wasOverloaded) return;
    this.wasOverloaded = overloaded;
    const { limits } = this;
    const fields = {
      inflightMessages: inflight.messages,
      inflightBytes: inflight.bytes,
      pausedClients: inflight.pausedConnections,
      maxInflightMessages: limits.maxInflightMessages,
      maxInflightBytes: limits.maxInflightBytes,
    };
    if (overloaded) {
      const what = limits.qos0Overload === 'drop' ? 'QoS 0 dropped, QoS 1 and 2 senders paused' : 'reading from clients paused';
      this.logger.warn(fields, `in-flight bound reached: ${what}`);
    } else {
      this.logger.info(fields, 'in-flight below the low-water mark: reading from clients resumed');
    }
  }

  /** A QoS 0 publish dropped at the bound: logged at most once per interval, with the count since the last line. */
  dropped(log: Logger, rule: string, inflight: InflightFigures): void {
    this.droppedSinceLog++;
    const now = Date.now();
    if (now - this.lastDropLog < DROP_LOG_INTERVAL_MS) return;
    log.warn(
      { outcome: 'dropped', reason: 'overload', rule, dropped: this.droppedSinceLog, inflightMessages: inflight.messages, inflightBytes: inflight.bytes },
      'QoS 0 publishes dropped: in-flight bound reached',
    );
    this.droppedSinceLog = 0;
    this.lastDropLog = now;
  }
}
