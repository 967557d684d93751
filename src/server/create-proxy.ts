/** createProxy: the parts composed from a config, run by the lifecycle, reloaded by the reloader. */
import type { FSWatcher } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { ProxyConfig } from '../config/types.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { composeProxy } from './compose.js';
import { watchConfigFile } from './config-watch.js';
import { createLifecycle, LifecycleState } from './lifecycle.js';
import { loadConfig } from './load-config.js';
import { createReloader } from './reload.js';
import type { Proxy, ProxyOptions } from './types.js';

/** Composes the parts from a validated config. Nothing is bound or connected until `start()`. */
export function createProxy(config: ProxyConfig, options: ProxyOptions = {}): Proxy {
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = options.metrics ?? createMetrics();
  const state = new LifecycleState();
  const composed = composeProxy(config, {
    logger,
    metrics,
    ownLogger: options.logger === undefined,
    adminPort: options.adminPort,
    phase: () => state.phase,
  });
  const { kafka, access, listeners } = composed;

  const loader = options.loadConfig ?? (isAbsolute(config.source) ? () => loadConfig(config.source) : undefined);
  const reloader = createReloader({ initial: config, steps: composed.reloadSteps, loader, logger, metrics });
  let watcher: FSWatcher | undefined;
  const lifecycle = createLifecycle({
    state,
    parts: composed.parts,
    logger,
    stoppingFields: () => ({ inFlight: kafka.sink.inFlight }),
    onStarted: () => {
      if (!config.reload.watch) return;
      if (loader === undefined || !isAbsolute(config.source)) {
        logger.warn('reload.watch: the configuration does not come from a file; not watching');
        return;
      }
      watcher = watchConfigFile(config.source, () => void reloader.reload(), logger);
    },
    onStopping: () => watcher?.close(),
  });

  return {
    logger,
    metrics,
    get accessControl() {
      return access.current;
    },
    reloadCertificates: () => listeners.reloadCertificates(),
    get config() {
      return reloader.running;
    },
    get adminAddress() {
      return composed.admin?.address;
    },
    get kafkaSent() {
      return kafka.sink.sent;
    },
    readiness: composed.readiness,
    onReload: (part) => reloader.register(part),
    reload: (next) => reloader.reload(next),
    kafka: {
      get ready() {
        return kafka.sink.ready;
      },
      get connected() {
        return kafka.sink.connected;
      },
      get missingTopics() {
        return kafka.sink.topics.missing;
      },
    },
    async start() {
      await lifecycle.start();
      return listeners.bound;
    },
    async stop({ delayMs = composed.admin === undefined ? 0 : reloader.running.drain.delayMs, drainTimeoutMs = reloader.running.drain.timeoutMs } = {}) {
      await lifecycle.stop(delayMs, drainTimeoutMs);
    },
  };
}
