import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import { readLagGauge } from './reader-lag.js';
import { registerSessionMetrics } from './session-metrics.js';

/**
 * Every metric the proxy exports, in one registry per proxy (so two proxies in one process, as in
 * tests or an embedding service, do not share counters). Labels are bounded by construction: a
 * listener name, a protocol version, a QoS, a rule name from the config, a reason from a fixed set.
 * Never a client id, username or MQTT topic.
 */
export interface ProxyMetrics {
  readonly registry: Registry;
  /** Open MQTT connections, by listener and protocol version (`3`, `4`, `5`). */
  readonly connections: Gauge<'listener' | 'version'>;
  /**
   * CONNECTs answered, by listener and outcome (`accepted`, `refused`); refused ones also by
   * {@link ConnectRefusal} `reason`.
   */
  readonly connects: Counter<'listener' | 'outcome' | 'reason'>;
  /** Connections closed, by reason (`client`, `error`, `kafka-unavailable`, `limit`, `shutdown`, ...). */
  readonly disconnects: Counter<'reason'>;
  /**
   * PUBLISH packets (and HTTP ingest messages) received, by QoS, mapping rule (`unmapped` when no
   * rule matched) and transport (`mqtt`, `http`).
   */
  readonly publishesReceived: Counter<'qos' | 'rule' | 'transport'>;
  /** Payload bytes received, by transport. */
  readonly bytesReceived: Counter<'transport'>;
  /** Records that left the pipeline, by outcome (`acked`, `rejected`, `failed`, `dropped`), reason and transport. */
  readonly records: Counter<'outcome' | 'reason' | 'transport'>;
  /** HTTP ingest requests answered, by listener and status code. */
  readonly httpRequests: Counter<'listener' | 'status'>;
  /** HTTP ingest requests being served now, by listener. */
  readonly httpRequestsInFlight: Gauge<'listener'>;
  /** Seconds from handing a produce request to Kafka until it answered. */
  readonly produceLatency: Histogram<'acks'>;
  /** Records accepted from clients and not yet answered by Kafka. */
  readonly inflightMessages: Gauge;
  /** Accounted bytes of the records in flight: what counts against limits.maxInflightBytes. */
  readonly inflightBytes: Gauge;
  /** Connections whose socket is not being read because a bound was reached. */
  readonly pausedClients: Gauge;
  /** Refused CONNECTs by reason (`bad-password`, `unknown-user`, `expired-token`, `no-certificate`, ...). */
  readonly authFailures: Counter<'reason'>;
  /** PUBLISHes refused by an ACL rule, by MQTT protocol version. */
  readonly aclDenials: Counter<'version'>;
  /**
   * Password hashes computed for logins (each a password checked, or an unknown user refused as
   * slowly). Logins refused unchecked, as server busy, count in `limitsHit` (`login-hash-queue`,
   * `login-address-queue`).
   */
  readonly loginHashes: Counter;
  /** Password hashes running now (bounded by `auth.logins.maxConcurrentHashes` plus the reserve). */
  readonly loginHashesInFlight: Gauge;
  /** Password logins waiting for a hash slot now (bounded by `auth.logins.maxQueuedHashes`). */
  readonly loginHashesQueued: Gauge;
  /** Limits hit, by limit (`max-connections`, `max-connections-per-address`, `packet-size`, `connect-timeout`, ...). */
  readonly limitsHit: Counter<'limit'>;
  /** Protocol violations and malformed packets, by kind. */
  readonly protocolErrors: Counter<'kind'>;
  /** Config reloads by outcome (`applied`, `refused`). */
  readonly reloads: Counter<'outcome'>;
  /** 1 while the proxy reports ready on /readyz, 0 otherwise (starting, Kafka unreachable, draining). */
  readonly ready: Gauge;
  /**
   * Messages from Kafka for subscribers, by {@link DeliveryOutcome}: one per subscriber a record
   * matched (or per record when it matched no rule: `unroutable`).
   */
  readonly deliveries: Counter<'outcome'>;
  /** Subscriptions of connected clients, by kind (`direct`, `shared`). */
  readonly subscriptions: Gauge<'kind'>;
  /** Messages from Kafka waiting in connections' outbound queues (limits.maxQueuedDeliveriesTotal bounds them). */
  readonly queuedDeliveries: Gauge;
  /**
   * Sets the in-flight and ready gauges from `read` at each scrape, rather than updating them per
   * record on the hot path.
   */
  observe(read: () => ScrapedState): void;
  /** Sets the subscription and queue gauges from `read` at each scrape. */
  observeDelivery(read: () => DeliveryState): void;
  /**
   * A count for the per-message path: a plain number it adds to, handed to `counter` (with these
   * labels) whenever the counter is read. prom-client hashes the labels on every `inc`.
   */
  hotCount<L extends string>(counter: Counter<L>, labels: LabelValues<L>): HotCount;
}

/** See {@link ProxyMetrics.hotCount}. */
export class HotCount {
  private pending = 0;

  constructor(private readonly flushTo: (value: number) => void) {}

  inc(value = 1): void {
    this.pending += value;
  }

  /** Hands what was counted since the last flush to the counter. */
  flush(): void {
    if (this.pending === 0) return;
    const value = this.pending;
    this.pending = 0;
    this.flushTo(value);
  }
}

/** Values read from the running proxy when metrics are scraped. */
export interface ScrapedState {
  readonly inflightMessages: number;
  readonly inflightBytes: number;
  readonly ready: boolean;
}

/** Values read from delivery when metrics are scraped. */
export interface DeliveryState {
  readonly directSubscriptions: number;
  readonly sharedSubscriptions: number;
  readonly queued: number;
}

/**
 * What became of a message for one subscriber: `sent` (written), `queued` (waits behind the
 * Receive Maximum or the socket), `dropped` (QoS 0 over the connection's queue bound),
 * `disconnected` (QoS 1 / 2 over it: the subscriber was sent away), `too-large` (over the client's
 * Maximum Packet Size), `expired` (Message Expiry passed), `denied` (the ACL refused the topic),
 * `no-local` (the subscriber published it itself), `gone` (its connection had ended), or, per
 * record, `unroutable` (no rule gave it an MQTT topic).
 */
export const DELIVERY_OUTCOMES = ['sent', 'queued', 'dropped', 'disconnected', 'too-large', 'expired', 'denied', 'no-local', 'gone', 'unroutable'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

export const METRIC_PREFIX = 'mqtt_kafka_proxy_';

/**
 * Why a CONNECT was refused: the CONNACK code sent (`bad-credentials`, `not-authorized`,
 * `server-unavailable`, `server-busy`), the limit that refused it (`client-id-length`,
 * `keep-alive`, both sent as identifier rejected), or the protocol rule it broke (`malformed`,
 * `protocol-error`, `unsupported-protocol-version`, `bad-authentication-method`,
 * `client-id-invalid`, `topic-name-invalid`, `retain-not-supported`, `qos-not-supported`).
 */
export const CONNECT_REFUSALS = [
  'bad-credentials',
  'not-authorized',
  'server-unavailable',
  'server-busy',
  'client-id-length',
  'keep-alive',
  'malformed',
  'protocol-error',
  'unsupported-protocol-version',
  'bad-authentication-method',
  'client-id-invalid',
  'topic-name-invalid',
  'retain-not-supported',
  'qos-not-supported',
] as const;
export type ConnectRefusal = (typeof CONNECT_REFUSALS)[number];

/** The proxy's metrics; the read-lag and sessions gauges, filled in by their modules, are made here so they are always exported. */
export function createMetrics(options: { collectDefault?: boolean } = {}): ProxyMetrics {
  const registry = new Registry();
  if (options.collectDefault ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  readLagGauge(registry);
  registerSessionMetrics(registry);
  const p = METRIC_PREFIX;
  let read: (() => ScrapedState) | undefined;
  let readDelivery: (() => DeliveryState) | undefined;
  const hot = new Map<Counter<string>, HotCount[]>();
  // Called by prom-client before it reads a counter (scrape, get()): pending hot counts first.
  const flushHot = function (this: Counter<string>): void {
    for (const count of hot.get(this) ?? []) count.flush();
  };
  return {
    observe(reader) {
      read = reader;
    },
    observeDelivery(reader) {
      readDelivery = reader;
    },
    hotCount<L extends string>(counter: Counter<L>, labels: LabelValues<L>): HotCount {
      const count = new HotCount((value) => counter.inc(labels, value));
      const list = hot.get(counter as Counter<string>) ?? [];
      list.push(count);
      hot.set(counter as Counter<string>, list);
      return count;
    },
    registry,
    connections: new Gauge({ name: `${p}connections`, help: 'Open MQTT connections', labelNames: ['listener', 'version'], registers }),
    connects: new Counter({
      name: `${p}connects_total`,
      help: 'CONNECT packets answered, by outcome (and reason when refused)',
      labelNames: ['listener', 'outcome', 'reason'],
      registers,
    }),
    disconnects: new Counter({ name: `${p}disconnects_total`, help: 'Connections closed, by reason', labelNames: ['reason'], registers }),
    publishesReceived: new Counter({
      name: `${p}publishes_received_total`,
      help: 'PUBLISH packets received, by QoS and mapping rule',
      labelNames: ['qos', 'rule', 'transport'],
      registers,
      collect: flushHot,
    }),
    bytesReceived: new Counter({
      name: `${p}received_bytes_total`,
      help: 'Payload bytes received, by transport',
      labelNames: ['transport'],
      registers,
      collect: flushHot,
    }),
    records: new Counter({
      name: `${p}records_total`,
      help: 'Records that left the pipeline, by outcome, reason and transport',
      labelNames: ['outcome', 'reason', 'transport'],
      registers,
      collect: flushHot,
    }),
    httpRequests: new Counter({ name: `${p}http_requests_total`, help: 'HTTP ingest requests answered, by status', labelNames: ['listener', 'status'], registers }),
    httpRequestsInFlight: new Gauge({ name: `${p}http_requests_in_flight`, help: 'HTTP ingest requests being served', labelNames: ['listener'], registers }),
    produceLatency: new Histogram({
      name: `${p}kafka_produce_seconds`,
      help: 'Time from sending a produce request to Kafka until it answered',
      labelNames: ['acks'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    ...scrapedGauges(registers, () => read),
    pausedClients: new Gauge({ name: `${p}paused_clients`, help: 'Connections not being read because a bound was reached', registers }),
    authFailures: new Counter({ name: `${p}auth_failures_total`, help: 'Refused CONNECTs, by reason', labelNames: ['reason'], registers }),
    aclDenials: new Counter({ name: `${p}acl_denials_total`, help: 'PUBLISHes refused by an ACL rule', labelNames: ['version'], registers }),
    loginHashes: new Counter({ name: `${p}login_password_hashes_total`, help: 'Password hashes computed for logins', registers }),
    loginHashesInFlight: new Gauge({ name: `${p}login_password_hashes_in_flight`, help: 'Password hashes running now', registers }),
    loginHashesQueued: new Gauge({ name: `${p}login_password_hashes_queued`, help: 'Password logins waiting for a hash slot', registers }),
    limitsHit: new Counter({ name: `${p}limits_hit_total`, help: 'Limits reached, by limit', labelNames: ['limit'], registers }),
    protocolErrors: new Counter({ name: `${p}protocol_errors_total`, help: 'Malformed packets and protocol violations', labelNames: ['kind'], registers }),
    reloads: new Counter({ name: `${p}config_reloads_total`, help: 'Config reloads, by outcome', labelNames: ['outcome'], registers }),
    ...deliveryMetrics(registers, flushHot, () => readDelivery),
  };
}

/** The gauges set from the proxy's state (see ProxyMetrics.observe) when they are scraped. */
function scrapedGauges(
  registers: Registry[],
  reader: () => (() => ScrapedState) | undefined,
): Pick<ProxyMetrics, 'inflightMessages' | 'inflightBytes' | 'ready'> {
  const p = METRIC_PREFIX;
  const gauge = (name: string, help: string, value: (state: ScrapedState) => number): Gauge =>
    new Gauge({
      name: `${p}${name}`,
      help,
      registers,
      collect() {
        const read = reader();
        if (read !== undefined) this.set(value(read()));
      },
    });
  return {
    inflightMessages: gauge('inflight_messages', 'Records accepted and not yet answered by Kafka', (state) => state.inflightMessages),
    inflightBytes: gauge(
      'inflight_bytes',
      'Accounted bytes of the records in flight (payload, key, headers and a per-record overhead), as limits.maxInflightBytes counts them',
      (state) => state.inflightBytes,
    ),
    ready: gauge('ready', '1 while /readyz reports ready', (state) => (state.ready ? 1 : 0)),
  };
}

/** The delivery counter (its hot counts flushed before a read) and the gauges read from delivery at each scrape. */
function deliveryMetrics(
  registers: Registry[],
  flushHot: (this: Counter<string>) => void,
  reader: () => (() => DeliveryState) | undefined,
): Pick<ProxyMetrics, 'deliveries' | 'subscriptions' | 'queuedDeliveries'> {
  const p = METRIC_PREFIX;
  return {
    deliveries: new Counter({ name: `${p}deliveries_total`, help: 'Messages from Kafka for subscribers, by outcome', labelNames: ['outcome'], registers, collect: flushHot }),
    subscriptions: new Gauge({
      name: `${p}subscriptions`,
      help: 'Subscriptions of connected clients, by kind',
      labelNames: ['kind'],
      registers,
      collect() {
        const state = reader()?.();
        this.set({ kind: 'direct' }, state?.directSubscriptions ?? 0);
        this.set({ kind: 'shared' }, state?.sharedSubscriptions ?? 0);
      },
    }),
    queuedDeliveries: new Gauge({
      name: `${p}queued_deliveries`,
      help: 'Messages from Kafka waiting in connections outbound queues',
      registers,
      collect() {
        this.set(reader()?.().queued ?? 0);
      },
    }),
  };
}
