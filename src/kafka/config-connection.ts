// The reader's connection options from the proxy's `kafka` section.
import type { KafkaConfig } from '../config/types.js';
import type { KafkaConnectionOptions } from './connection-options.js';
import { saslOptions } from './platformatic-client.js';
import { tlsOptions } from './security.js';

/** Connection options for a reader or consumer of the proxy, its client id `kafka.clientId` + `suffix`. */
export function connectionFromConfig(kafka: KafkaConfig, suffix: string): KafkaConnectionOptions {
  const tls = tlsOptions(kafka.ssl);
  const sasl = saslOptions(kafka.sasl);
  return {
    clientId: `${kafka.clientId}${suffix}`,
    brokers: kafka.brokers,
    connectTimeoutMs: kafka.connectionTimeoutMs,
    requestTimeoutMs: kafka.requestTimeoutMs,
    ...(tls !== undefined && { tls, tlsServerName: kafka.ssl?.servername ?? true }),
    ...(sasl !== undefined && { sasl }),
  };
}
