/**
 * mqtt-kafka-proxy as a library, for embedding in a Node service:
 *
 *   import { createProxy, loadConfig } from 'mqtt-kafka-proxy';
 *   const proxy = createProxy(loadConfig('topic-mappings.yaml'));
 *   await proxy.start();
 *   // ... on shutdown:
 *   await proxy.stop();
 */
export {
  createProxy,
  type AdminAddress,
  type BoundListener,
  type Proxy,
  type ProxyOptions,
  type Readiness,
  type Reloadable,
  type ReloadResult,
  type StopOptions,
} from './server.js';
export { loadConfig, parseConfig } from './server/load-config.js';
export { LOG_LEVELS } from './config/log.js';
export { DEFAULTS, type ConfigDefaults } from './config/defaults.js';
export { ConfigError, formatConfigProblem, type ConfigProblem } from './config/errors.js';
export type * from './config/types.js';
export { createMetrics, METRIC_PREFIX, type ProxyMetrics, type ScrapedState } from './observability/metrics.js';
export { createLogger, type Logger, type LoggerOptions } from './observability/logger.js';
export type { CertificateReloadResult } from './listeners/index.js';
