/**
 * The validated, immutable configuration. Everything downstream of `loadConfig` reads these types
 * only; the YAML shape, environment variables and flags are the loader's business.
 */

/** Kafka `acks` for a produce request: 0 = none, 1 = leader, 'all' = every in-sync replica. */
export type AcksSetting = 0 | 1 | 'all';

export type ListenerProtocol = 'tcp' | 'tls' | 'ws' | 'wss';

export interface ListenerConfig {
  readonly protocol: ListenerProtocol;
  /** Interface to bind. Default `0.0.0.0`. */
  readonly host: string;
  /** TCP port. Default 1883. */
  readonly port: number;
}

export interface KafkaAcksConfig {
  readonly qos0: AcksSetting;
  readonly qos1: AcksSetting;
  readonly qos2: AcksSetting;
}

/** Compression of produce requests. */
export type KafkaCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface KafkaConfig {
  /** Bootstrap brokers, `host:port`. Default `['127.0.0.1:9092']`. */
  readonly brokers: readonly string[];
  /** Kafka client id. Default `mqtt-kafka-proxy`. */
  readonly clientId: string;
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
}

export interface MappingRuleConfig {
  /** Unique rule name, used in logs and metrics. */
  readonly name: string;
  /** JavaScript regular expression source, matched against the whole MQTT topic as written. */
  readonly match: string;
  /** Kafka topic template. */
  readonly topic: string;
  /** Kafka key template; `null` = no key. Default `${topic}`. */
  readonly key: string | null;
}

export type UnmappedConfig = { readonly action: 'reject' } | { readonly action: 'topic'; readonly topic: string };

export interface AuthConfig {
  /** Accept clients without credentials. Default false. */
  readonly anonymous: boolean;
}

export interface HttpConfig {
  /** Admin HTTP port (/metrics, /healthz, /readyz). Default 9090; 0 disables it. */
  readonly port: number;
}

export interface LimitsConfig {
  /** Largest MQTT packet accepted, in bytes. Default 1048576 (1 MiB). */
  readonly maxPacketSize: number;
  /**
   * Most messages, over all connections, accepted but not yet acknowledged by Kafka. Above it the
   * proxy stops taking new publishes (sockets are no longer read) until Kafka catches up. Default 100000.
   */
  readonly maxInflightMessages: number;
  /** Seconds a socket may stay open without sending CONNECT. Default 10. */
  readonly connectTimeoutSeconds: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LogConfig {
  /** Default `info`. */
  readonly level: LogLevel;
}

export interface ProxyConfig {
  /** Absolute path of the file this config came from (for messages); `<inline>` when built in code. */
  readonly source: string;
  readonly listeners: readonly ListenerConfig[];
  readonly kafka: KafkaConfig;
  /** Ordered; first match wins. Rules from `topic.regex.list` are appended after `mappings`. */
  readonly mappings: readonly MappingRuleConfig[];
  readonly unmapped: UnmappedConfig;
  readonly auth: AuthConfig;
  readonly http: HttpConfig;
  readonly limits: LimitsConfig;
  readonly log: LogConfig;
}

/** Values given on the command line or through MKP_* variables; they win over the file. */
export interface ConfigOverrides {
  readonly kafkaBrokers?: readonly string[];
  /** Replaces the port of the first listener. */
  readonly port?: number;
  readonly logLevel?: LogLevel;
}
