/** The `kafka` section: brokers, client library, acks per QoS, batching, timeouts, compression. */
import zlib from 'node:zlib';
import { deepFreeze } from './freeze.js';
import { readKafkaSasl, readKafkaSsl, type KafkaSaslConfig, type KafkaSslConfig } from './kafka-security.js';
import { describeValue, MAX_TIMER_MS, readBoolean, readInteger, readOneOf, readSection, readString, type Problems } from './readers.js';

/** Kafka `acks` for a produce request: 0 = none, 1 = leader, 'all' = every in-sync replica. */
export type AcksSetting = 0 | 1 | 'all';

export interface KafkaAcksConfig {
  readonly qos0: AcksSetting;
  readonly qos1: AcksSetting;
  readonly qos2: AcksSetting;
}

/** Compression of produce requests. */
export type KafkaCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
/** The Kafka client library the producer runs on. */
export type KafkaClientName = 'kafkajs' | 'platformatic';

export interface KafkaConfig {
  /** Bootstrap brokers, `host:port`. Default `['127.0.0.1:9092']`. */
  readonly brokers: readonly string[];
  /** Kafka client id. Default `mqtt-kafka-proxy`. */
  readonly clientId: string;
  /** Client library: `kafkajs` or `platformatic` (@platformatic/kafka). Default `kafkajs`. */
  readonly client: KafkaClientName;
  /** Producer acks per MQTT QoS. Default `{ qos0: 1, qos1: 'all', qos2: 'all' }`. */
  readonly acks: KafkaAcksConfig;
  /** How long a record may wait for others to share its produce request, in ms. Default 5. */
  readonly lingerMs: number;
  /** Most records in one produce request. Default 1000. */
  readonly batchMaxRecords: number;
  /** Most payload bytes in one produce request. Default 1048576 (1 MiB). */
  readonly batchMaxBytes: number;
  /** Time Kafka has to acknowledge a produce request, in ms. Default 30000. */
  readonly requestTimeoutMs: number;
  /** Time to establish a broker connection, in ms. Default 3000. */
  readonly connectionTimeoutMs: number;
  /** Compression of produce requests: none, gzip, snappy, lz4 or zstd. Default `none`. */
  readonly compression: KafkaCompression;
  /** TLS to the brokers. Default: none (plaintext). `ssl: true` means TLS with the system's CAs. */
  readonly ssl: KafkaSslConfig | null;
  /** SASL authentication to the brokers. Default: none. */
  readonly sasl: KafkaSaslConfig | null;
  /**
   * When true, a static target topic (a rule's topic without placeholders, or `unmapped.topic`)
   * missing in Kafka keeps the proxy not ready until it exists. Default false: missing topics are
   * only reported (a warning naming the rule and topic).
   */
  readonly requireTopics: boolean;
}

export const KAFKA_DEFAULTS: KafkaConfig = deepFreeze<KafkaConfig>({
  brokers: ['127.0.0.1:9092'],
  clientId: 'mqtt-kafka-proxy',
  client: 'kafkajs',
  acks: { qos0: 1, qos1: 'all', qos2: 'all' },
  lingerMs: 5,
  batchMaxRecords: 1000,
  batchMaxBytes: 1_048_576,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 3000,
  ssl: null,
  sasl: null,
  requireTopics: false,
  compression: 'none',
});

export const KAFKA_CLIENTS: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];
const KAFKA_COMPRESSIONS: readonly KafkaCompression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

const KAFKA_KEYS = [
  'brokers',
  'clientId',
  'client',
  'acks',
  'lingerMs',
  'batchMaxRecords',
  'batchMaxBytes',
  'requestTimeoutMs',
  'connectionTimeoutMs',
  'ssl',
  'sasl',
  'requireTopics',
  'compression',
] as const;
const ACKS_KEYS = ['qos0', 'qos1', 'qos2'] as const;

/** `baseDir`: where relative certificate and password file paths start (the config file's directory). */
export function readKafka(value: unknown, baseDir: string, problems: Problems): KafkaConfig {
  const section = readSection(value, 'kafka', KAFKA_KEYS, problems);
  const defaults = KAFKA_DEFAULTS;
  const int = (key: 'lingerMs' | 'batchMaxRecords' | 'batchMaxBytes' | 'requestTimeoutMs' | 'connectionTimeoutMs', min: number, max: number): number =>
    readInteger(section[key], `kafka.${key}`, min, max, problems, defaults[key]);
  return {
    ssl: readKafkaSsl(section['ssl'], baseDir, problems),
    sasl: readKafkaSasl(section['sasl'], baseDir, problems),
    requireTopics: readBoolean(section['requireTopics'], 'kafka.requireTopics', problems, defaults.requireTopics),
    brokers: readBrokers(section['brokers'], 'kafka.brokers', problems),
    clientId: readString(section['clientId'], 'kafka.clientId', problems, defaults.clientId),
    client: readOneOf(section['client'], 'kafka.client', KAFKA_CLIENTS, problems, defaults.client),
    acks: readAcks(section['acks'], problems),
    lingerMs: int('lingerMs', 0, MAX_TIMER_MS),
    batchMaxRecords: int('batchMaxRecords', 1, 2 ** 31 - 1),
    batchMaxBytes: int('batchMaxBytes', 1, 2 ** 31 - 1),
    requestTimeoutMs: int('requestTimeoutMs', 1, MAX_TIMER_MS),
    connectionTimeoutMs: int('connectionTimeoutMs', 1, MAX_TIMER_MS),
    compression: readOneOf(section['compression'], 'kafka.compression', KAFKA_COMPRESSIONS, problems, defaults.compression),
  };
}

const BROKER_ADDRESS = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/;

/** Why `broker` is not a usable `host:port`, or null. */
export function brokerAddressProblem(broker: string): string | null {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(broker);
  if (scheme !== null) return `expected host:port without a scheme: write ${JSON.stringify(broker.slice(scheme[0].length))}`;
  const match = BROKER_ADDRESS.exec(broker);
  if (match === null) {
    return `expected host:port (e.g. 127.0.0.1:9092, kafka-0.kafka:9092 or [::1]:9092), got ${JSON.stringify(broker)}`;
  }
  const port = Number(match[1]);
  if (port < 1 || port > 65535) return `port ${port} is not from 1 to 65535`;
  return null;
}

export function readBrokers(value: unknown, path: string, problems: Problems): string[] {
  if (value === undefined) return [...KAFKA_DEFAULTS.brokers];
  if (!Array.isArray(value)) {
    problems.report(path, `expected a list of host:port strings (e.g. [127.0.0.1:9092]), got ${describeValue(value)}`);
    return [];
  }
  if (value.length === 0) problems.report(path, 'needs at least one broker (host:port)');
  const brokers: string[] = [];
  value.forEach((broker: unknown, index) => {
    if (typeof broker !== 'string') {
      problems.report(`${path}[${index}]`, `expected a host:port string, got ${describeValue(broker)}`);
      return;
    }
    const problem = brokerAddressProblem(broker);
    if (problem === null) brokers.push(broker);
    else problems.report(`${path}[${index}]`, problem);
  });
  return brokers;
}

function readAcksSetting(value: unknown, path: string, problems: Problems, fallback: AcksSetting): AcksSetting {
  if (value === undefined) return fallback;
  if (value === 0 || value === 1 || value === 'all') return value;
  if (value === -1) return 'all'; // Kafka's own spelling of "all"
  problems.report(path, `expected 0, 1 or all (-1 also means all), got ${describeValue(value)}`);
  return fallback;
}

function readAcks(value: unknown, problems: Problems): KafkaAcksConfig {
  const path = 'kafka.acks';
  const section = readSection(value, path, ACKS_KEYS, problems);
  const defaults = KAFKA_DEFAULTS.acks;
  const qos2 = readAcksSetting(section['qos2'], `${path}.qos2`, problems, defaults.qos2);
  if (qos2 !== 'all') {
    problems.report(
      `${path}.qos2`,
      `QoS 2 needs acks all: its exactly-once delivery uses the idempotent producer, which Kafka only allows with acks=all`,
    );
  }
  return {
    qos0: readAcksSetting(section['qos0'], `${path}.qos0`, problems, defaults.qos0),
    qos1: readAcksSetting(section['qos1'], `${path}.qos1`, problems, defaults.qos1),
    qos2,
  };
}

/**
 * @platformatic/kafka compresses zstd with node:zlib, which has zstd from Node.js 22.15 on; on an
 * older Node.js the first produce request would fail, so the combination is refused here.
 */
export function checkClientCompression(kafka: KafkaConfig, clientOverridden: boolean, problems: Problems): void {
  if (kafka.client !== 'platformatic' || kafka.compression !== 'zstd' || zlibHasZstd()) return;
  const client = clientOverridden ? 'platformatic (from the command line)' : 'platformatic';
  problems.report(
    'kafka.compression',
    `zstd is not available with kafka.client ${client} on Node.js ${process.versions.node}: it needs node:zlib's zstd (Node.js 22.15 or later); use gzip, snappy or lz4, or kafka.client kafkajs`,
  );
}

function zlibHasZstd(): boolean {
  return typeof (zlib as unknown as Record<string, unknown>)['zstdCompressSync'] === 'function';
}
