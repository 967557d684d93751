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

export interface KafkaSslConfig {
  /** PEM file with the CA certificate(s) that sign the brokers' certificates. Default: Node's built-in CAs. */
  readonly ca: string | null;
  /** PEM client certificate file, for brokers that require client certificates. Default: none. */
  readonly cert: string | null;
  /** PEM private key file of `cert`. Default: none; required with `cert`. */
  readonly key: string | null;
  /** Verify the brokers' certificates. Default true. */
  readonly rejectUnauthorized: boolean;
  /** Name checked against the brokers' certificates (SNI). Default: the broker host. */
  readonly servername: string | null;
}

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaSaslConfig {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  /** Read from `password`, `passwordFile` or `passwordEnv` when the config is loaded; prints as `[redacted]`. */
  readonly password: Secret;
}

/**
 * A value that must never appear in logs or printed configuration: JSON, `String()` and
 * `util.inspect` all show `[redacted]`; only `reveal()` gives the value.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[redacted]';
  }
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
