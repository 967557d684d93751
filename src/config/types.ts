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
  /** TCP port. Default by protocol: tcp 1883, tls 8883, ws 8083, wss 8084. */
  readonly port: number;
  /** ws and wss: the URL path WebSocket upgrades are accepted on (others get 404). Default `/mqtt`. */
  readonly path?: string;
  /** tls and wss (required there, refused elsewhere): certificate, key and client CA files. */
  readonly tls?: ListenerTlsConfig;
  /** tcp and tls: expect a PROXY protocol v1/v2 header from these load balancers. Default: off. */
  readonly proxyProtocol?: ProxyProtocolConfig;
  /**
   * ws and wss: CIDR ranges of HTTP proxies whose X-Forwarded-For names the client. Default none
   * (the header is ignored).
   */
  readonly trustedProxies?: readonly string[];
}

/** Lowest TLS version a client may negotiate. */
export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

export interface ListenerTlsConfig {
  /** Absolute path of the PEM certificate chain (relative paths in the file are resolved against its directory). Required. */
  readonly cert: string;
  /** Absolute path of the PEM private key. Required. */
  readonly key: string;
  /** Absolute path of the PEM CA bundle client certificates must chain to. Required when `requestCert`. */
  readonly ca?: string;
  /** mTLS: require a client certificate signed by `ca`; clients without one are refused. Default false. */
  readonly requestCert: boolean;
  /** Default `TLSv1.2`. */
  readonly minVersion: TlsMinVersion;
  /**
   * OpenSSL cipher list, `:`-separated; TLS 1.3 suites are the `TLS_` entries. Default: ECDHE
   * with AEAD only (Mozilla "intermediate") and the three TLS 1.3 suites (see DEFAULT_TLS_CIPHERS).
   */
  readonly ciphers: string;
  /**
   * How often the cert, key and CA files are checked for changes, in ms; a change reloads them for
   * new connections. 0 = never (reload on SIGHUP only). Default 2000.
   */
  readonly watchIntervalMs: number;
}

export interface ProxyProtocolConfig {
  /**
   * CIDR ranges of the load balancers. A connection from one of them must start with a PROXY v1 or
   * v2 header; a connection from elsewhere that starts with one is closed. Required, not empty.
   */
  readonly trustedCidrs: readonly string[];
  /** Time a trusted peer has to send the complete header, in ms. Default 5000. */
  readonly headerTimeoutMs: number;
}

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

/** How a verified mTLS client certificate takes part in authentication. */
export type CertificateAuthMode = 'ignore' | 'optional' | 'required';

/** What a denied PUBLISH does to an MQTT 3.1.1 client (MQTT 5 always gets a 0x87 acknowledgement). */
export type DeniedPublish311 = 'disconnect' | 'drop';

export interface JwtConfig {
  /** HS256 secret (UTF-8). At most one of `secret` and `secretFile`. */
  readonly secret?: string;
  /** Absolute path of a file holding the HS256 secret (trailing newline ignored). */
  readonly secretFile?: string;
  /** Absolute path of a PEM file with RS256 (RSA) and/or ES256 (EC P-256) public keys or certificates. */
  readonly publicKeyFile?: string;
  /** When set, the token's `iss` must equal it. */
  readonly issuer?: string;
  /** When set, the token's `aud` must contain it. */
  readonly audience?: string;
  /** Claim holding the client's identity. Default `sub`. */
  readonly usernameClaim: string;
  /** Clock difference tolerated on `exp` and `nbf`, in seconds. Default 30. */
  readonly clockToleranceSeconds: number;
  /** Refuse tokens without `exp`. Default true. */
  readonly requireExpiry: boolean;
}

export interface FailureDelayConfig {
  /** Wait before checking the next attempt from an address after its first failure, in ms. Default 250. */
  readonly initialMs: number;
  /** The wait doubles with each further failure up to this, in ms. Default 10000. */
  readonly maxMs: number;
  /** An address is forgotten this long after its last failure, in seconds. Default 600. */
  readonly forgetAfterSeconds: number;
  /** Most addresses remembered; the least recently failing are forgotten first. Default 10000. */
  readonly maxAddresses: number;
}

/**
 * Bounds on the work logins can cause (docs/security-logins.md): password hashes at once, attempts
 * waiting, and the reserve that keeps known-good clients from being starved by guessing.
 */
export interface LoginLimitsConfig {
  /**
   * Password hashes (scrypt) computed at once. Default: the CPU cores less one, divided among
   * `--workers`, at least 1 and at most 3 (libuv runs hashes on a pool of 4 threads that file
   * reads and DNS lookups share).
   */
  readonly maxConcurrentHashes: number;
  /** Password logins waiting for a hash slot; more are refused at once as server busy. Default 32. */
  readonly maxQueuedHashes: number;
  /**
   * Login attempts of one address (password and token attempts each) waiting for their turn
   * (one is checked at a time); more are refused at once as server busy. Default 8.
   */
  readonly maxPendingPerAddress: number;
  /** Hash slots beyond maxConcurrentHashes that only known-good logins may use. Default 1. */
  readonly knownGoodReserve: number;
  /**
   * A successful password login makes its address and username known-good for this long, in
   * seconds; a failed one for the pair ends it. Default 86400.
   */
  readonly knownGoodSeconds: number;
  /** Most known-good pairs remembered; the least recently successful are forgotten first. Default 100000. */
  readonly maxKnownGood: number;
}

export interface AuthConfig {
  /** Accept clients that present no credentials. Default false. */
  readonly anonymous: boolean;
  /** Absolute path of the users file (password hashes and ACLs). Default none. */
  readonly usersFile?: string;
  /** JWT as the MQTT password. Default none. */
  readonly jwt?: JwtConfig;
  /** mTLS client certificate identity as the username. Default `ignore`. */
  readonly certificate: CertificateAuthMode;
  /** MQTT 3.1.1 client publishing where the ACL denies it. Default `disconnect`. */
  readonly deniedPublish311: DeniedPublish311;
  readonly failureDelay: FailureDelayConfig;
  readonly logins: LoginLimitsConfig;
  /**
   * How often the users file and the JWT key files are checked for changes, in ms; 0 = only on
   * reload (SIGHUP). Default 1000.
   */
  readonly watchIntervalMs: number;
}

export interface HttpConfig {
  /** Admin HTTP port (/metrics, /healthz, /readyz). Default 9090; 0 disables it. */
  readonly port: number;
  /** Interface the admin HTTP server binds. Default `0.0.0.0`. */
  readonly host: string;
}

export interface DrainConfig {
  /**
   * After SIGTERM, how long /readyz answers 503 while the proxy still serves everything, so the
   * load balancer takes the replica out before listeners close, in ms. Default 5000.
   */
  readonly delayMs: number;
  /**
   * Longest wait, after the listeners closed, for records on their way to Kafka and their
   * acknowledgements, in ms. Default 30000.
   */
  readonly timeoutMs: number;
}

export interface ReloadConfig {
  /** Reload the config file when it changes (besides SIGHUP). Default false. */
  readonly watch: boolean;
}

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
