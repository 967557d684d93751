/** The `limits` section: packet size, in-flight bounds, connection and keep-alive limits, rates. */
import { deepFreeze } from './freeze.js';
import { availableMemoryBytes, inflightDefaults, memorySharingProcesses } from './memory.js';
import { describeValue, MAX_TIMER_MS, readInteger, readOneOf, readSection, type Problems } from './readers.js';

/** What happens to QoS 0 publishes while the proxy is at its in-flight bound. */
export type Qos0Overload = 'block' | 'drop';

export interface LimitsConfig {
  /** Largest MQTT packet accepted, in bytes. Default 1048576 (1 MiB). */
  readonly maxPacketSize: number;
  /**
   * Most records, over all connections, read and not yet answered by Kafka. At the bound the proxy
   * stops reading from sockets (TCP pushes back to the devices) until the count is back at the
   * low-water mark. Default: maxInflightBytes / 2048, at least 1000, at most 100000.
   */
  readonly maxInflightMessages: number;
  /**
   * Most accounted bytes in flight over all connections (payload, MQTT topic, key, headers and
   * 1024 bytes per record for the objects around it); same effect as `maxInflightMessages`.
   * Default: a quarter of the memory limit of the process's cgroup (or a parent's), else of the
   * machine's memory, divided by the number of `--workers`; at least 16 MiB, at most 1 GiB.
   */
  readonly maxInflightBytes: number;
  /** Most records in flight from one connection; above it only that connection is paused. Default 1000. */
  readonly maxInflightPerConnection: number;
  /**
   * Most accounted bytes in flight from one connection (counted as for `maxInflightBytes`); above
   * it only that connection is paused, so one device sending large payloads cannot take the whole
   * global bound from the others. Default 8388608 (8 MiB).
   */
  readonly maxInflightBytesPerConnection: number;
  /** A paused connection is read again once in flight is at or below this fraction of its bound. Default 0.8. */
  readonly inflightLowWater: number;
  /**
   * QoS 0 publishes while the global bound is reached: `block` (default) pauses every connection
   * like QoS 1 and 2; `drop` discards them (metric records{outcome="dropped"}), pausing only the
   * connections whose QoS 1 / 2 messages go over the bound.
   */
  readonly qos0Overload: Qos0Overload;
  /** Seconds a socket may stay open without sending CONNECT. Default 10. */
  readonly connectTimeoutSeconds: number;
  /** Open connections over all listeners; 0 = no limit. Default 100000. */
  readonly maxConnections: number;
  /** Open connections from one client address; 0 = no limit. Default 0. */
  readonly maxConnectionsPerAddress: number;
  /**
   * Open connections from one public client address: any address outside the private, loopback,
   * link-local and shared (CGNAT) ranges where load balancers sit, so one without PROXY protocol
   * is never capped by this default. 0 = no limit. Default 1000.
   */
  readonly maxConnectionsPerPublicAddress: number;
  /** Longest client identifier accepted. Default 256 (MQTT requires at least 23). */
  readonly maxClientIdLength: number;
  /** Smallest keep alive accepted, in seconds; 0 = no minimum. Default 0. */
  readonly minKeepAliveSeconds: number;
  /** Largest keep alive accepted, in seconds; below 65535 a keep alive of 0 (none) also exceeds it. Default 65535. */
  readonly maxKeepAliveSeconds: number;
  /** PUBLISH packets per second one connection may send on average; 0 = no limit. Default 0. */
  readonly publishRatePerSecond: number;
  /** Publishes a connection may send at once before the rate applies; 0 = the rate (one second's worth). Default 0. */
  readonly publishRateBurst: number;
  /**
   * Messages from Kafka one connection may have waiting (behind its Receive Maximum or a socket
   * that does not take more). Past it a QoS 0 message is dropped; a QoS 1 / 2 subscriber is
   * disconnected (MQTT 5: 0x97 Quota exceeded). Default 1000.
   */
  readonly maxQueuedDeliveries: number;
  /**
   * Messages from Kafka waiting over all connections; at the bound the delivery topics are not
   * read until the count is back at the low-water mark. Default 100000.
   */
  readonly maxQueuedDeliveriesTotal: number;
}

/**
 * In-flight bounds follow the memory this process may use (read once, at start), divided among the
 * processes sharing it: each of `--workers N` holds its own bounds, so N of them would otherwise
 * hold N times what the memory allows.
 */
const inflight = inflightDefaults(availableMemoryBytes(), memorySharingProcesses());

export const LIMITS_DEFAULTS: LimitsConfig = deepFreeze<LimitsConfig>({
  maxPacketSize: 1_048_576,
  maxInflightMessages: inflight.maxInflightMessages,
  maxInflightBytes: inflight.maxInflightBytes,
  maxInflightPerConnection: 1000,
  // Half the smallest memory-derived global bound (16 MiB): one connection never holds all of it.
  maxInflightBytesPerConnection: 8 * 1024 * 1024,
  inflightLowWater: 0.8,
  qos0Overload: 'block',
  connectTimeoutSeconds: 10,
  maxConnections: 100_000,
  maxConnectionsPerAddress: 0,
  // Public addresses only: a load balancer without PROXY protocol sits on a private one.
  maxConnectionsPerPublicAddress: 1000,
  maxClientIdLength: 256,
  minKeepAliveSeconds: 0,
  maxKeepAliveSeconds: 65535,
  publishRatePerSecond: 0,
  // 0 = as many as the rate: one second's worth.
  publishRateBurst: 0,
  maxQueuedDeliveries: 1000,
  maxQueuedDeliveriesTotal: 100_000,
});

const LIMITS_KEYS = [
  'maxPacketSize',
  'maxInflightMessages',
  'maxInflightBytes',
  'maxInflightPerConnection',
  'maxInflightBytesPerConnection',
  'inflightLowWater',
  'qos0Overload',
  'connectTimeoutSeconds',
  'maxConnections',
  'maxConnectionsPerAddress',
  'maxConnectionsPerPublicAddress',
  'maxClientIdLength',
  'minKeepAliveSeconds',
  'maxKeepAliveSeconds',
  'publishRatePerSecond',
  'publishRateBurst',
  'maxQueuedDeliveries',
  'maxQueuedDeliveriesTotal',
] as const;
const QOS0_OVERLOAD = ['block', 'drop'] as const;

/** MQTT's largest packet: 268435455 bytes of remaining length plus a 5-byte fixed header. */
const MAX_MQTT_PACKET_SIZE = 268_435_460;

/** The limits whose value is a number. */
type NumericLimit = { [K in keyof LimitsConfig]: LimitsConfig[K] extends number ? K : never }[keyof LimitsConfig];

export function readLimits(value: unknown, problems: Problems): LimitsConfig {
  const section = readSection(value, 'limits', LIMITS_KEYS, problems);
  const defaults = LIMITS_DEFAULTS;
  const int = (key: NumericLimit, min: number, max: number): number =>
    readInteger(section[key], `limits.${key}`, min, max, problems, defaults[key]);
  const limits: LimitsConfig = {
    maxPacketSize: int('maxPacketSize', 1, MAX_MQTT_PACKET_SIZE),
    maxInflightMessages: int('maxInflightMessages', 1, 2 ** 31 - 1),
    maxInflightBytes: int('maxInflightBytes', 1024, Number.MAX_SAFE_INTEGER),
    maxInflightPerConnection: int('maxInflightPerConnection', 1, 2 ** 31 - 1),
    maxInflightBytesPerConnection: int('maxInflightBytesPerConnection', 1024, Number.MAX_SAFE_INTEGER),
    inflightLowWater: readFraction(section['inflightLowWater'], 'limits.inflightLowWater', problems, defaults.inflightLowWater),
    qos0Overload: readOneOf(section['qos0Overload'], 'limits.qos0Overload', QOS0_OVERLOAD, problems, defaults.qos0Overload),
    connectTimeoutSeconds: int('connectTimeoutSeconds', 1, Math.floor(MAX_TIMER_MS / 1000)),
    maxConnections: int('maxConnections', 0, 2 ** 31 - 1),
    maxConnectionsPerAddress: int('maxConnectionsPerAddress', 0, 2 ** 31 - 1),
    maxConnectionsPerPublicAddress: int('maxConnectionsPerPublicAddress', 0, 2 ** 31 - 1),
    // MQTT-3.1.3-5: a server must accept client ids of 1 to 23 characters; 65535 is the field's size.
    maxClientIdLength: int('maxClientIdLength', 23, 65535),
    minKeepAliveSeconds: int('minKeepAliveSeconds', 0, 65535),
    maxKeepAliveSeconds: int('maxKeepAliveSeconds', 1, 65535),
    publishRatePerSecond: int('publishRatePerSecond', 0, 10_000_000),
    publishRateBurst: int('publishRateBurst', 0, 10_000_000),
    maxQueuedDeliveries: int('maxQueuedDeliveries', 1, 2 ** 31 - 1),
    maxQueuedDeliveriesTotal: int('maxQueuedDeliveriesTotal', 1, 2 ** 31 - 1),
  };
  if (limits.minKeepAliveSeconds > limits.maxKeepAliveSeconds) {
    problems.report('limits.minKeepAliveSeconds', `must not exceed maxKeepAliveSeconds (${limits.maxKeepAliveSeconds})`);
  }
  if (section['publishRateBurst'] !== undefined && limits.publishRatePerSecond === 0) {
    problems.report('limits.publishRateBurst', 'has no effect without limits.publishRatePerSecond');
  }
  return limits;
}

/** A number from 0 (inclusive) to 1 (exclusive). */
function readFraction(value: unknown, path: string, problems: Problems, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && value >= 0 && value < 1) return value;
  problems.report(path, `expected a number from 0 up to (not including) 1, got ${describeValue(value)}`);
  return fallback;
}
