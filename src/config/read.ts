/**
 * Reads topic-mappings.yaml into a validated, deeply frozen ProxyConfig, one section module at a
 * time (listeners.ts, kafka.ts, mappings.ts, auth.ts, ...).
 *
 * Validation is by hand and strict: unknown keys, wrong types and out-of-range values are errors
 * naming file, path and problem. Every problem is collected and reported together. Rules: a section
 * written with no value (`kafka:`) counts as absent; a scalar written as null is an error (except
 * `mappings[].key`, where null means "no key").
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { readAuth } from './auth.js';
import { checkRetainedTopic, readDelivery, readRetained } from './delivery.js';
import { checkSessionsTopic, readSessions } from './sessions.js';
import { readDrain } from './drain.js';
import { ConfigError } from './errors.js';
import { deepFreeze } from './freeze.js';
import { readHttp } from './http.js';
import { checkClientCompression, readKafka } from './kafka.js';
import { readLimits } from './limits.js';
import { checkPortClashes, readListeners } from './listeners.js';
import { readLog } from './log.js';
import { readRules, type RuleSetCheck } from './mappings.js';
import { applyOverrides } from './overrides.js';
import { checkKeys, describeFileError, describeValue, isPlainObject, Problems } from './readers.js';
import { readReload } from './reload.js';
import { TOPIC_REGEX_LIST_KEY } from './topic-regex-list.js';
import type { ConfigOverrides, ProxyConfig } from './types.js';

export interface ReadConfigOptions {
  readonly overrides?: ConfigOverrides;
  /**
   * Compiles the mapping rules (regexes, templates) in the same round as the rest, so their
   * problems are reported with the others. The router owns that check; without it only the rules'
   * shape is checked.
   */
  readonly checkRules?: RuleSetCheck;
}

const TOP_LEVEL_KEYS = ['listeners', 'kafka', 'mappings', 'unmapped', 'delivery', 'retained', 'sessions', 'auth', 'http', 'drain', 'reload', 'limits', 'log', TOPIC_REGEX_LIST_KEY] as const;

/** `file` is shown in messages as given; ProxyConfig.source is its absolute path. */
export function readConfigFile(file: string, options: ReadConfigOptions = {}): ProxyConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, '', `cannot read the configuration file: ${describeFileError(error)}`, { cause: error });
  }
  return buildConfig(text, file, resolve(file), options);
}

/** Validates configuration text. `source` names it in messages and becomes ProxyConfig.source. */
export function readConfigText(text: string, source: string, options: ReadConfigOptions = {}): ProxyConfig {
  return buildConfig(text, source, source, options);
}

function buildConfig(text: string, displayName: string, source: string, options: ReadConfigOptions): ProxyConfig {
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

  // Sections are read in the file's order, so problems are listed in it too.
  const listeners = readListeners(raw['listeners'], dirname(resolve(source)), problems);
  const kafka = readKafka(raw['kafka'], dirname(resolve(source)), problems);
  const { mappings, unmapped } = readRules(raw, options.checkRules, problems);
  const delivery = readDelivery(raw['delivery'], problems);
  const retained = readRetained(raw['retained'], problems);
  checkRetainedTopic(delivery, retained, problems);
  const sessions = readSessions(raw['sessions'], problems);
  checkSessionsTopic(delivery, retained, sessions, problems);
  const auth = readAuth(raw['auth'], dirname(source), problems);
  const http = readHttp(raw['http'], problems);
  const drain = readDrain(raw['drain'], problems);
  const reload = readReload(raw['reload'], problems);
  const limits = readLimits(raw['limits'], problems);
  const log = readLog(raw['log'], problems);

  const overridden = applyOverrides({ listeners, kafka, http, log }, options.overrides, problems);
  checkClientCompression(overridden.kafka, problems);
  checkPortClashes(overridden.listeners, overridden.http, problems);

  if (problems.list.length > 0) throw new ConfigError(problems.list);
  const config: ProxyConfig = {
    source,
    listeners: overridden.listeners,
    kafka: overridden.kafka,
    mappings,
    unmapped,
    delivery,
    retained,
    sessions,
    auth,
    http: overridden.http,
    drain,
    reload,
    limits,
    log: overridden.log,
  };
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
