/** `listeners[].tls`: the certificate, key and client CA of a tls or wss listener. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { deepFreeze } from './freeze.js';
import {
  checkKeys,
  describeFileError,
  describeValue,
  isPlainObject,
  join,
  MAX_TIMER_MS,
  readBoolean,
  readInteger,
  readOneOf,
  readString,
  type Problems,
  type RawObject,
} from './readers.js';

/** Lowest TLS version a client may negotiate. */
export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

export interface ListenerTlsConfig {
  /** Absolute path of the PEM certificate chain (relative paths in the file are resolved against its directory). Required. */
  readonly cert: string;
  /** Absolute path of the PEM private key. Required. */
  readonly key: string;
  /** Absolute path of the PEM CA bundle client certificates must chain to. Required when `requestCert`. */
  readonly ca?: string;
  /** mTLS: require a client certificate signed by `ca`; clients without one are refused. Default false. */
  readonly requestCert: boolean;
  /** Default `TLSv1.2`. */
  readonly minVersion: TlsMinVersion;
  /**
   * How often the cert, key and CA files are checked for changes, in ms; a change reloads them for
   * new connections. 0 = never (reload on SIGHUP only). Default 2000.
   */
  readonly watchIntervalMs: number;
}

export const TLS_MIN_VERSIONS: readonly TlsMinVersion[] = ['TLSv1.2', 'TLSv1.3'];

export type ListenerTlsDefaults = Pick<ListenerTlsConfig, 'requestCert' | 'minVersion' | 'watchIntervalMs'>;

export const TLS_DEFAULTS: ListenerTlsDefaults = deepFreeze<ListenerTlsDefaults>({
  requestCert: false,
  minVersion: 'TLSv1.2',
  watchIntervalMs: 2000,
});

const LISTENER_TLS_KEYS = ['cert', 'key', 'ca', 'requestCert', 'minVersion', 'watchIntervalMs'] as const;

export function readListenerTls(value: unknown, path: string, baseDir: string, problems: Problems): ListenerTlsConfig | undefined {
  if (!isPlainObject(value)) {
    problems.report(path, `expected a mapping (keys: ${LISTENER_TLS_KEYS.join(', ')}), got ${describeValue(value)}`);
    return undefined;
  }
  checkKeys(value, LISTENER_TLS_KEYS, path, problems);
  const before = problems.list.length;
  for (const key of ['cert', 'key'] as const) {
    if (value[key] === undefined) problems.report(join(path, key), `is required (the server's PEM ${key === 'cert' ? 'certificate chain' : 'private key'} file)`);
  }
  const cert = readPemFile(value, 'cert', path, baseDir, problems, 'PEM certificate chain');
  const key = readPemFile(value, 'key', path, baseDir, problems, 'PEM private key');
  const ca = readPemFile(value, 'ca', path, baseDir, problems, 'PEM CA bundle for client certificates');
  const requestCert = readBoolean(value['requestCert'], join(path, 'requestCert'), problems, TLS_DEFAULTS.requestCert);
  if (requestCert && value['ca'] === undefined) {
    problems.report(join(path, 'ca'), 'is required with requestCert: true (the CA client certificates must be signed by)');
  }
  const minVersion = readOneOf(value['minVersion'], join(path, 'minVersion'), TLS_MIN_VERSIONS, problems, TLS_DEFAULTS.minVersion);
  const watchIntervalMs = readInteger(value['watchIntervalMs'], join(path, 'watchIntervalMs'), 0, MAX_TIMER_MS, problems, TLS_DEFAULTS.watchIntervalMs);
  if (problems.list.length > before || cert === undefined || key === undefined) return undefined;
  const problem = secureContextProblem(cert, key, ca, minVersion);
  if (problem !== undefined) {
    problems.report(path, problem);
    return undefined;
  }
  return { cert, key, ...(ca === undefined ? {} : { ca }), requestCert, minVersion, watchIntervalMs };
}

/**
 * Loads the files as the listener will, so a wrong file, a broken PEM or a key that does not belong
 * to the certificate is reported now, naming the listener, rather than when the first client connects.
 */
function secureContextProblem(cert: string, key: string, ca: string | undefined, minVersion: TlsMinVersion): string | undefined {
  try {
    createSecureContext({
      cert: readFileSync(cert),
      key: readFileSync(key),
      ...(ca === undefined ? {} : { ca: readFileSync(ca) }),
      minVersion,
    });
    return undefined;
  } catch (error) {
    return `cannot use ${cert} and ${key}${ca === undefined ? '' : ` with ${ca}`}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** A PEM file that must be readable now; its absolute path, or undefined after reporting. */
function readPemFile(object: RawObject, key: string, path: string, baseDir: string, problems: Problems, what: string): string | undefined {
  const written = object[key];
  if (written === undefined) return undefined;
  const file = readString(written, join(path, key), problems, '', `a file path (${what})`);
  if (file === '') return undefined;
  const absolute = resolve(baseDir, file);
  try {
    readFileSync(absolute);
  } catch (error) {
    problems.report(join(path, key), `cannot read ${absolute}: ${describeFileError(error)}`);
    return undefined;
  }
  return absolute;
}
