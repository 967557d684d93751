import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { KafkaSaslConfig, KafkaSslConfig } from '../config/types.js';

/** kafkajs `ssl` option: TLS settings with the PEM files read now (at connect time, not per request). */
export function tlsOptions(ssl: KafkaSslConfig | null): ConnectionOptions | undefined {
  if (ssl === null) return undefined;
  const options: ConnectionOptions = { rejectUnauthorized: ssl.rejectUnauthorized };
  if (ssl.ca !== null) options.ca = [readFileSync(ssl.ca, 'utf8')];
  if (ssl.cert !== null) options.cert = readFileSync(ssl.cert, 'utf8');
  if (ssl.key !== null) options.key = readFileSync(ssl.key, 'utf8');
  if (ssl.servername !== null) options.servername = ssl.servername;
  return options;
}

/** kafkajs `sasl` option; the only place the password is revealed. */
export function saslOptions(sasl: KafkaSaslConfig | null): SASLOptions | undefined {
  if (sasl === null) return undefined;
  const credentials = { username: sasl.username, password: sasl.password.reveal() };
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', ...credentials };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', ...credentials };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', ...credentials };
  }
}

/** Why connecting failed, in words an operator can act on; `misconfigured` when kafka.ssl or kafka.sasl must change (or Kafka's side of them). */
export function describeConnectFailure(error: unknown): { readonly reason: string; readonly misconfigured: boolean } {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'KafkaJSSASLAuthenticationError' || /SASL .*authentication failed|Authentication failed/i.test(message)) {
    return { reason: `Kafka refused the proxy's SASL credentials (check kafka.sasl): ${message}`, misconfigured: true };
  }
  if (/certificate|self[- ]signed|unable to verify|wrong version number|SSL|TLS/i.test(message)) {
    return { reason: `TLS with Kafka failed (check kafka.ssl): ${message}`, misconfigured: true };
  }
  return { reason: message, misconfigured: false };
}
