/** The running proxy: its parts composed from a config, started, reloaded, drained and stopped. */
export { createProxy } from './create-proxy.js';
export { loadConfig, parseConfig, routerFor } from './load-config.js';
export type {
  AdminAddress,
  BoundListener,
  Proxy,
  ProxyOptions,
  Readiness,
  Reloadable,
  ReloadResult,
  StopOptions,
} from './types.js';
