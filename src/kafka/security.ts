import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { KafkaSslConfig } from '../config/types.js';
import { errorChain, type ErrorLike } from './errors.js';

/** The client's TLS options, with the PEM files read now (at connect time, not per request). */
export function tlsOptions(ssl: KafkaSslConfig | null): ConnectionOptions | undefined {
  if (ssl === null) return undefined;
  const options: ConnectionOptions = { rejectUnauthorized: ssl.rejectUnauthorized };
  if (ssl.ca !== null) options.ca = [readFileSync(ssl.ca, 'utf8')];
  if (ssl.cert !== null) options.cert = readFileSync(ssl.cert, 'utf8');
  if (ssl.key !== null) options.key = readFileSync(ssl.key, 'utf8');
  if (ssl.servername !== null) options.servername = ssl.servername;
  return options;
}

/** Why connecting failed, in words an operator can act on; `misconfigured` when kafka.ssl or kafka.sasl must change (or Kafka's side of them). */
export function describeConnectFailure(error: unknown): { readonly reason: string; readonly misconfigured: boolean } {
  const message = error instanceof Error ? error.message : String(error);
  // The client may wrap the cause (@platformatic/kafka: "metadata failed 6 times." around the
  // broker's answer): every error in the chain is looked at, and the one that explains is quoted.
  const chain = errorChain(error);
  const explain = (found: ErrorLike): string =>
    found === chain[0] || typeof found.message !== 'string' || found.message === message ? message : `${message}: ${found.message}`;
  const sasl = chain.find(
    (e) =>
      e.code === 'PLT_KFK_AUTHENTICATION' ||
      e.apiId === 'SASL_AUTHENTICATION_FAILED' ||
      (typeof e.message === 'string' && /SASL .*authentication failed|Authentication failed/i.test(e.message)),
  );
  if (sasl !== undefined) {
    return { reason: `Kafka refused the proxy's SASL credentials (check kafka.sasl): ${explain(sasl)}`, misconfigured: true };
  }
  const tls = chain.find((e) => typeof e.message === 'string' && /certificate|self[- ]signed|unable to verify|wrong version number|SSL|TLS/i.test(e.message));
  if (tls !== undefined) {
    return { reason: `TLS with Kafka failed (check kafka.ssl): ${explain(tls)}`, misconfigured: true };
  }
  // @platformatic/kafka's retry wrapper says only how often it tried; the last attempt's error says why.
  const wrapped = typeof chain[0]?.code === 'string' && chain[0].code.startsWith('PLT_KFK_');
  const inner = wrapped ? chain.findLast((e) => typeof e.message === 'string' && e.message !== message) : undefined;
  return { reason: inner === undefined ? message : explain(inner), misconfigured: false };
}
