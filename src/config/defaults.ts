/**
 * Every default the loader applies, in one place, exactly as documented in types.ts, so README and
 * `--help` can print them instead of repeating them.
 */
import os from 'node:os';
import { deepFreeze } from './freeze.js';
import { availableMemoryBytes, inflightDefaults, memorySharingProcesses } from './memory.js';
import type {
  AuthConfig,
  DrainConfig,
  ReloadConfig,
  HttpConfig,
  JwtConfig,
  KafkaConfig,
  ListenerConfig,
  ListenerProtocol,
  LimitsConfig,
  LogConfig,
  LoginLimitsConfig,
  TlsMinVersion,
  UnmappedConfig,
} from './types.js';

export interface ConfigDefaults {
  /**
   * Defaults of each listener's fields, and the single listener used when `listeners` is absent.
   * types.ts documents host and port; `protocol: tcp` is the loader's choice.
   */
  readonly listener: ListenerConfig;
  /** Port of a listener without `port`, by protocol. */
  readonly listenerPorts: Readonly<Record<ListenerProtocol, number>>;
  /** `path` of a ws / wss listener without one. */
  readonly webSocketPath: string;
  readonly tls: { readonly requestCert: boolean; readonly minVersion: TlsMinVersion; readonly ciphers: string; readonly watchIntervalMs: number };
  readonly proxyProtocol: { readonly headerTimeoutMs: number };
  readonly kafka: KafkaConfig;
  /** Key template of a mapping rule without a `key`. */
  readonly mappingKey: string;
  /** `unmapped` when absent: reject, as in the sample config (types.ts documents no default). */
  readonly unmapped: UnmappedConfig;
  readonly auth: AuthConfig;
  /** Defaults of `auth.jwt`'s optional fields. */
  readonly jwt: Pick<JwtConfig, 'usernameClaim' | 'clockToleranceSeconds' | 'requireExpiry'>;
  readonly http: HttpConfig;
  readonly drain: DrainConfig;
  readonly reload: ReloadConfig;
  readonly limits: LimitsConfig;
  readonly log: LogConfig;
}

/**
 * In-flight bounds follow the memory this process may use (read once, at start), divided among the
 * processes sharing it: each of `--workers N` holds its own bounds, so N of them would otherwise
 * hold N times what the memory allows.
 */
const inflight = inflightDefaults(availableMemoryBytes(), memorySharingProcesses());

/**
 * Mozilla's "intermediate" TLS 1.2 suites without the DHE ones: ECDHE key exchange with AEAD
 * ciphers only (no CBC, no SHA-1 MAC), then the TLS 1.3 suites (without `TLS_` entries Node
 * would turn TLS 1.3 off).
 */
export const DEFAULT_TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
].join(':');

/** One core stays for MQTT and Kafka; libuv's 4 threads keep one for file reads and DNS. */
function concurrentHashesDefault(cores: number, processes: number): number {
  return Math.min(3, Math.max(1, Math.floor((cores - 1) / processes)));
}

const logins: LoginLimitsConfig = {
  maxConcurrentHashes: concurrentHashesDefault(os.availableParallelism(), memorySharingProcesses()),
  maxQueuedHashes: 32,
  maxPendingPerAddress: 8,
  knownGoodReserve: 1,
  knownGoodSeconds: 86_400,
  maxKnownGood: 100_000,
};

export const DEFAULTS: ConfigDefaults = deepFreeze<ConfigDefaults>({
  listener: { protocol: 'tcp', host: '0.0.0.0', port: 1883 },
  listenerPorts: { tcp: 1883, tls: 8883, ws: 8083, wss: 8084 },
  webSocketPath: '/mqtt',
  tls: { requestCert: false, minVersion: 'TLSv1.2', ciphers: DEFAULT_TLS_CIPHERS, watchIntervalMs: 2000 },
  proxyProtocol: { headerTimeoutMs: 5000 },
  kafka: {
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
  },
  mappingKey: '${topic}',
  unmapped: { action: 'reject' },
  auth: {
    anonymous: false,
    certificate: 'ignore',
    deniedPublish311: 'disconnect',
    failureDelay: { initialMs: 250, maxMs: 10_000, forgetAfterSeconds: 600, maxAddresses: 10_000 },
    logins,
    watchIntervalMs: 1000,
  },
  jwt: { usernameClaim: 'sub', clockToleranceSeconds: 30, requireExpiry: true },
  http: { port: 9090, host: '0.0.0.0' },
  drain: { delayMs: 5000, timeoutMs: 30_000 },
  reload: { watch: false },
  limits: {
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
  },
  log: { level: 'info' },
});
