import { createAccessControl, type AccessControl } from './auth/access-control.js';
import { warnIfAnonymousExposed } from './auth/exposure.js';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, isAbsolute } from 'node:path';
import { ConfigError } from './config/errors.js';
import { loadConfig } from './config/load.js';
import { configChanged, restartRequiredChanges } from './config/reload-diff.js';
import type { ProxyConfig } from './config/types.js';
import { compressionProblem } from './kafka/compression.js';
import { createKafkaSink, type RecordSink } from './kafka/producer.js';
import { createConnectionAdmission } from './listeners/connection-admission.js';
import { createListener, type CertificateReloadResult, type Listener } from './listeners/index.js';
import { staticTopics, type StaticTopic } from './kafka/topic-check.js';
import { compileRouter } from './mapping/router.js';
import { createMqttEngine, type MqttEngine } from './mqtt/engine.js';
import { ReasonCode } from './mqtt/reason-codes.js';
import { createAdminServer, type AdminServer, type Readiness } from './observability/admin-server.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createLimitReporter } from './observability/limit-reporter.js';
import { createMetrics, type ProxyMetrics } from './observability/metrics.js';
import { PublishPipeline } from './pipeline/pipeline.js';

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

/** How long a file watch waits for writes to settle before reloading. */
const WATCH_DEBOUNCE_MS = 300;

/** Composes the parts from a validated config. Nothing is bound or connected until `start()`. */
export function createProxy(config: ProxyConfig, options: ProxyOptions = {}): Proxy {
  let running = config;
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = options.metrics ?? createMetrics();
  // kafkajs takes its codecs from separate packages; @platformatic/kafka carries its own.
  const codec = config.kafka.client === 'kafkajs' ? compressionProblem(config.kafka.compression) : null;
  if (codec !== null) throw new ConfigError([{ file: config.source, path: 'kafka.compression', problem: codec }]);
  const authLogger = logger.child({ component: 'auth' });
  const buildAccessControl = (auth: ProxyConfig['auth']): AccessControl =>
    createAccessControl({ auth, source: config.source, logger: authLogger, metrics });
  let accessControl = buildAccessControl(config.auth);
  const sink: RecordSink = createKafkaSink(config.kafka, logger.child({ component: 'kafka' }), {
    staticTopics: staticTopics(config.mappings, config.unmapped),
    produceLatency: metrics.produceLatency,
  });
  const pipeline = new PublishPipeline({
    router: compileRouter(config),
    sink,
    logger,
    metrics,
    limits: config.limits,
    // The engine is made below; these run only once clients publish.
    reads: { pause: (session) => engine.pauseReading(session), resume: (session) => engine.resumeReading(session) },
    // Through the variable: a reload may replace the access control.
    authorize: (session, message) => accessControl.authorizePublish(session, message.topic),
  });
  const engine: MqttEngine = createMqttEngine({
    limits: config.limits,
    logger: logger.child({ component: 'mqtt' }),
    metrics,
    hooks: {
      authenticate: async (request) => {
        const result = await accessControl.authenticate(request);
        return result.accepted
          ? { accepted: true, username: result.username, ...(result.expiresAt !== undefined && { expiresAt: result.expiresAt }) }
          : { accepted: false, code: result.code, reason: result.reason };
      },
      onPublish: (session, message, reply) => pipeline.onPublish(session, message, reply),
      onConnect: (session) => {
        pipeline.attach(session);
        logger.debug({ clientId: session.clientId, remoteAddress: session.remoteAddress, listener: session.listener }, 'client connected');
      },
      onDisconnect: (session, reason) =>
        logger.debug({ clientId: session.clientId, remoteAddress: session.remoteAddress, listener: session.listener, reason }, 'client disconnected'),
      onClosed: (session) => pipeline.detach(session),
    },
  });
  const listenerLogger = logger.child({ component: 'listener' });
  const admission = createConnectionAdmission(config.limits, createLimitReporter(listenerLogger, metrics));
  const listeners: Listener[] = config.listeners.map((listener) =>
    createListener(listener, {
      logger: listenerLogger,
      metrics,
      maxPacketSize: config.limits.maxPacketSize,
      handshakeTimeoutMs: config.limits.connectTimeoutSeconds * 1000,
      onConnection: (stream, info) => engine.handle(stream, info),
      admission,
    }),
  );
  const adminPort = options.adminPort ?? config.http.port;
  const adminEnabled = options.adminPort !== undefined || config.http.port !== 0;

  let state: 'new' | 'starting' | 'started' | 'draining' | 'stopping' | 'stopped' = 'new';
  let listenersBound = false;
  let adminAddress: AdminAddress | undefined;
  let watcher: FSWatcher | undefined;

  const readiness = (): Readiness => {
    if (state === 'new' || state === 'starting') return { ready: false, reason: 'starting' };
    if (state !== 'started') return { ready: false, reason: 'draining: the proxy is shutting down' };
    if (!listenersBound) return { ready: false, reason: 'listeners not bound' };
    if (!sink.reachable) return { ready: false, reason: sink.connected ? 'Kafka unreachable' : 'not connected to Kafka yet' };
    if (!sink.ready) {
      const missing = sink.topics.missing.map((m) => m.topic).join(', ');
      return { ready: false, reason: missing === '' ? 'checking the target Kafka topics' : `target Kafka topics missing: ${missing}` };
    }
    return { ready: true };
  };
  metrics.observe(() => {
    const { messages, bytes } = pipeline.inflight;
    return { inflightMessages: messages, inflightBytes: bytes, ready: readiness().ready };
  });

  const admin: AdminServer | undefined = adminEnabled
    ? createAdminServer({
        host: config.http.host,
        port: adminPort,
        registry: metrics.registry,
        readiness,
        logger: logger.child({ component: 'admin' }),
      })
    : undefined;

  // Parts that take a new config; the mappings are the proxy's own.
  const reloadables: Reloadable[] = [
    {
      name: 'mappings',
      reload: (next) => pipeline.setRouter(compileRouter(next)),
    },
  ];
  const reloadCertificates = (): Array<{ readonly listener: string } & CertificateReloadResult> =>
    listeners.map((listener) => ({ listener: listener.name, ...listener.reloadCertificates() }));
  // Files named by the config (users, JWT keys, certificates) are read again on every reload, also
  // when the config itself is unchanged: that is what SIGHUP after a rotation asks for.
  const refreshFiles = (): string[] => {
    const problems: string[] = [];
    if (!accessControl.reload()) problems.push('auth: a users or key file was refused; the previous one stays');
    for (const result of reloadCertificates()) {
      if (result.outcome === 'failed') problems.push(`${result.listener}: certificate files refused; the previous ones stay`);
    }
    return problems;
  };
  reloadables.push({
    name: 'auth',
    reload: (next) => {
      if (JSON.stringify(next.auth) === JSON.stringify(running.auth)) return;
      // A new auth section (another users file, anonymous on or off, JWT keys): a new access
      // control; building it throws, and the old one stays, when its files cannot be used.
      const replacement = buildAccessControl(next.auth);
      accessControl.close();
      accessControl = replacement;
    },
  });
  // A logger the embedder passed in is theirs to configure.
  if (options.logger === undefined) {
    reloadables.push({
      name: 'log',
      reload: (next) => {
        logger.level = next.log.level;
      },
    });
  }

  const defaultLoader = isAbsolute(config.source) ? () => loadConfig(config.source) : undefined;
  const loader = options.loadConfig ?? defaultLoader;
  let reloading: Promise<ReloadResult> = Promise.resolve({ outcome: 'unchanged', restartRequired: [] });

  const refuse = (problem: string): ReloadResult => {
    metrics.reloads.inc({ outcome: 'refused' });
    logger.error({ problem }, `reload refused, the running configuration stays: ${problem}`);
    return { outcome: 'refused', restartRequired: [], problem };
  };

  const applyReload = async (next: ProxyConfig | (() => ProxyConfig) | undefined): Promise<ReloadResult> => {
    let candidate: ProxyConfig;
    try {
      if (next === undefined) {
        if (loader === undefined) return refuse('the configuration was not loaded from a file, so there is nothing to read again');
        candidate = loader();
      } else {
        candidate = typeof next === 'function' ? next() : next;
      }
    } catch (error) {
      if (error instanceof ConfigError) return refuse(error.message);
      return refuse(error instanceof Error ? error.message : String(error));
    }
    if (!configChanged(running, candidate)) {
      const fileProblems = refreshFiles();
      if (fileProblems.length > 0) {
        metrics.reloads.inc({ outcome: 'failed' });
        return { outcome: 'failed', restartRequired: [], problem: fileProblems.join('; ') };
      }
      metrics.reloads.inc({ outcome: 'unchanged' });
      logger.info('reload: configuration unchanged; users, keys and certificates read again');
      return { outcome: 'unchanged', restartRequired: [] };
    }
    const restartRequired = restartRequiredChanges(running, candidate);
    if (restartRequired.length > 0) {
      logger.warn({ sections: restartRequired }, `reload: changes to ${restartRequired.join(', ')} take effect only after a restart`);
    }
    const failures: string[] = [];
    for (const part of [...reloadables]) {
      try {
        await part.reload(candidate);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push(`${part.name}: ${message}`);
        logger.error({ part: part.name, err: message }, `reload of ${part.name} failed; it keeps its previous settings`);
      }
    }
    failures.push(...refreshFiles());
    // Sections needing a restart keep describing what actually runs.
    const effective: Record<string, unknown> = { ...candidate };
    for (const section of restartRequired) effective[section] = running[section];
    running = effective as unknown as ProxyConfig;
    if (failures.length > 0) {
      metrics.reloads.inc({ outcome: 'failed' });
      return { outcome: 'failed', restartRequired, problem: failures.join('; ') };
    }
    metrics.reloads.inc({ outcome: 'applied' });
    logger.info({ rules: candidate.mappings.length, restartRequired }, 'configuration reloaded');
    return { outcome: 'applied', restartRequired };
  };

  const startWatching = (): void => {
    if (!config.reload.watch) return;
    if (loader === undefined || !isAbsolute(config.source)) {
      logger.warn('reload.watch: the configuration does not come from a file; not watching');
      return;
    }
    // The directory, not the file: editors and Kubernetes ConfigMap updates replace the file
    // (ConfigMaps by swapping a `..data` symlink), which a watch on the old inode never sees.
    const file = basename(config.source);
    let timer: NodeJS.Timeout | undefined;
    try {
      watcher = watch(dirname(config.source), (_event, name) => {
        if (name !== null && name !== file && name !== '..data') return;
        clearTimeout(timer);
        timer = setTimeout(() => void proxy.reload(), WATCH_DEBOUNCE_MS);
      });
      watcher.unref();
      logger.info({ file: config.source }, 'watching the configuration file for changes');
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'reload.watch: cannot watch the configuration file');
    }
  };

  const proxy: Proxy = {
    logger,
    metrics,
    get accessControl() {
      return accessControl;
    },
    reloadCertificates,
    get config() {
      return running;
    },
    get adminAddress() {
      return adminAddress;
    },
    get kafkaSent() {
      return sink.sent;
    },
    readiness,
    onReload(part) {
      reloadables.push(part);
      return () => {
        const index = reloadables.indexOf(part);
        if (index !== -1) reloadables.splice(index, 1);
      };
    },
    reload(next) {
      // One reload at a time, in the order asked for.
      reloading = reloading.then(() => applyReload(next));
      return reloading;
    },
    kafka: {
      get ready() {
        return sink.ready;
      },
      get connected() {
        return sink.connected;
      },
      get missingTopics() {
        return sink.topics.missing;
      },
    },
    async start() {
      if (state !== 'new') throw new Error(`proxy cannot start: it is ${state}`);
      state = 'starting';
      const bound: BoundListener[] = [];
      try {
        // The admin server first: /healthz answers and /readyz says "starting" while the rest comes up.
        if (admin !== undefined) {
          const address = await admin.listen();
          adminAddress = { host: address.address, port: address.port };
          logger.info({ host: address.address, port: address.port }, 'admin HTTP server listening (/metrics, /healthz, /readyz)');
        }
        await Promise.all([sink.start(), engine.start()]);
        // Said once, so an operator sees what the memory-derived defaults came to in this process.
        const { maxInflightMessages, maxInflightBytes, maxInflightPerConnection, maxInflightBytesPerConnection } = config.limits;
        logger.info({ maxInflightMessages, maxInflightBytes, maxInflightPerConnection, maxInflightBytesPerConnection }, 'in-flight bounds');
        warnIfAnonymousExposed(config, logger);
        for (const [index, listener] of listeners.entries()) {
          const address = await listener.listen();
          const { protocol, path } = config.listeners[index]!;
          bound.push({ name: listener.name, protocol, host: address.address, port: address.port });
          logger.info({ listener: listener.name, host: address.address, port: address.port, ...(path === undefined ? {} : { path }) }, 'listening');
        }
      } catch (error) {
        await Promise.all(listeners.map((l) => l.close()));
        accessControl.close();
        await sink.stop();
        await admin?.close();
        state = 'stopped';
        throw error;
      }
      listenersBound = true;
      // stop() may have begun while the listeners were binding; it owns the state then.
      if (state === 'starting') {
        state = 'started';
        startWatching();
      }
      return bound;
    },
    async stop({ delayMs = admin === undefined ? 0 : running.drain.delayMs, drainTimeoutMs = running.drain.timeoutMs } = {}) {
      if (state === 'draining' || state === 'stopping' || state === 'stopped') return;
      state = 'draining';
      watcher?.close();
      if (delayMs > 0) {
        logger.info({ delayMs }, 'draining: reporting not ready, still serving until load balancers take this replica out');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
      state = 'stopping';
      logger.info({ inFlight: sink.inFlight }, 'stopping: no new connections or publishes');
      await Promise.all(listeners.map((l) => l.close()));
      listenersBound = false;
      pipeline.beginDrain();
      await sink.drain(drainTimeoutMs);
      const unanswered = sink.inFlight;
      if (unanswered > 0) {
        // Not a loss: none of these was acknowledged, so their clients send them again elsewhere.
        logger.warn({ unanswered, timeoutMs: drainTimeoutMs }, 'drain timed out: records still unanswered by Kafka are not acknowledged; their clients will retransmit');
      }
      // Acks of the drained records were written above; now say goodbye.
      await engine.disconnectAll(ReasonCode.ServerShuttingDown);
      await engine.close();
      accessControl.close();
      await sink.stop();
      await admin?.close();
      state = 'stopped';
      logger.info('stopped');
    },
  };
  return proxy;
}
