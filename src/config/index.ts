/** Configuration: load and validate once, then read-only. */
export type * from './types.js';
export { ConfigError, formatConfigProblem, type ConfigProblem } from './errors.js';
export { DEFAULTS, type ConfigDefaults } from './defaults.js';
export { brokerAddressProblem, IMPLEMENTED_LISTENER_PROTOCOLS, LISTENER_PROTOCOLS, loadConfig, LOG_LEVELS, parseConfig } from './load.js';
export { Secret } from './types.js';
