/** Configuration: read and validate once, then read-only. */
export type * from './types.js';
export { ConfigError, formatConfigProblem, type ConfigProblem } from './errors.js';
export { DEFAULTS, type ConfigDefaults } from './defaults.js';
export { readConfigFile, readConfigText, type ReadConfigOptions } from './read.js';
export type { RuleSet, RuleSetCheck } from './mappings.js';
export { brokerAddressProblem, KAFKA_CLIENTS, retiredKafkaClient } from './kafka.js';
export { HTTP_INGEST_PROTOCOLS, IMPLEMENTED_LISTENER_PROTOCOLS, LISTENER_PROTOCOLS } from './listeners.js';
export { LOG_LEVELS } from './log.js';
export { Secret } from './secret.js';
