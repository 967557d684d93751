/**
 * Reads topic-mappings.yaml into a validated, deeply frozen ProxyConfig.
 *
 * Validation is by hand and strict: unknown keys, wrong types and out-of-range values are errors
 * naming file, path and problem. Every problem is collected and reported together. Rules: a section
 * written with no value (`kafka:`) counts as absent; a scalar written as null is an error (except
 * `mappings[].key`, where null means "no key").
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { compileRouter } from '../mapping/router.js';
import { parseTopicRegexList, TOPIC_REGEX_LIST_KEY } from '../mapping/regex-list.js';
import { DEFAULTS } from './defaults.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { deepFreeze } from './freeze.js';
import { closestKey } from './suggest.js';
import type {
  AcksSetting,
  AuthConfig,
  ConfigOverrides,
  HttpConfig,
  KafkaAcksConfig,
  KafkaCompression,
  KafkaConfig,
  LimitsConfig,
  ListenerConfig,
  ListenerProtocol,
  LogConfig,
  LogLevel,
  MappingRuleConfig,
  ProxyConfig,
  UnmappedConfig,
} from './types.js';

const TOP_LEVEL_KEYS = ['listeners', 'kafka', 'mappings', 'unmapped', 'auth', 'http', 'limits', 'log', TOPIC_REGEX_LIST_KEY] as const;
const LISTENER_KEYS = ['protocol', 'host', 'port'] as const;
const KAFKA_KEYS = [
  'brokers',
  'clientId',
  'acks',
  'lingerMs',
  'batchMaxRecords',
  'batchMaxBytes',
  'requestTimeoutMs',
  'connectionTimeoutMs',
  'compression',
] as const;
const ACKS_KEYS = ['qos0', 'qos1', 'qos2'] as const;
const MAPPING_KEYS = ['name', 'match', 'topic', 'key'] as const;
const UNMAPPED_KEYS = ['topic'] as const;
const AUTH_KEYS = ['anonymous'] as const;
const HTTP_KEYS = ['port'] as const;
const LIMITS_KEYS = ['maxPacketSize', 'maxInflightMessages', 'connectTimeoutSeconds'] as const;
const LOG_KEYS = ['level'] as const;

export const LISTENER_PROTOCOLS: readonly ListenerProtocol[] = ['tcp', 'tls', 'ws', 'wss'];
/** Protocols the listeners can serve today; the others are refused with "not supported yet". */
export const IMPLEMENTED_LISTENER_PROTOCOLS: readonly ListenerProtocol[] = ['tcp'];
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

  let listeners = readListeners(raw['listeners'], problems);
  let kafka = readKafka(raw['kafka'], problems);

  const before = problems.list.length;
  const mappings = readMappings(raw['mappings'], problems);
  const regexListRules = readTopicRegexList(raw[TOPIC_REGEX_LIST_KEY], problems);
  const unmapped = readUnmapped(raw['unmapped'], problems);
  const rules = [...mappings, ...regexListRules];
  // Rules with a malformed shape were dropped above; the rest are still compiled so their regex
  // and template mistakes are reported in the same round.
  checkRouting(rules, unmapped, problems.list.length === before, problems);

  const auth = readAuth(raw['auth'], problems);
  const http = readHttp(raw['http'], problems);
  const limits = readLimits(raw['limits'], problems);
  let log = readLog(raw['log'], problems);

  if (overrides !== undefined) {
    if (overrides.kafkaBrokers !== undefined) {
      kafka = { ...kafka, brokers: readBrokers([...overrides.kafkaBrokers], 'overrides.kafkaBrokers', problems) };
    }
    if (overrides.port !== undefined) {
      const port = readPort(overrides.port, 'overrides.port', 0, problems, DEFAULTS.listener.port);
      listeners = listeners.map((listener, index) => (index === 0 ? { ...listener, port } : listener));
    }
    if (overrides.logLevel !== undefined) log = { level: readLogLevel(overrides.logLevel, 'overrides.logLevel', problems) };
  }
  checkPortClashes(listeners, http, problems);

  if (problems.list.length > 0) throw new ConfigError(problems.list);
  const config: ProxyConfig = { source, listeners, kafka, mappings: rules, unmapped, auth, http, limits, log };
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

function readListeners(value: unknown, problems: Problems): ListenerConfig[] {
  if (value === undefined || value === null) return [DEFAULTS.listener];
  if (!Array.isArray(value)) {
    problems.report('listeners', `expected a list of listeners ({ protocol, host, port }), got ${describeValue(value)}`);
    return [DEFAULTS.listener];
  }
  if (value.length === 0) problems.report('listeners', 'needs at least one listener, or leave the key out for one on 0.0.0.0:1883');
  return value.map((item: unknown, index) => {
    const path = `listeners[${index}]`;
    const entry = readSection(item, path, LISTENER_KEYS, problems);
    const protocol = readOneOf(entry['protocol'], `${path}.protocol`, LISTENER_PROTOCOLS, problems, DEFAULTS.listener.protocol);
    if (!IMPLEMENTED_LISTENER_PROTOCOLS.includes(protocol)) {
      problems.report(
        `${path}.protocol`,
        `${protocol} is not supported yet: only ${IMPLEMENTED_LISTENER_PROTOCOLS.join(', ')} listeners are implemented today`,
      );
    }
    let host = readString(entry['host'], `${path}.host`, problems, DEFAULTS.listener.host, 'a host name or IP address');
    if (/\s/.test(host)) {
      problems.report(`${path}.host`, `a host cannot contain whitespace, got ${JSON.stringify(host)}`);
      host = DEFAULTS.listener.host;
    }
    // 0 = an ephemeral port chosen by the OS (tests use it).
    const port = readPort(entry['port'], `${path}.port`, 0, problems, DEFAULTS.listener.port);
    return { protocol, host, port };
  });
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

function readKafka(value: unknown, problems: Problems): KafkaConfig {
  const section = readSection(value, 'kafka', KAFKA_KEYS, problems);
  const defaults = DEFAULTS.kafka;
  return {
    brokers: readBrokers(section['brokers'], 'kafka.brokers', problems),
    clientId: readString(section['clientId'], 'kafka.clientId', problems, defaults.clientId),
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

const KAFKA_COMPRESSIONS: readonly KafkaCompression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

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

function readAuth(value: unknown, problems: Problems): AuthConfig {
  const before = problems.list.length;
  const section = readSection(value, 'auth', AUTH_KEYS, problems);
  const anonymous = readBoolean(section['anonymous'], 'auth.anonymous', problems, DEFAULTS.auth.anonymous);
  // No other way to authenticate exists yet; when one does, this check must consider it. With a
  // problem in this section already reported (a misspelt `anonymus`), this one would be noise.
  if (!anonymous && problems.list.length === before) {
    const why = section['anonymous'] === undefined ? 'anonymous access is off by default' : 'anonymous access is off';
    problems.report(
      'auth.anonymous',
      `no client could connect: ${why} and no other authentication method is configured; set auth.anonymous: true`,
    );
  }
  return { anonymous };
}

function readHttp(value: unknown, problems: Problems): HttpConfig {
  const section = readSection(value, 'http', HTTP_KEYS, problems);
  // 0 disables the admin HTTP server.
  return { port: readPort(section['port'], 'http.port', 0, problems, DEFAULTS.http.port) };
}

function readLimits(value: unknown, problems: Problems): LimitsConfig {
  const section = readSection(value, 'limits', LIMITS_KEYS, problems);
  const defaults = DEFAULTS.limits;
  return {
    maxPacketSize: readInteger(section['maxPacketSize'], 'limits.maxPacketSize', 1, MAX_MQTT_PACKET_SIZE, problems, defaults.maxPacketSize),
    maxInflightMessages: readInteger(
      section['maxInflightMessages'],
      'limits.maxInflightMessages',
      1,
      2 ** 31 - 1,
      problems,
      defaults.maxInflightMessages,
    ),
    connectTimeoutSeconds: readInteger(
      section['connectTimeoutSeconds'],
      'limits.connectTimeoutSeconds',
      1,
      Math.floor(MAX_TIMER_MS / 1000),
      problems,
      defaults.connectTimeoutSeconds,
    ),
  };
}

function readLogLevel(value: unknown, path: string, problems: Problems): LogLevel {
  return readOneOf(value, path, LOG_LEVELS, problems, DEFAULTS.log.level);
}

function readLog(value: unknown, problems: Problems): LogConfig {
  const section = readSection(value, 'log', LOG_KEYS, problems);
  return { level: readLogLevel(section['level'], 'log.level', problems) };
}
