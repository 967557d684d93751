import type { BaseOptions, SASLOptions } from '@platformatic/kafka';
import type { ConnectionOptions as TlsOptions } from 'node:tls';

/**
 * How the reader and the compacted store reach Kafka: plain values, so they can be built from the
 * proxy's `kafka` config (brokers, clientId, timeouts, `tlsOptions(kafka.ssl)`, `saslOptions(kafka.sasl)`)
 * or from a test's bootstrap address alike.
 */
export interface KafkaConnectionOptions {
  readonly clientId: string;
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  readonly connectTimeoutMs?: number;
  /** The most a request may take before the client gives up on it (a fetch adds its wait to this). */
  readonly requestTimeoutMs?: number;
  readonly tls?: TlsOptions;
  /** Checked against the broker's certificate: true = the broker's host name. */
  readonly tlsServerName?: string | boolean;
  readonly sasl?: SASLOptions;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * The library's client options. Retries are the caller's: `retries` 0 hands every failure back at
 * once, so the reader decides how to back off and logs state changes rather than attempts.
 */
export function clientOptions(connection: KafkaConnectionOptions, retries = 0): BaseOptions {
  const requestTimeout = connection.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const options: BaseOptions = {
    clientId: connection.clientId,
    bootstrapBrokers: [...connection.brokers],
    connectTimeout: connection.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    requestTimeout,
    timeout: requestTimeout,
    retries,
    retryDelay: (_client, _operation, attempt) => Math.min(2000, 100 * 2 ** (attempt - 1)),
    autocreateTopics: false,
  };
  if (connection.tls !== undefined) options.tls = connection.tls;
  if (connection.tlsServerName !== undefined) options.tlsServerName = connection.tlsServerName;
  if (connection.sasl !== undefined) options.sasl = connection.sasl;
  return options;
}
