export { createProxy, type Proxy, type ProxyOptions, type BoundListener } from './server.js';
export { loadConfig, parseConfig } from './config/load.js';
export { ConfigError } from './config/errors.js';
export type * from './config/types.js';
export type { CertificateReloadResult } from './listeners/index.js';
