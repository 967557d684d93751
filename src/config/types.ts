/**
 * The validated, immutable configuration. Everything downstream of `loadConfig` reads these types
 * only; the YAML shape, environment variables and flags are the loader's business. Each section's
 * type lives with its reader and defaults (listeners.ts, kafka.ts, ...); this module gathers them.
 */
import type { AuthConfig } from './auth.js';
import type { DeliveryRuleConfig, RetainedConfig } from './delivery.js';
import type { DrainConfig } from './drain.js';
import type { HttpConfig } from './http.js';
import type { KafkaConfig } from './kafka.js';
import type { LimitsConfig } from './limits.js';
import type { ListenerConfig } from './listeners.js';
import type { LogConfig, LogLevel } from './log.js';
import type { MappingRuleConfig, UnmappedConfig } from './mappings.js';
import type { ReloadConfig } from './reload.js';
import type { SessionsConfig } from './sessions.js';

export type { AuthConfig, CertificateAuthMode, DeniedPublish311, FailureDelayConfig, JwtConfig, LoginLimitsConfig } from './auth.js';
export type { DeliveryRuleConfig, RetainedConfig } from './delivery.js';
export type { DrainConfig } from './drain.js';
export type { HttpConfig } from './http.js';
export type { AcksSetting, KafkaAcksConfig, KafkaClientName, KafkaCompression, KafkaConfig } from './kafka.js';
export type { KafkaSaslConfig, KafkaSslConfig, SaslMechanism } from './kafka-security.js';
export type { LimitsConfig, Qos0Overload } from './limits.js';
export type { ListenerTlsConfig, TlsMinVersion } from './listener-tls.js';
export type { ListenerConfig, ListenerProtocol, ProxyProtocolConfig } from './listeners.js';
export type { HttpIngestConfig } from './http-ingest.js';
export type { LogConfig, LogLevel } from './log.js';
export type { MappingRuleConfig, UnmappedConfig } from './mappings.js';
export type { ReloadConfig } from './reload.js';
export type { SessionsConfig } from './sessions.js';
export { Secret } from './secret.js';

export interface ProxyConfig {
  /** Absolute path of the file this config came from (for messages); `<inline>` when built in code. */
  readonly source: string;
  readonly listeners: readonly ListenerConfig[];
  readonly kafka: KafkaConfig;
  /** Ordered; first match wins. Rules from `topic.regex.list` are appended after `mappings`. */
  readonly mappings: readonly MappingRuleConfig[];
  readonly unmapped: UnmappedConfig;
  /** Kafka -> devices: which Kafka topics feed subscriptions, and how ([] when absent). */
  readonly delivery: readonly DeliveryRuleConfig[];
  readonly retained: RetainedConfig;
  /** Persistent sessions (with delivery rules). */
  readonly sessions: SessionsConfig;
  readonly auth: AuthConfig;
  readonly http: HttpConfig;
  readonly drain: DrainConfig;
  readonly reload: ReloadConfig;
  readonly limits: LimitsConfig;
  readonly log: LogConfig;
}

/** Values given on the command line or through MKP_* variables; they win over the file. */
export interface ConfigOverrides {
  readonly kafkaBrokers?: readonly string[];
  /** Replaces kafka.client. */
  readonly kafkaClient?: string;
  /** Replaces the port of the first listener. */
  readonly port?: number;
  /** Replaces `http.port` (the admin HTTP server; 0 turns it off). */
  readonly httpPort?: number;
  readonly logLevel?: LogLevel;
}
