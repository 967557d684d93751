import type { Logger } from 'pino';
import type { LimitsConfig } from '../config/types.js';
import { createLimitReporter, type LimitReporter } from '../observability/limit-reporter.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import { INGEST_ONLY_CAPABILITIES, type ServerCapabilities } from './capabilities.js';
import type { Connection } from './connection.js';
import { connectionClosed } from './session-end.js';
import type { MqttHooks, MqttSession } from './types.js';
import { WillScheduler } from './will.js';

/** Topic aliases a client may set (MQTT 5 Topic Alias Maximum in CONNACK), as Mosquitto's default. */
export const DEFAULT_TOPIC_ALIAS_MAXIMUM = 10;
/** QoS 2 messages awaiting PUBREL over all connections (about 50 bytes each). */
export const DEFAULT_MAX_QOS2_PENDING = 1_000_000;

export interface MqttEngineOptions {
  readonly limits: LimitsConfig;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly hooks: MqttHooks;
  /**
   * The server's Receive Maximum: QoS 1 and 2 PUBLISHes one connection may have unacknowledged
   * (MQTT 5 clients are told; over it they get DISCONNECT 0x93). For 3.1.1 it bounds the QoS 2
   * messages awaiting PUBREL. Default: limits.maxInflightPerConnection, at most 65535.
   */
  readonly receiveMaximum?: number;
  /** Default {@link DEFAULT_TOPIC_ALIAS_MAXIMUM}; 0 refuses every topic alias. */
  readonly topicAliasMaximum?: number;
  /** Default {@link DEFAULT_MAX_QOS2_PENDING}; over it a new QoS 2 PUBLISH gets DISCONNECT 0x97 (3.1.1: closed). */
  readonly maxQoS2Pending?: number;
}

/** What every connection of one engine shares: its options, its registries and its counters. */
export class EngineContext {
  readonly hooks: MqttHooks;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly limits: LimitsConfig;
  readonly limitHit: LimitReporter;
  readonly receiveMaximum: number;
  readonly topicAliasMaximum: number;
  readonly maxQoS2Pending: number;
  /** Publishes a connection may make at once before the rate applies. */
  readonly rateBurst: number;
  /** Every connection handed to the engine and not closed yet. */
  readonly live = new Set<Connection>();
  /** The connection each client id is served by (for takeover). */
  readonly byClientId = new Map<string, Connection>();
  readonly bySession = new WeakMap<MqttSession, Connection>();
  readonly wills = new WillScheduler();
  /** QoS 2 messages awaiting their PUBREL, over all connections. */
  qos2Pending = 0;
  /** Connections past CONNACK and not closed. */
  connected = 0;

  constructor(options: MqttEngineOptions) {
    this.hooks = options.hooks;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.limits = options.limits;
    this.limitHit = createLimitReporter(options.logger, options.metrics);
    this.receiveMaximum = boundedInteger(options.receiveMaximum ?? options.limits.maxInflightPerConnection, 1, 65535);
    this.topicAliasMaximum = boundedInteger(options.topicAliasMaximum ?? DEFAULT_TOPIC_ALIAS_MAXIMUM, 0, 65535);
    this.maxQoS2Pending = Math.max(1, options.maxQoS2Pending ?? DEFAULT_MAX_QOS2_PENDING);
    const { publishRateBurst, publishRatePerSecond } = options.limits;
    this.rateBurst = publishRateBurst > 0 ? publishRateBurst : publishRatePerSecond;
  }

  /** A connection's stream closed (see session-end). */
  closed(connection: Connection): void {
    connectionClosed(connection);
  }

  capabilities(): ServerCapabilities {
    return this.hooks.capabilities?.() ?? INGEST_ONLY_CAPABILITIES;
  }
}

function boundedInteger(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(value)));
}
