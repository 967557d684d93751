/**
 * Reads topic-mappings.yaml into a validated, deeply frozen ProxyConfig.
 *
 * Validation is by hand and strict: unknown keys, wrong types and out-of-range values are errors
 * naming file, path and problem. Every problem is collected and reported together. Rules: a section
 * written with no value (`kafka:`) counts as absent; a scalar written as null is an error (except
 * `mappings[].key`, where null means "no key").
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import zlib from 'node:zlib';
import { parseDocument } from 'yaml';
import { compileRouter } from '../mapping/router.js';
import { parseTopicRegexList, TOPIC_REGEX_LIST_KEY } from '../mapping/regex-list.js';
import { parseCidr } from '../listeners/ip-address.js';
import { DEFAULTS } from './defaults.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { deepFreeze } from './freeze.js';
import { closestKey } from './suggest.js';
import type {
  AcksSetting,
  AuthConfig,
  CertificateAuthMode,
  ConfigOverrides,
  DeniedPublish311,
  FailureDelayConfig,
  JwtConfig,
  DrainConfig,
  HttpConfig,
  KafkaAcksConfig,
  KafkaClientName,
  KafkaCompression,
  KafkaConfig,
  KafkaSaslConfig,
  KafkaSslConfig,
  LimitsConfig,
  ListenerConfig,
  ListenerProtocol,
  ListenerTlsConfig,
  LogConfig,
  LogLevel,
  LoginLimitsConfig,
  MappingRuleConfig,
  ProxyConfig,
  ProxyProtocolConfig,
  TlsMinVersion,
  ReloadConfig,
  SaslMechanism,
  UnmappedConfig,
} from './types.js';
import { Secret } from './types.js';

const TOP_LEVEL_KEYS = ['listeners', 'kafka', 'mappings', 'unmapped', 'auth', 'http', 'drain', 'reload', 'limits', 'log', TOPIC_REGEX_LIST_KEY] as const;
const LISTENER_KEYS = ['protocol', 'host', 'port', 'path', 'tls', 'proxyProtocol', 'trustedProxies'] as const;
const LISTENER_TLS_KEYS = ['cert', 'key', 'ca', 'requestCert', 'minVersion', 'ciphers', 'watchIntervalMs'] as const;
const PROXY_PROTOCOL_KEYS = ['trustedCidrs', 'headerTimeoutMs'] as const;
export const TLS_MIN_VERSIONS: readonly TlsMinVersion[] = ['TLSv1.2', 'TLSv1.3'];
const KAFKA_KEYS = [
  'brokers',
  'clientId',
  'client',
  'acks',
  'lingerMs',
  'batchMaxRecords',
  'batchMaxBytes',
  'requestTimeoutMs',
  'connectionTimeoutMs',
  'ssl',
  'sasl',
  'requireTopics',
  'compression',
] as const;
const KAFKA_SSL_KEYS = ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const;
const KAFKA_SASL_KEYS = ['mechanism', 'username', 'password', 'passwordFile', 'passwordEnv'] as const;
export const SASL_MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];
const ACKS_KEYS = ['qos0', 'qos1', 'qos2'] as const;
const MAPPING_KEYS = ['name', 'match', 'topic', 'key'] as const;
const UNMAPPED_KEYS = ['topic'] as const;
const AUTH_KEYS = ['anonymous', 'usersFile', 'jwt', 'certificate', 'deniedPublish311', 'failureDelay', 'logins', 'watchIntervalMs'] as const;
const JWT_KEYS = ['secret', 'secretFile', 'publicKeyFile', 'issuer', 'audience', 'usernameClaim', 'clockToleranceSeconds', 'requireExpiry'] as const;
const FAILURE_DELAY_KEYS = ['initialMs', 'maxMs', 'forgetAfterSeconds', 'maxAddresses'] as const;
const LOGINS_KEYS = ['maxConcurrentHashes', 'maxQueuedHashes', 'maxPendingPerAddress', 'knownGoodReserve', 'knownGoodSeconds', 'maxKnownGood'] as const;
const CERTIFICATE_MODES: readonly CertificateAuthMode[] = ['ignore', 'optional', 'required'];
const DENIED_PUBLISH_311: readonly DeniedPublish311[] = ['disconnect', 'drop'];
const HTTP_KEYS = ['port', 'host'] as const;
const DRAIN_KEYS = ['delayMs', 'timeoutMs'] as const;
const RELOAD_KEYS = ['watch'] as const;
const LIMITS_KEYS = [
  'maxPacketSize',
  'maxInflightMessages',
  'maxInflightBytes',
  'maxInflightPerConnection',
  'maxInflightBytesPerConnection',
  'inflightLowWater',
  'qos0Overload',
  'connectTimeoutSeconds',
  'maxConnections',
  'maxConnectionsPerAddress',
  'maxConnectionsPerPublicAddress',
  'maxClientIdLength',
  'minKeepAliveSeconds',
  'maxKeepAliveSeconds',
  'publishRatePerSecond',
  'publishRateBurst',
] as const;
const QOS0_OVERLOAD = ['block', 'drop'] as const;
const LOG_KEYS = ['level'] as const;

export const LISTENER_PROTOCOLS: readonly ListenerProtocol[] = ['tcp', 'tls', 'ws', 'wss'];
/** Every protocol is served; kept for callers that list what the listeners implement. */
export const IMPLEMENTED_LISTENER_PROTOCOLS: readonly ListenerProtocol[] = LISTENER_PROTOCOLS;
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Largest delay Node timers accept (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;
/** MQTT's largest packet: 268435455 bytes of remaining length plus a 5-byte fixed header. */
const MAX_MQTT_PACKET_SIZE = 268_435_460;

/** `file` is shown in messages as given; ProxyConfig.source is its absolute path. */
export function loadConfig(file: string, overrides?: ConfigOverrides): ProxyConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, '', `cannot read the configuration file: ${describeFileError(error)}`, { cause: error });
  }
  return buildConfig(text, file, resolve(file), overrides);
}

/** Validates configuration text. `source` names it in messages and becomes ProxyConfig.source. */
export function parseConfig(text: string, source: string, overrides?: ConfigOverrides): ProxyConfig {
  return buildConfig(text, source, source, overrides);
}

function describeFileError(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory, not a file';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** Collects problems for one file. */
class Problems {
  readonly list: ConfigProblem[] = [];
  constructor(readonly file: string) {}

  report(path: string, problem: string): void {
    this.list.push({ file: this.file, path, problem });
  }

  addAll(problems: readonly ConfigProblem[]): void {
    this.list.push(...problems);
  }
}

function buildConfig(text: string, displayName: string, source: string, overrides: ConfigOverrides | undefined): ProxyConfig {
  const problems = new Problems(displayName);
  const raw = parseYaml(text, problems);
  if (problems.list.length > 0) throw new ConfigError(problems.list);

  if (raw === undefined || raw === null) {
    throw new ConfigError(displayName, '', 'the file is empty: expected a YAML mapping with at least mappings and auth');
  }
  if (!isPlainObject(raw)) {
    throw new ConfigError(displayName, '', `expected a YAML mapping at the top level, got ${describeValue(raw)}`);
  }
  checkKeys(raw, TOP_LEVEL_KEYS, '', problems);

  let listeners = readListeners(raw['listeners'], dirname(resolve(source)), problems);
  let kafka = readKafka(raw['kafka'], dirname(resolve(source)), problems);

  const before = problems.list.length;
  const mappings = readMappings(raw['mappings'], problems);
  const regexListRules = readTopicRegexList(raw[TOPIC_REGEX_LIST_KEY], problems);
  const unmapped = readUnmapped(raw['unmapped'], problems);
  const rules = [...mappings, ...regexListRules];
  // Rules with a malformed shape were dropped above; the rest are still compiled so their regex
  // and template mistakes are reported in the same round.
  checkRouting(rules, unmapped, problems.list.length === before, problems);

  const auth = readAuth(raw['auth'], dirname(source), problems);
  let http = readHttp(raw['http'], problems);
  const drain = readDrain(raw['drain'], problems);
  const reload = readReload(raw['reload'], problems);
  const limits = readLimits(raw['limits'], problems);
  let log = readLog(raw['log'], problems);

  if (overrides !== undefined) {
    if (overrides.httpPort !== undefined) {
      http = { ...http, port: readPort(overrides.httpPort, 'overrides.httpPort', 0, problems, DEFAULTS.http.port) };
    }
    if (overrides.kafkaBrokers !== undefined) {
      kafka = { ...kafka, brokers: readBrokers([...overrides.kafkaBrokers], 'overrides.kafkaBrokers', problems) };
    }
    if (overrides.port !== undefined) {
      const port = readPort(overrides.port, 'overrides.port', 0, problems, DEFAULTS.listener.port);
      listeners = listeners.map((listener, index) => (index === 0 ? { ...listener, port } : listener));
    }
    if (overrides.logLevel !== undefined) log = { level: readLogLevel(overrides.logLevel, 'overrides.logLevel', problems) };
    if (overrides.kafkaClient !== undefined) {
      kafka = { ...kafka, client: readOneOf(overrides.kafkaClient, 'overrides.kafkaClient', KAFKA_CLIENTS, problems, kafka.client) };
    }
  }
  checkClientCompression(kafka, overrides?.kafkaClient !== undefined, problems);
  checkPortClashes(listeners, http, problems);

  if (problems.list.length > 0) throw new ConfigError(problems.list);
  const config: ProxyConfig = { source, listeners, kafka, mappings: rules, unmapped, auth, http, drain, reload, limits, log };
  return deepFreeze(config);
}

function parseYaml(text: string, problems: Problems): unknown {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  for (const error of document.errors) {
    const position = error.linePos?.[0];
    const path = position === undefined ? '' : `line ${position.line}, column ${position.col}`;
    // prettyErrors appends " at line L, column C:" and a source excerpt; the path already says where.
    const reason = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
    problems.report(path, `YAML syntax error: ${reason}`);
  }
  if (document.errors.length > 0) return undefined;
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Unresolvable or exponentially expanding aliases.
    problems.report('', `YAML error: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Generic readers. Each reports a problem and returns a fallback, so validation goes on and finds
// the other problems too; the fallback never escapes because any problem throws at the end.

type RawObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is RawObject {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return String(value);
    case 'object':
      return isPlainObject(value) ? 'a mapping' : 'a YAML collection of another kind';
    default:
      return typeof value;
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function checkKeys(object: RawObject, known: readonly string[], path: string, problems: Problems): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    const suggestion = closestKey(key, known);
    problems.report(
      join(path, key),
      suggestion === undefined ? `unknown key (known keys here: ${known.join(', ')})` : `unknown key; did you mean "${suggestion}"?`,
    );
  }
}

/** A mapping section; absent or null means "all defaults" and reads as an empty object. */
function readSection(value: unknown, path: string, known: readonly string[], problems: Problems): RawObject {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    problems.report(path, `expected a mapping (keys: ${known.join(', ')}), got ${describeValue(value)}`);
    return {};
  }
  checkKeys(value, known, path, problems);
  return value;
}

function readInteger(value: unknown, path: string, min: number, max: number, problems: Problems, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  problems.report(path, `expected an integer from ${min} to ${max}, got ${describeValue(value)}`);
  return fallback;
}

function readPort(value: unknown, path: string, min: 0 | 1, problems: Problems, fallback: number): number {
  return readInteger(value, path, min, 65535, problems, fallback);
}

function readString(value: unknown, path: string, problems: Problems, fallback: string, what = 'a non-empty string'): string {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && value !== '') return value;
  problems.report(path, `expected ${what}, got ${describeValue(value)}`);
  return fallback;
}

function readRequiredString(object: RawObject, key: string, path: string, problems: Problems, what: string): string | undefined {
  const value = object[key];
  if (value === undefined) {
    problems.report(join(path, key), `is required (${what})`);
    return undefined;
  }
  if (typeof value === 'string' && value !== '') return value;
  problems.report(join(path, key), `expected ${what}, got ${describeValue(value)}`);
  return undefined;
}

function readBoolean(value: unknown, path: string, problems: Problems, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  problems.report(path, `expected true or false, got ${describeValue(value)}`);
  return fallback;
}

function readOneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], problems: Problems, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  problems.report(path, `expected one of ${allowed.join(', ')}, got ${describeValue(value)}`);
  return fallback;
}

// ---------------------------------------------------------------------------------------------
// Sections.

/** `baseDir`: where relative certificate paths start (the config file's directory). */
function readListeners(value: unknown, baseDir: string, problems: Problems): ListenerConfig[] {
  if (value === undefined || value === null) return [DEFAULTS.listener];
  if (!Array.isArray(value)) {
    problems.report('listeners', `expected a list of listeners ({ protocol, host, port }), got ${describeValue(value)}`);
    return [DEFAULTS.listener];
  }
  if (value.length === 0) problems.report('listeners', 'needs at least one listener, or leave the key out for one on 0.0.0.0:1883');
  return value.map((item: unknown, index) => readListener(item, `listeners[${index}]`, baseDir, problems));
}

function readListener(item: unknown, path: string, baseDir: string, problems: Problems): ListenerConfig {
  const entry = readSection(item, path, LISTENER_KEYS, problems);
  const protocol = readOneOf(entry['protocol'], `${path}.protocol`, LISTENER_PROTOCOLS, problems, DEFAULTS.listener.protocol);
  let host = readString(entry['host'], `${path}.host`, problems, DEFAULTS.listener.host, 'a host name or IP address');
  if (/\s/.test(host)) {
    problems.report(`${path}.host`, `a host cannot contain whitespace, got ${JSON.stringify(host)}`);
    host = DEFAULTS.listener.host;
  }
  // 0 = an ephemeral port chosen by the OS (tests use it).
  const port = readPort(entry['port'], `${path}.port`, 0, problems, DEFAULTS.listenerPorts[protocol]);
  const listener: { -readonly [K in keyof ListenerConfig]: ListenerConfig[K] } = { protocol, host, port };
  const webSocket = protocol === 'ws' || protocol === 'wss';
  const secure = protocol === 'tls' || protocol === 'wss';

  if (webSocket) {
    listener.path = readWebSocketPath(entry['path'], `${path}.path`, problems);
  } else if (entry['path'] !== undefined) {
    problems.report(`${path}.path`, `only ws and wss listeners have a path; this one is ${protocol}`);
  }

  if (secure) {
    if (entry['tls'] === undefined || entry['tls'] === null) {
      problems.report(`${path}.tls`, `is required for a ${protocol} listener ({ cert, key } files, and ca for client certificates)`);
    } else {
      const tls = readListenerTls(entry['tls'], `${path}.tls`, baseDir, problems);
      if (tls !== undefined) listener.tls = tls;
    }
  } else if (entry['tls'] !== undefined) {
    problems.report(`${path}.tls`, `only tls and wss listeners use certificates; use protocol: ${protocol === 'ws' ? 'wss' : 'tls'}`);
  }

  if (entry['proxyProtocol'] !== undefined) {
    if (webSocket) {
      problems.report(
        `${path}.proxyProtocol`,
        `PROXY protocol is for tcp and tls listeners; ${protocol} listeners behind a proxy use trustedProxies (X-Forwarded-For)`,
      );
    } else {
      const proxyProtocol = readProxyProtocol(entry['proxyProtocol'], `${path}.proxyProtocol`, problems);
      if (proxyProtocol !== undefined) listener.proxyProtocol = proxyProtocol;
    }
  }

  if (entry['trustedProxies'] !== undefined) {
    if (webSocket) {
      listener.trustedProxies = readCidrList(entry['trustedProxies'], `${path}.trustedProxies`, problems);
    } else {
      problems.report(
        `${path}.trustedProxies`,
        `X-Forwarded-For applies to ws and wss listeners; ${protocol} listeners behind a load balancer use proxyProtocol`,
      );
    }
  }
  return listener;
}

function readWebSocketPath(value: unknown, path: string, problems: Problems): string {
  const text = readString(value, path, problems, DEFAULTS.webSocketPath, 'a URL path such as /mqtt');
  if (!text.startsWith('/') || /[\s?#]/.test(text)) {
    problems.report(path, `expected a URL path starting with "/" without spaces, query or fragment, got ${JSON.stringify(text)}`);
    return DEFAULTS.webSocketPath;
  }
  return text;
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

function readListenerTls(value: unknown, path: string, baseDir: string, problems: Problems): ListenerTlsConfig | undefined {
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
  const defaults = DEFAULTS.tls;
  const requestCert = readBoolean(value['requestCert'], join(path, 'requestCert'), problems, defaults.requestCert);
  if (requestCert && value['ca'] === undefined) {
    problems.report(join(path, 'ca'), 'is required with requestCert: true (the CA client certificates must be signed by)');
  }
  const minVersion = readOneOf(value['minVersion'], join(path, 'minVersion'), TLS_MIN_VERSIONS, problems, defaults.minVersion);
  const ciphers = readCiphers(value['ciphers'], join(path, 'ciphers'), problems);
  const watchIntervalMs = readInteger(value['watchIntervalMs'], join(path, 'watchIntervalMs'), 0, MAX_TIMER_MS, problems, defaults.watchIntervalMs);
  if (problems.list.length > before || cert === undefined || key === undefined) return undefined;
  // Load them as the listener will, so a wrong file, a broken PEM or a key that does not belong to
  // the certificate is reported now, naming the listener, rather than when the first client connects.
  try {
    createSecureContext({
      cert: readFileSync(cert),
      key: readFileSync(key),
      ...(ca === undefined ? {} : { ca: readFileSync(ca) }),
      minVersion,
      ciphers,
    });
  } catch (error) {
    problems.report(path, `cannot use ${cert} and ${key}${ca === undefined ? '' : ` with ${ca}`}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  return { cert, key, ...(ca === undefined ? {} : { ca }), requestCert, minVersion, ciphers, watchIntervalMs };
}

/** An OpenSSL cipher list; OpenSSL itself judges the names when the listener's context is built above. */
function readCiphers(value: unknown, path: string, problems: Problems): string {
  const text = readString(value, path, problems, DEFAULTS.tls.ciphers, 'an OpenSSL cipher list such as ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256');
  if (!text.split(':').some((name) => name.startsWith('TLS_'))) {
    problems.report(path, 'lists no TLS 1.3 suite (TLS_AES_128_GCM_SHA256, ...): TLS 1.3 would be off; add them');
  }
  return text;
}

function readCidrList(value: unknown, path: string, problems: Problems): string[] {
  if (!Array.isArray(value)) {
    problems.report(path, `expected a list of CIDR ranges (e.g. [10.0.0.0/8, 'fd00::/8']), got ${describeValue(value)}`);
    return [];
  }
  if (value.length === 0) problems.report(path, 'needs at least one CIDR range');
  const ranges: string[] = [];
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'string') {
      problems.report(`${path}[${index}]`, `expected a CIDR range string, got ${describeValue(item)}`);
      return;
    }
    const result = parseCidr(item);
    if (result.ok) ranges.push(item);
    else problems.report(`${path}[${index}]`, result.problem);
  });
  return ranges;
}

function readProxyProtocol(value: unknown, path: string, problems: Problems): ProxyProtocolConfig | undefined {
  if (!isPlainObject(value)) {
    problems.report(path, `expected a mapping (keys: ${PROXY_PROTOCOL_KEYS.join(', ')}), got ${describeValue(value)}`);
    return undefined;
  }
  checkKeys(value, PROXY_PROTOCOL_KEYS, path, problems);
  if (value['trustedCidrs'] === undefined) {
    problems.report(join(path, 'trustedCidrs'), 'is required (the CIDR ranges of the load balancers that send PROXY headers)');
    return undefined;
  }
  const trustedCidrs = readCidrList(value['trustedCidrs'], join(path, 'trustedCidrs'), problems);
  const headerTimeoutMs = readInteger(
    value['headerTimeoutMs'],
    join(path, 'headerTimeoutMs'),
    1,
    MAX_TIMER_MS,
    problems,
    DEFAULTS.proxyProtocol.headerTimeoutMs,
  );
  return { trustedCidrs, headerTimeoutMs };
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** Two sockets cannot bind the same port where their addresses overlap; say so now, not at listen(). */
function checkPortClashes(listeners: readonly ListenerConfig[], http: HttpConfig, problems: Problems): void {
  listeners.forEach((listener, index) => {
    if (listener.port === 0) return;
    const earlier = listeners.findIndex(
      (other, otherIndex) =>
        otherIndex < index &&
        other.port === listener.port &&
        (other.host === listener.host || WILDCARD_HOSTS.has(other.host) || WILDCARD_HOSTS.has(listener.host)),
    );
    if (earlier !== -1) problems.report(`listeners[${index}].port`, `port ${listener.port} is already used by listeners[${earlier}]`);
    // The admin HTTP server listens on every interface.
    if (listener.port === http.port) problems.report('http.port', `port ${http.port} is already used by listeners[${index}]`);
  });
}

const BROKER_ADDRESS = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$/;

/** Why `broker` is not a usable `host:port`, or null. */
export function brokerAddressProblem(broker: string): string | null {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(broker);
  if (scheme !== null) return `expected host:port without a scheme: write ${JSON.stringify(broker.slice(scheme[0].length))}`;
  const match = BROKER_ADDRESS.exec(broker);
  if (match === null) {
    return `expected host:port (e.g. 127.0.0.1:9092, kafka-0.kafka:9092 or [::1]:9092), got ${JSON.stringify(broker)}`;
  }
  const port = Number(match[1]);
  if (port < 1 || port > 65535) return `port ${port} is not from 1 to 65535`;
  return null;
}

function readBrokers(value: unknown, path: string, problems: Problems): string[] {
  if (value === undefined) return [...DEFAULTS.kafka.brokers];
  if (!Array.isArray(value)) {
    problems.report(path, `expected a list of host:port strings (e.g. [127.0.0.1:9092]), got ${describeValue(value)}`);
    return [];
  }
  if (value.length === 0) problems.report(path, 'needs at least one broker (host:port)');
  const brokers: string[] = [];
  value.forEach((broker: unknown, index) => {
    if (typeof broker !== 'string') {
      problems.report(`${path}[${index}]`, `expected a host:port string, got ${describeValue(broker)}`);
      return;
    }
    const problem = brokerAddressProblem(broker);
    if (problem === null) brokers.push(broker);
    else problems.report(`${path}[${index}]`, problem);
  });
  return brokers;
}

function readAcksSetting(value: unknown, path: string, problems: Problems, fallback: AcksSetting): AcksSetting {
  if (value === undefined) return fallback;
  if (value === 0 || value === 1 || value === 'all') return value;
  if (value === -1) return 'all'; // Kafka's own spelling of "all"
  problems.report(path, `expected 0, 1 or all (-1 also means all), got ${describeValue(value)}`);
  return fallback;
}

function readAcks(value: unknown, problems: Problems): KafkaAcksConfig {
  const path = 'kafka.acks';
  const section = readSection(value, path, ACKS_KEYS, problems);
  const defaults = DEFAULTS.kafka.acks;
  const qos2 = readAcksSetting(section['qos2'], `${path}.qos2`, problems, defaults.qos2);
  if (qos2 !== 'all') {
    problems.report(
      `${path}.qos2`,
      `QoS 2 needs acks all: its exactly-once delivery uses the idempotent producer, which Kafka only allows with acks=all`,
    );
  }
  return {
    qos0: readAcksSetting(section['qos0'], `${path}.qos0`, problems, defaults.qos0),
    qos1: readAcksSetting(section['qos1'], `${path}.qos1`, problems, defaults.qos1),
    qos2,
  };
}

/** `baseDir`: where relative certificate and password file paths start (the config file's directory). */
function readKafka(value: unknown, baseDir: string, problems: Problems): KafkaConfig {
  const section = readSection(value, 'kafka', KAFKA_KEYS, problems);
  const defaults = DEFAULTS.kafka;
  return {
    ssl: readKafkaSsl(section['ssl'], baseDir, problems),
    sasl: readKafkaSasl(section['sasl'], baseDir, problems),
    requireTopics: readBoolean(section['requireTopics'], 'kafka.requireTopics', problems, defaults.requireTopics),
    brokers: readBrokers(section['brokers'], 'kafka.brokers', problems),
    clientId: readString(section['clientId'], 'kafka.clientId', problems, defaults.clientId),
    client: readOneOf(section['client'], 'kafka.client', KAFKA_CLIENTS, problems, defaults.client),
    acks: readAcks(section['acks'], problems),
    lingerMs: readInteger(section['lingerMs'], 'kafka.lingerMs', 0, MAX_TIMER_MS, problems, defaults.lingerMs),
    batchMaxRecords: readInteger(section['batchMaxRecords'], 'kafka.batchMaxRecords', 1, 2 ** 31 - 1, problems, defaults.batchMaxRecords),
    batchMaxBytes: readInteger(section['batchMaxBytes'], 'kafka.batchMaxBytes', 1, 2 ** 31 - 1, problems, defaults.batchMaxBytes),
    requestTimeoutMs: readInteger(section['requestTimeoutMs'], 'kafka.requestTimeoutMs', 1, MAX_TIMER_MS, problems, defaults.requestTimeoutMs),
    connectionTimeoutMs: readInteger(
      section['connectionTimeoutMs'],
      'kafka.connectionTimeoutMs',
      1,
      MAX_TIMER_MS,
      problems,
      defaults.connectionTimeoutMs,
    ),
    compression: readOneOf(section['compression'], 'kafka.compression', KAFKA_COMPRESSIONS, problems, defaults.compression),
  };
}

/** `true`: TLS with the system's CAs; `false` or absent: plaintext; a mapping: TLS with these settings. */
function readKafkaSsl(value: unknown, baseDir: string, problems: Problems): KafkaSslConfig | null {
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

function readKafkaSasl(value: unknown, baseDir: string, problems: Problems): KafkaSaslConfig | null {
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
  if (how === 'passwordFile') {
    const file = readString(section['passwordFile'], `${path}.passwordFile`, problems, '', 'the path of a file holding the password');
    if (file === '') return '';
    const absolute = resolve(baseDir, file);
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (error) {
      problems.report(`${path}.passwordFile`, `cannot read ${absolute}: ${describeFileError(error)}`);
      return '';
    }
    // Files written by `echo` or a secret mount end with a newline that is not part of the password.
    const password = text.replace(/\r?\n$/, '');
    if (password === '') problems.report(`${path}.passwordFile`, `${absolute} is empty`);
    return password;
  }
  const name = readString(section['passwordEnv'], `${path}.passwordEnv`, problems, '', 'the name of an environment variable');
  if (name === '') return '';
  const password = process.env[name];
  if (password === undefined || password === '') {
    problems.report(`${path}.passwordEnv`, `environment variable ${name} is not set or empty`);
    return '';
  }
  return password;
}
const KAFKA_COMPRESSIONS: readonly KafkaCompression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
export const KAFKA_CLIENTS: readonly KafkaClientName[] = ['kafkajs', 'platformatic'];

/**
 * @platformatic/kafka compresses zstd with node:zlib, which has zstd from Node.js 22.15 on; on an
 * older Node.js the first produce request would fail, so the combination is refused here.
 */
function checkClientCompression(kafka: KafkaConfig, clientOverridden: boolean, problems: Problems): void {
  if (kafka.client !== 'platformatic' || kafka.compression !== 'zstd' || zlibHasZstd()) return;
  const client = clientOverridden ? 'platformatic (from the command line)' : 'platformatic';
  problems.report(
    'kafka.compression',
    `zstd is not available with kafka.client ${client} on Node.js ${process.versions.node}: it needs node:zlib's zstd (Node.js 22.15 or later); use gzip, snappy or lz4, or kafka.client kafkajs`,
  );
}

function zlibHasZstd(): boolean {
  return typeof (zlib as unknown as Record<string, unknown>)['zstdCompressSync'] === 'function';
}

function readMappings(value: unknown, problems: Problems): MappingRuleConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.report('mappings', `expected a list of rules ({ name, match, topic, key }), got ${describeValue(value)}`);
    return [];
  }
  const rules: MappingRuleConfig[] = [];
  value.forEach((item: unknown, index) => {
    if (!isPlainObject(item)) {
      problems.report(`mappings[${index}]`, `expected a rule ({ name, match, topic, key }), got ${describeValue(item)}`);
      return;
    }
    const name = readRequiredString(item, 'name', `mappings[${index}]`, problems, 'a rule name for logs and metrics');
    const path = name === undefined ? `mappings[${index}]` : `mappings[${index}] ${JSON.stringify(name)}`;
    const reservedName = name?.startsWith(`${TOPIC_REGEX_LIST_KEY}[`) ?? false;
    if (reservedName) {
      problems.report(`${path}.name`, `names starting with "${TOPIC_REGEX_LIST_KEY}[" are reserved for rules from ${TOPIC_REGEX_LIST_KEY}`);
    }
    checkKeys(item, MAPPING_KEYS, path, problems);
    const match = readRequiredString(item, 'match', path, problems, 'a JavaScript regular expression on the MQTT topic');
    const topic = readRequiredString(item, 'topic', path, problems, 'a Kafka topic template');
    const key = readKey(item['key'], `${path}.key`, problems);
    // The router names rules called topic.regex.list[N] by that name alone, so a reserved name is dropped too.
    if (name !== undefined && !reservedName && match !== undefined && topic !== undefined && key !== undefined) {
      rules.push({ name, match, topic, key });
    }
  });
  return rules;
}

/** Absent: the default `${topic}`; null: no key; a string: a template. */
function readKey(value: unknown, path: string, problems: Problems): string | null | undefined {
  if (value === undefined) return DEFAULTS.mappingKey;
  if (value === null || typeof value === 'string') return value;
  problems.report(path, `expected a key template string, or null for no key, got ${describeValue(value)}`);
  return undefined;
}

function readTopicRegexList(value: unknown, problems: Problems): MappingRuleConfig[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'string') {
    problems.report(TOPIC_REGEX_LIST_KEY, `expected a string of kafkaTopic:regex pairs separated by commas, got ${describeValue(value)}`);
    return [];
  }
  try {
    return parseTopicRegexList(value, problems.file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.addAll(error.problems);
    return [];
  }
}

function readUnmapped(value: unknown, problems: Problems): UnmappedConfig {
  if (value === undefined || value === null) return DEFAULTS.unmapped;
  if (value === 'reject') return { action: 'reject' };
  if (isPlainObject(value)) {
    checkKeys(value, UNMAPPED_KEYS, 'unmapped', problems);
    const topic = readRequiredString(value, 'topic', 'unmapped', problems, 'the Kafka topic for topics no rule matches');
    return topic === undefined ? DEFAULTS.unmapped : { action: 'topic', topic };
  }
  const hint = typeof value === 'string' ? `; to send them to Kafka topic ${value} write unmapped: { topic: ${value} }` : '';
  problems.report('unmapped', `expected reject or { topic: NAME }, got ${describeValue(value)}${hint}`);
  return DEFAULTS.unmapped;
}

/** Compiles the rules now so regex and template mistakes surface at load time, naming the rule. */
function checkRouting(
  rules: readonly MappingRuleConfig[],
  unmapped: UnmappedConfig,
  shapesValid: boolean,
  problems: Problems,
): void {
  // With malformed rules dropped, "no rules" would only repeat those problems.
  if (shapesValid && rules.length === 0 && unmapped.action === 'reject') {
    problems.report(
      'mappings',
      `no mapping rules, so every PUBLISH would be rejected: add rules under mappings (or ${TOPIC_REGEX_LIST_KEY}), ` +
        'or send unmatched topics to Kafka with unmapped: { topic: NAME }',
    );
  }
  try {
    compileRouter({ source: problems.file, mappings: rules, unmapped });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.addAll(error.problems);
  }
}

function readAuth(value: unknown, baseDirectory: string, problems: Problems): AuthConfig {
  const before = problems.list.length;
  const section = readSection(value, 'auth', AUTH_KEYS, problems);
  const anonymous = readBoolean(section['anonymous'], 'auth.anonymous', problems, DEFAULTS.auth.anonymous);
  const usersFile = readPath(section['usersFile'], 'auth.usersFile', baseDirectory, problems);
  const jwt = readJwt(section['jwt'], baseDirectory, problems);
  const certificate = readOneOf(section['certificate'], 'auth.certificate', CERTIFICATE_MODES, problems, DEFAULTS.auth.certificate);
  const deniedPublish311 = readOneOf(
    section['deniedPublish311'],
    'auth.deniedPublish311',
    DENIED_PUBLISH_311,
    problems,
    DEFAULTS.auth.deniedPublish311,
  );
  const failureDelay = readFailureDelay(section['failureDelay'], problems);
  const logins = readLogins(section['logins'], problems);
  const watchIntervalMs = readInteger(section['watchIntervalMs'], 'auth.watchIntervalMs', 0, MAX_TIMER_MS, problems, DEFAULTS.auth.watchIntervalMs);
  // With a problem in this section already reported (a misspelt `anonymus`), this one would be noise.
  if (!anonymous && usersFile === undefined && jwt === undefined && certificate === 'ignore' && problems.list.length === before) {
    const why = section['anonymous'] === undefined ? 'anonymous access is off by default' : 'anonymous access is off';
    problems.report(
      'auth.anonymous',
      `no client could connect: ${why} and no authentication method is configured; ` +
        'set auth.usersFile, auth.jwt or auth.certificate, or auth.anonymous: true',
    );
  }
  return {
    anonymous,
    ...(usersFile !== undefined && { usersFile }),
    ...(jwt !== undefined && { jwt }),
    certificate,
    deniedPublish311,
    failureDelay,
    logins,
    watchIntervalMs,
  };
}

/** A file path; relative paths are taken from the configuration file's directory. */
function readPath(value: unknown, path: string, baseDirectory: string, problems: Problems): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = readString(value, path, problems, '', 'a file path');
  return text === '' ? undefined : resolve(baseDirectory, text);
}

function readJwt(value: unknown, baseDirectory: string, problems: Problems): JwtConfig | undefined {
  if (value === undefined || value === null) return undefined;
  const section = readSection(value, 'auth.jwt', JWT_KEYS, problems);
  const optionalString = (key: string): string | undefined =>
    section[key] === undefined ? undefined : readString(section[key], `auth.jwt.${key}`, problems, '') || undefined;
  const secret = optionalString('secret');
  const secretFile = readPath(section['secretFile'], 'auth.jwt.secretFile', baseDirectory, problems);
  const publicKeyFile = readPath(section['publicKeyFile'], 'auth.jwt.publicKeyFile', baseDirectory, problems);
  if (secret !== undefined && secretFile !== undefined) problems.report('auth.jwt.secretFile', 'give secret or secretFile, not both');
  if (secret === undefined && secretFile === undefined && publicKeyFile === undefined && isPlainObject(value)) {
    problems.report('auth.jwt', 'needs secret or secretFile (HS256), or publicKeyFile (RS256, ES256)');
  }
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    problems.report('auth.jwt.secret', 'an HS256 secret must be at least 32 bytes (256 bits)');
  }
  const issuer = optionalString('issuer');
  const audience = optionalString('audience');
  const defaults = DEFAULTS.jwt;
  return {
    ...(secret !== undefined && { secret }),
    ...(secretFile !== undefined && { secretFile }),
    ...(publicKeyFile !== undefined && { publicKeyFile }),
    ...(issuer !== undefined && { issuer }),
    ...(audience !== undefined && { audience }),
    usernameClaim: readString(section['usernameClaim'], 'auth.jwt.usernameClaim', problems, defaults.usernameClaim),
    clockToleranceSeconds: readInteger(section['clockToleranceSeconds'], 'auth.jwt.clockToleranceSeconds', 0, 86400, problems, defaults.clockToleranceSeconds),
    requireExpiry: readBoolean(section['requireExpiry'], 'auth.jwt.requireExpiry', problems, defaults.requireExpiry),
  };
}

function readFailureDelay(value: unknown, problems: Problems): FailureDelayConfig {
  const section = readSection(value, 'auth.failureDelay', FAILURE_DELAY_KEYS, problems);
  const defaults = DEFAULTS.auth.failureDelay;
  const initialMs = readInteger(section['initialMs'], 'auth.failureDelay.initialMs', 0, 60_000, problems, defaults.initialMs);
  const maxMs = readInteger(section['maxMs'], 'auth.failureDelay.maxMs', 0, 600_000, problems, defaults.maxMs);
  if (maxMs < initialMs) problems.report('auth.failureDelay.maxMs', `must not be below initialMs (${initialMs})`);
  return {
    initialMs,
    maxMs,
    forgetAfterSeconds: readInteger(section['forgetAfterSeconds'], 'auth.failureDelay.forgetAfterSeconds', 1, 86400 * 7, problems, defaults.forgetAfterSeconds),
    maxAddresses: readInteger(section['maxAddresses'], 'auth.failureDelay.maxAddresses', 1, 10_000_000, problems, defaults.maxAddresses),
  };
}

function readLogins(value: unknown, problems: Problems): LoginLimitsConfig {
  const section = readSection(value, 'auth.logins', LOGINS_KEYS, problems);
  const defaults = DEFAULTS.auth.logins;
  const int = (key: keyof LoginLimitsConfig, min: number, max: number): number =>
    readInteger(section[key], `auth.logins.${key}`, min, max, problems, defaults[key]);
  return {
    maxConcurrentHashes: int('maxConcurrentHashes', 1, 64),
    maxQueuedHashes: int('maxQueuedHashes', 0, 100_000),
    maxPendingPerAddress: int('maxPendingPerAddress', 1, 100_000),
    knownGoodReserve: int('knownGoodReserve', 0, 64),
    knownGoodSeconds: int('knownGoodSeconds', 1, 86400 * 365),
    maxKnownGood: int('maxKnownGood', 0, 10_000_000),
  };
}

function readHttp(value: unknown, problems: Problems): HttpConfig {
  const section = readSection(value, 'http', HTTP_KEYS, problems);
  let host = readString(section['host'], 'http.host', problems, DEFAULTS.http.host, 'a host name or IP address');
  if (/\s/.test(host)) {
    problems.report('http.host', `a host cannot contain whitespace, got ${JSON.stringify(host)}`);
    host = DEFAULTS.http.host;
  }
  // 0 disables the admin HTTP server.
  return { port: readPort(section['port'], 'http.port', 0, problems, DEFAULTS.http.port), host };
}

function readDrain(value: unknown, problems: Problems): DrainConfig {
  const section = readSection(value, 'drain', DRAIN_KEYS, problems);
  return {
    delayMs: readInteger(section['delayMs'], 'drain.delayMs', 0, MAX_TIMER_MS, problems, DEFAULTS.drain.delayMs),
    timeoutMs: readInteger(section['timeoutMs'], 'drain.timeoutMs', 0, MAX_TIMER_MS, problems, DEFAULTS.drain.timeoutMs),
  };
}

function readReload(value: unknown, problems: Problems): ReloadConfig {
  const section = readSection(value, 'reload', RELOAD_KEYS, problems);
  return { watch: readBoolean(section['watch'], 'reload.watch', problems, DEFAULTS.reload.watch) };
}

/** The limits whose value is a number. */
type NumericLimit = { [K in keyof LimitsConfig]: LimitsConfig[K] extends number ? K : never }[keyof LimitsConfig];

function readLimits(value: unknown, problems: Problems): LimitsConfig {
  const section = readSection(value, 'limits', LIMITS_KEYS, problems);
  const defaults = DEFAULTS.limits;
  const int = (key: NumericLimit, min: number, max: number): number =>
    readInteger(section[key], `limits.${key}`, min, max, problems, defaults[key]);
  const limits: LimitsConfig = {
    maxPacketSize: int('maxPacketSize', 1, MAX_MQTT_PACKET_SIZE),
    maxInflightMessages: int('maxInflightMessages', 1, 2 ** 31 - 1),
    maxInflightBytes: int('maxInflightBytes', 1024, Number.MAX_SAFE_INTEGER),
    maxInflightPerConnection: int('maxInflightPerConnection', 1, 2 ** 31 - 1),
    maxInflightBytesPerConnection: int('maxInflightBytesPerConnection', 1024, Number.MAX_SAFE_INTEGER),
    inflightLowWater: readFraction(section['inflightLowWater'], 'limits.inflightLowWater', problems, defaults.inflightLowWater),
    qos0Overload: readOneOf(section['qos0Overload'], 'limits.qos0Overload', QOS0_OVERLOAD, problems, defaults.qos0Overload),
    connectTimeoutSeconds: int('connectTimeoutSeconds', 1, Math.floor(MAX_TIMER_MS / 1000)),
    maxConnections: int('maxConnections', 0, 2 ** 31 - 1),
    maxConnectionsPerAddress: int('maxConnectionsPerAddress', 0, 2 ** 31 - 1),
    maxConnectionsPerPublicAddress: int('maxConnectionsPerPublicAddress', 0, 2 ** 31 - 1),
    // MQTT-3.1.3-5: a server must accept client ids of 1 to 23 characters; 65535 is the field's size.
    maxClientIdLength: int('maxClientIdLength', 23, 65535),
    minKeepAliveSeconds: int('minKeepAliveSeconds', 0, 65535),
    maxKeepAliveSeconds: int('maxKeepAliveSeconds', 1, 65535),
    publishRatePerSecond: int('publishRatePerSecond', 0, 10_000_000),
    publishRateBurst: int('publishRateBurst', 0, 10_000_000),
  };
  if (limits.minKeepAliveSeconds > limits.maxKeepAliveSeconds) {
    problems.report('limits.minKeepAliveSeconds', `must not exceed maxKeepAliveSeconds (${limits.maxKeepAliveSeconds})`);
  }
  if (section['publishRateBurst'] !== undefined && limits.publishRatePerSecond === 0) {
    problems.report('limits.publishRateBurst', 'has no effect without limits.publishRatePerSecond');
  }
  return limits;
}

/** A number from 0 (inclusive) to 1 (exclusive). */
function readFraction(value: unknown, path: string, problems: Problems, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && value >= 0 && value < 1) return value;
  problems.report(path, `expected a number from 0 up to (not including) 1, got ${describeValue(value)}`);
  return fallback;
}

function readLogLevel(value: unknown, path: string, problems: Problems): LogLevel {
  return readOneOf(value, path, LOG_LEVELS, problems, DEFAULTS.log.level);
}

function readLog(value: unknown, problems: Problems): LogConfig {
  const section = readSection(value, 'log', LOG_KEYS, problems);
  return { level: readLogLevel(section['level'], 'log.level', problems) };
}
