/** What `createProxy` returns and takes: the library's public surface. */
import type { AccessControl } from '../auth/access-control.js';
import type { ProxyConfig } from '../config/types.js';
import type { StaticTopic } from '../kafka/topic-check.js';
import type { CertificateReloadResult } from '../listeners/index.js';
import type { Readiness } from '../observability/admin-server.js';
import type { Logger } from '../observability/logger.js';
import type { ProxyMetrics } from '../observability/metrics.js';

export type { Readiness };

export interface BoundListener {
  readonly name: string;
  readonly protocol: string;
  readonly host: string;
  readonly port: number;
}

/** Where the admin HTTP server (/metrics, /healthz, /readyz) listens. */
export interface AdminAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * What a reload did. `applied`: the new config is in effect (apart from `restartRequired`).
 * `unchanged`: the file says what is running already. `refused`: the new config is invalid
 * (`problem` says why) and the running one stays. `failed`: a reloadable part threw; the others,
 * and the mappings, took the new config.
 */
export interface ReloadResult {
  readonly outcome: 'applied' | 'unchanged' | 'refused' | 'failed';
  /** Config sections that changed but only take effect after a restart (e.g. `listeners`, `kafka`). */
  readonly restartRequired: readonly string[];
  /** The ConfigError text, or the failing part's error, when not applied. */
  readonly problem?: string;
}

/**
 * A part of the proxy that takes a new config without a restart (users, ACLs, certificates...).
 * `reload` gets an already validated config; it should throw only for what validation cannot see
 * (an unreadable certificate file), and then keep what it had.
 */
export interface Reloadable {
  readonly name: string;
  reload(config: ProxyConfig): void | Promise<void>;
}

export interface StopOptions {
  /**
   * How long readiness reports 503 before the listeners close, so load balancers take the replica
   * out first. Default `drain.delayMs` when the admin HTTP server runs, else 0 (nobody could see it).
   */
  readonly delayMs?: number;
  /** Longest wait for records on their way to Kafka and their acknowledgements. Default `drain.timeoutMs`. */
  readonly drainTimeoutMs?: number;
}

export interface Proxy {
  /** Connects to Kafka (in the background if it is not reachable yet), binds every listener and the admin server. */
  start(): Promise<readonly BoundListener[]>;
  /**
   * Graceful drain: readiness turns false; after `delayMs` the listeners stop accepting and new
   * publishes are refused; records already on their way to Kafka finish and their
   * acknowledgements go out (at most `drainTimeoutMs`); then MQTT 5 clients get DISCONNECT 0x8B
   * (server shutting down), 3.1.1 clients are closed.
   */
  stop(options?: StopOptions): Promise<void>;
  /**
   * Applies a new config without dropping connections: mappings are swapped at once (publishes
   * already routed keep their route), auth and log level follow, registered parts reload. Without
   * an argument the config is read again the way `ProxyOptions.loadConfig` says. Never throws: an
   * invalid config is refused, logged and counted, and the running one stays.
   */
  reload(next?: ProxyConfig | (() => ProxyConfig)): Promise<ReloadResult>;
  /** Registers a part to be given every config a reload applies. Returns a function that unregisters it. */
  onReload(part: Reloadable): () => void;
  /** Whether the proxy should get traffic now (what /readyz answers). */
  readiness(): Readiness;
  /** The config in effect (changes on reload). */
  readonly config: ProxyConfig;
  /** The admin HTTP server's address once started; undefined when it is disabled (`http.port: 0`). */
  readonly adminAddress: AdminAddress | undefined;
  readonly logger: Logger;
  /** This proxy's Prometheus registry and metrics. */
  readonly metrics: ProxyMetrics;
  /** Produce requests sent to Kafka and the records they carried. */
  readonly kafkaSent: { readonly requests: number; readonly records: number };
  /**
   * Reads every tls / wss listener's certificate files again (each `reload()` does it too, which is
   * what SIGHUP asks for). New connections use the new
   * certificates; open ones are untouched; unusable files keep the old ones (and are logged).
   */
  reloadCertificates(): ReadonlyArray<{ readonly listener: string } & CertificateReloadResult>;
  /**
   * Users, passwords and ACLs: `reload()` re-reads the users file (it is also watched for changes).
   * Replaced by a new one when a reload changes the `auth` section.
   */
  readonly accessControl: AccessControl;
  /**
   * Kafka's part of readiness: connected, and with `kafka.requireTopics` every static target topic
   * exists. `kafka.missingTopics` lists the static target topics missing at the last check.
   */
  readonly kafka: { readonly ready: boolean; readonly connected: boolean; readonly missingTopics: readonly StaticTopic[] };
}

export interface ProxyOptions {
  readonly logger?: Logger;
  /** Defaults to a new registry with Node's process metrics. */
  readonly metrics?: ProxyMetrics;
  /**
   * How `reload()` without an argument, SIGHUP and `reload.watch` get the new config. Default:
   * `loadConfig(config.source)` when the config came from a file.
   */
  readonly loadConfig?: () => ProxyConfig;
  /**
   * Binds the admin HTTP server on this port instead of `http.port`; here 0 means any free port
   * (read it from `adminAddress`), which is what tests want.
   */
  readonly adminPort?: number;
}
