/**
 * Every default the loader applies, in one place, exactly as documented in the section types, so
 * README and `--help` can print them instead of repeating them. Each section module owns its own.
 */
import { AUTH_DEFAULTS, JWT_DEFAULTS, type JwtDefaults } from './auth.js';
import { DELIVERY_QOS_DEFAULT, RETAINED_DEFAULTS } from './delivery.js';
import { DRAIN_DEFAULTS } from './drain.js';
import { deepFreeze } from './freeze.js';
import { HTTP_DEFAULTS } from './http.js';
import { KAFKA_DEFAULTS } from './kafka.js';
import { LIMITS_DEFAULTS } from './limits.js';
import { TLS_DEFAULTS, type ListenerTlsDefaults } from './listener-tls.js';
import { LISTENER_DEFAULTS } from './listeners.js';
import { LOG_DEFAULTS } from './log.js';
import { MAPPING_KEY_DEFAULT, UNMAPPED_DEFAULT } from './mappings.js';
import { RELOAD_DEFAULTS } from './reload.js';
import { SESSIONS_DEFAULTS } from './sessions.js';
import type {
  AuthConfig,
  DrainConfig,
  HttpConfig,
  KafkaConfig,
  LimitsConfig,
  ListenerConfig,
  ListenerProtocol,
  LogConfig,
  ReloadConfig,
  RetainedConfig,
  SessionsConfig,
  UnmappedConfig,
} from './types.js';

export interface ConfigDefaults {
  /**
   * Defaults of each listener's fields, and the single listener used when `listeners` is absent.
   * ListenerConfig documents host and port; `protocol: tcp` is the loader's choice.
   */
  readonly listener: ListenerConfig;
  /** Port of a listener without `port`, by protocol. */
  readonly listenerPorts: Readonly<Record<ListenerProtocol, number>>;
  /** `path` of a ws / wss listener without one. */
  readonly webSocketPath: string;
  readonly tls: ListenerTlsDefaults;
  readonly proxyProtocol: { readonly headerTimeoutMs: number };
  readonly kafka: KafkaConfig;
  /** Key template of a mapping rule without a `key`. */
  readonly mappingKey: string;
  /** `unmapped` when absent: reject, as in the sample config (UnmappedConfig has no default of its own). */
  readonly unmapped: UnmappedConfig;
  /** QoS ceiling of a delivery rule without `qos`. */
  readonly deliveryQos: 0 | 1 | 2;
  readonly retained: RetainedConfig;
  readonly sessions: SessionsConfig;
  readonly auth: AuthConfig;
  /** Defaults of `auth.jwt`'s optional fields. */
  readonly jwt: JwtDefaults;
  readonly http: HttpConfig;
  readonly drain: DrainConfig;
  readonly reload: ReloadConfig;
  readonly limits: LimitsConfig;
  readonly log: LogConfig;
}

export const DEFAULTS: ConfigDefaults = deepFreeze<ConfigDefaults>({
  listener: LISTENER_DEFAULTS.listener,
  listenerPorts: LISTENER_DEFAULTS.listenerPorts,
  webSocketPath: LISTENER_DEFAULTS.webSocketPath,
  tls: TLS_DEFAULTS,
  proxyProtocol: LISTENER_DEFAULTS.proxyProtocol,
  kafka: KAFKA_DEFAULTS,
  mappingKey: MAPPING_KEY_DEFAULT,
  unmapped: UNMAPPED_DEFAULT,
  deliveryQos: DELIVERY_QOS_DEFAULT,
  retained: RETAINED_DEFAULTS,
  sessions: SESSIONS_DEFAULTS,
  auth: AUTH_DEFAULTS,
  jwt: JWT_DEFAULTS,
  http: HTTP_DEFAULTS,
  drain: DRAIN_DEFAULTS,
  reload: RELOAD_DEFAULTS,
  limits: LIMITS_DEFAULTS,
  log: LOG_DEFAULTS,
});
