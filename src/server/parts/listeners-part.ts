/** Every configured listener, bound last and closed first; certificates re-read on each reload. */
import { warnIfAnonymousExposed } from '../../auth/exposure.js';
import { HTTP_INGEST_PROTOCOLS } from '../../config/index.js';
import type { ListenerConfig, ProxyConfig } from '../../config/types.js';
import { createConnectionAdmission } from '../../listeners/connection-admission.js';
import { createListener, type CertificateReloadResult, type ConnectionHandler, type Listener } from '../../listeners/index.js';
import { createLimitReporter } from '../../observability/limit-reporter.js';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { Part, ReloadProblems } from '../part.js';
import type { BoundListener } from '../types.js';

export interface ListenersPart extends Part {
  /** The addresses bound by start(), in the order of `listeners`. */
  readonly bound: readonly BoundListener[];
  reloadCertificates(): Array<{ readonly listener: string } & CertificateReloadResult>;
  /** Reads the certificate files again: what SIGHUP after a renewal asks for. */
  reload(): ReloadProblems;
}

/**
 * `onConnection` serves MQTT connections; `httpConnection` the connections of one http / https
 * ingest listener (undefined when there is none).
 */
export function createListenersPart(
  config: ProxyConfig,
  logger: Logger,
  metrics: ProxyMetrics,
  onConnection: ConnectionHandler,
  httpConnection: (listener: ListenerConfig) => ConnectionHandler | undefined = () => undefined,
): ListenersPart {
  const listenerLogger = logger.child({ component: 'listener' });
  const admission = createConnectionAdmission(config.limits, createLimitReporter(listenerLogger, metrics));
  const listeners: Listener[] = config.listeners.map((listener) =>
    createListener(listener, {
      logger: listenerLogger,
      metrics,
      maxPacketSize: config.limits.maxPacketSize,
      handshakeTimeoutMs: config.limits.connectTimeoutSeconds * 1000,
      onConnection: handlerFor(listener, onConnection, httpConnection),
      admission,
    }),
  );
  const bound: BoundListener[] = [];
  let listening = false;
  const reloadCertificates = (): Array<{ readonly listener: string } & CertificateReloadResult> =>
    listeners.map((listener) => ({ listener: listener.name, ...listener.reloadCertificates() }));

  return {
    name: 'listeners',
    bound,
    reloadCertificates,
    async start() {
      warnIfAnonymousExposed(config, logger);
      for (const [index, listener] of listeners.entries()) {
        const address = await listener.listen();
        const { protocol, path } = config.listeners[index]!;
        bound.push({ name: listener.name, protocol, host: address.address, port: address.port });
        logger.info({ listener: listener.name, host: address.address, port: address.port, ...(path === undefined ? {} : { path }) }, 'listening');
      }
      listening = true;
    },
    async stop() {
      await Promise.all(listeners.map((listener) => listener.close()));
      listening = false;
    },
    ready: () => (listening ? { ready: true } : { ready: false, reason: 'listeners not bound' }),
    reload() {
      return reloadCertificates()
        .filter((result) => result.outcome === 'failed')
        .map((result) => `${result.listener}: certificate files refused; the previous ones stay`);
    },
  };
}

/** An http / https listener serves HTTP ingest requests only, never MQTT. */
function handlerFor(
  listener: ListenerConfig,
  mqtt: ConnectionHandler,
  http: (listener: ListenerConfig) => ConnectionHandler | undefined,
): ConnectionHandler {
  const handler = http(listener);
  if (handler !== undefined) return handler;
  if (HTTP_INGEST_PROTOCOLS.includes(listener.protocol)) throw new Error(`listener ${listener.protocol}:${listener.port}: no HTTP ingest server for it`);
  return mqtt;
}
