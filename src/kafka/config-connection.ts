import type { KafkaConfig } from '../config/types.js';
import type { KafkaConnectionOptions } from './connection-options.js';
import { saslOptions } from './platformatic-client.js';
import { tlsOptions } from './security.js';

/**
 * How a reader or a compacted store reaches the cluster the proxy's `kafka` section names: the same
 * brokers, TLS and SASL as the producer, its client id with `suffix` (so the broker's logs and
 * quotas tell the parts apart).
 */
export function connectionFromConfig(config: KafkaConfig, suffix: string): KafkaConnectionOptions {
  const tls = tlsOptions(config.ssl);
  const sasl = saslOptions(config.sasl);
  return {
    clientId: `${config.clientId}-${suffix}`,
    brokers: config.brokers,
    connectTimeoutMs: config.connectionTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    ...(tls !== undefined && { tls, tlsServerName: config.ssl?.servername ?? true }),
    ...(sasl !== undefined && { sasl }),
  };
}
