/**
 * Every default the loader applies, in one place, exactly as documented in types.ts, so README and
 * `--help` can print them instead of repeating them.
 */
import { deepFreeze } from './freeze.js';
import type { AuthConfig, HttpConfig, KafkaConfig, ListenerConfig, LimitsConfig, LogConfig, UnmappedConfig } from './types.js';

export interface ConfigDefaults {
  /**
   * Defaults of each listener's fields, and the single listener used when `listeners` is absent.
   * types.ts documents host and port; `protocol: tcp` is the loader's choice (the only one implemented).
   */
  readonly listener: ListenerConfig;
  readonly kafka: KafkaConfig;
  /** Key template of a mapping rule without a `key`. */
  readonly mappingKey: string;
  /** `unmapped` when absent: reject, as in the sample config (types.ts documents no default). */
  readonly unmapped: UnmappedConfig;
  readonly auth: AuthConfig;
  readonly http: HttpConfig;
  readonly limits: LimitsConfig;
  readonly log: LogConfig;
}

export const DEFAULTS: ConfigDefaults = deepFreeze<ConfigDefaults>({
  listener: { protocol: 'tcp', host: '0.0.0.0', port: 1883 },
  kafka: {
    brokers: ['127.0.0.1:9092'],
    clientId: 'mqtt-kafka-proxy',
    acks: { qos0: 1, qos1: 'all', qos2: 'all' },
    lingerMs: 5,
    batchMaxRecords: 1000,
    batchMaxBytes: 1_048_576,
    requestTimeoutMs: 30_000,
    connectionTimeoutMs: 3000,
    compression: 'none',
  },
  mappingKey: '${topic}',
  unmapped: { action: 'reject' },
  auth: { anonymous: false },
  http: { port: 9090 },
  limits: { maxPacketSize: 1_048_576, maxInflightMessages: 100_000, connectTimeoutSeconds: 10 },
  log: { level: 'info' },
});
