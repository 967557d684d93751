/** `kafka.ssl` and `kafka.sasl`: TLS to the brokers and SASL authentication. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  checkKeys,
  describeFileError,
  describeValue,
  isPlainObject,
  readBoolean,
  readOneOf,
  readRequiredString,
  readSection,
  readString,
  type Problems,
  type RawObject,
} from './readers.js';
import { Secret } from './secret.js';

export interface KafkaSslConfig {
  /** PEM file with the CA certificate(s) that sign the brokers' certificates. Default: Node's built-in CAs. */
  readonly ca: string | null;
  /** PEM client certificate file, for brokers that require client certificates. Default: none. */
  readonly cert: string | null;
  /** PEM private key file of `cert`. Default: none; required with `cert`. */
  readonly key: string | null;
  /** Verify the brokers' certificates. Default true. */
  readonly rejectUnauthorized: boolean;
  /** Name checked against the brokers' certificates (SNI). Default: the broker host. */
  readonly servername: string | null;
}

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaSaslConfig {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  /** Read from `password`, `passwordFile` or `passwordEnv` when the config is loaded; prints as `[redacted]`. */
  readonly password: Secret;
}

export const SASL_MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

const KAFKA_SSL_KEYS = ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const;
const KAFKA_SASL_KEYS = ['mechanism', 'username', 'password', 'passwordFile', 'passwordEnv'] as const;

/** `true`: TLS with the system's CAs; `false` or absent: plaintext; a mapping: TLS with these settings. */
export function readKafkaSsl(value: unknown, baseDir: string, problems: Problems): KafkaSslConfig | null {
  const path = 'kafka.ssl';
  if (value === undefined || value === null || value === false) return null;
  const section = value === true ? {} : readSection(value, path, KAFKA_SSL_KEYS, problems);
  if (value !== true && !isPlainObject(value)) return null;
  const ca = readKafkaPemFile(section['ca'], `${path}.ca`, baseDir, 'CERTIFICATE', problems);
  const cert = readKafkaPemFile(section['cert'], `${path}.cert`, baseDir, 'CERTIFICATE', problems);
  const key = readKafkaPemFile(section['key'], `${path}.key`, baseDir, 'PRIVATE KEY', problems);
  if (section['cert'] !== undefined && section['key'] === undefined) {
    problems.report(`${path}.key`, 'is required with kafka.ssl.cert (the private key of the client certificate)');
  }
  if (section['key'] !== undefined && section['cert'] === undefined) {
    problems.report(`${path}.cert`, 'is required with kafka.ssl.key (the client certificate of that key)');
  }
  let servername: string | null = null;
  if (section['servername'] !== undefined) servername = readString(section['servername'], `${path}.servername`, problems, '', 'a host name');
  return {
    ca,
    cert,
    key,
    rejectUnauthorized: readBoolean(section['rejectUnauthorized'], `${path}.rejectUnauthorized`, problems, true),
    servername: servername === '' ? null : servername,
  };
}

/**
 * The absolute path of a readable PEM file holding a `-----BEGIN ...${label}-----` block; the
 * content is read again when connecting, so a renewed certificate is picked up on restart.
 */
function readKafkaPemFile(value: unknown, path: string, baseDir: string, label: string, problems: Problems): string | null {
  if (value === undefined) return null;
  const file = readString(value, path, problems, '', 'the path of a PEM file');
  if (file === '') return null;
  const absolute = resolve(baseDir, file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    problems.report(path, `cannot read ${absolute}: ${describeFileError(error)}`);
    return null;
  }
  if (!new RegExp(`-----BEGIN [A-Z0-9 ]*${label}-----`).test(text)) {
    problems.report(path, `${absolute} is not a PEM file with a ${label} block (expected a line "-----BEGIN ...${label}-----")`);
    return null;
  }
  return absolute;
}

export function readKafkaSasl(value: unknown, baseDir: string, problems: Problems): KafkaSaslConfig | null {
  const path = 'kafka.sasl';
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) {
    problems.report(path, `expected a mapping (keys: ${KAFKA_SASL_KEYS.join(', ')}), got ${describeValue(value)}`);
    return null;
  }
  checkKeys(value, KAFKA_SASL_KEYS, path, problems);
  let mechanism: SaslMechanism = 'plain';
  if (value['mechanism'] === undefined) problems.report(`${path}.mechanism`, `is required (one of ${SASL_MECHANISMS.join(', ')})`);
  else {
    // Kafka's own spelling is upper case (SCRAM-SHA-512): accept either.
    const given = typeof value['mechanism'] === 'string' ? value['mechanism'].toLowerCase() : value['mechanism'];
    mechanism = readOneOf(given, `${path}.mechanism`, SASL_MECHANISMS, problems, mechanism);
  }
  const username = readRequiredString(value, 'username', path, problems, 'the SASL user name') ?? '';
  const password = readSaslPassword(value, path, baseDir, problems);
  return { mechanism, username, password: new Secret(password) };
}

/** Exactly one of password, passwordFile, passwordEnv. Problems never quote the password itself. */
function readSaslPassword(section: RawObject, path: string, baseDir: string, problems: Problems): string {
  const given = (['password', 'passwordFile', 'passwordEnv'] as const).filter((key) => section[key] !== undefined);
  if (given.length === 0) {
    problems.report(`${path}.password`, 'is required: give password, passwordFile (a file holding it) or passwordEnv (an environment variable holding it)');
    return '';
  }
  if (given.length > 1) {
    problems.report(path, `give only one of ${given.join(', ')}`);
    return '';
  }
  const [how] = given;
  if (how === 'password') {
    if (typeof section['password'] === 'string' && section['password'] !== '') return section['password'];
    problems.report(`${path}.password`, 'expected a non-empty string');
    return '';
  }
  if (how === 'passwordFile') return readPasswordFile(section['passwordFile'], `${path}.passwordFile`, baseDir, problems);
  return readPasswordEnv(section['passwordEnv'], `${path}.passwordEnv`, problems);
}

function readPasswordFile(value: unknown, path: string, baseDir: string, problems: Problems): string {
  const file = readString(value, path, problems, '', 'the path of a file holding the password');
  if (file === '') return '';
  const absolute = resolve(baseDir, file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    problems.report(path, `cannot read ${absolute}: ${describeFileError(error)}`);
    return '';
  }
  // Files written by `echo` or a secret mount end with a newline that is not part of the password.
  const password = text.replace(/\r?\n$/, '');
  if (password === '') problems.report(path, `${absolute} is empty`);
  return password;
}

function readPasswordEnv(value: unknown, path: string, problems: Problems): string {
  const name = readString(value, path, problems, '', 'the name of an environment variable');
  if (name === '') return '';
  const password = process.env[name];
  if (password === undefined || password === '') {
    problems.report(path, `environment variable ${name} is not set or empty`);
    return '';
  }
  return password;
}
