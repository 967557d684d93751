/**
 * The ingest rules: `mappings` (ordered, first match wins), Confluent's `topic.regex.list` (appended
 * after them) and `unmapped`. This module checks their shape; their regexes and templates are the
 * router's to compile (src/mapping), handed in as a {@link RuleSetCheck}.
 */
import { ConfigError } from './errors.js';
import { deepFreeze } from './freeze.js';
import { checkKeys, describeValue, isPlainObject, readRequiredString, type Problems } from './readers.js';
import { parseTopicRegexList, TOPIC_REGEX_LIST_KEY } from './topic-regex-list.js';

export interface MappingRuleConfig {
  /** Unique rule name, used in logs and metrics. */
  readonly name: string;
  /** JavaScript regular expression source, matched against the whole MQTT topic as written. */
  readonly match: string;
  /** Kafka topic template. */
  readonly topic: string;
  /** Kafka key template; `null` = no key. Default `${topic}`. */
  readonly key: string | null;
}

export type UnmappedConfig = { readonly action: 'reject' } | { readonly action: 'topic'; readonly topic: string };

/** The rules as a whole, named by the file they came from. */
export interface RuleSet {
  readonly source: string;
  readonly mappings: readonly MappingRuleConfig[];
  readonly unmapped: UnmappedConfig;
}

/**
 * Compiles a rule set the way the proxy will use it, so regex and template mistakes are reported at
 * load time, naming the rule. Throws ConfigError listing every problem.
 */
export type RuleSetCheck = (rules: RuleSet) => void;

/** Key template of a mapping rule without a `key`. */
export const MAPPING_KEY_DEFAULT = '${topic}';
/** `unmapped` when absent: reject, as in the sample config. */
export const UNMAPPED_DEFAULT: UnmappedConfig = deepFreeze<UnmappedConfig>({ action: 'reject' });

const MAPPING_KEYS = ['name', 'match', 'topic', 'key'] as const;
const UNMAPPED_KEYS = ['topic'] as const;

/** What `mappings`, `topic.regex.list` and `unmapped` say, in the order the router applies them. */
export function readRules(raw: Record<string, unknown>, check: RuleSetCheck | undefined, problems: Problems): Omit<RuleSet, 'source'> {
  const before = problems.list.length;
  const mappings = readMappings(raw['mappings'], problems);
  const regexListRules = readTopicRegexList(raw[TOPIC_REGEX_LIST_KEY], problems);
  const unmapped = readUnmapped(raw['unmapped'], problems);
  const rules = [...mappings, ...regexListRules];
  // A proxy that only delivers (commands from Kafka to devices) needs no ingest rule.
  const delivers = Array.isArray(raw['delivery']) && raw['delivery'].length > 0;
  // Rules with a malformed shape were dropped above; the rest are still compiled so their regex
  // and template mistakes are reported in the same round.
  checkRouting({ source: problems.file, mappings: rules, unmapped }, problems.list.length === before && !delivers, check, problems);
  return { mappings: rules, unmapped };
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
  if (value === undefined) return MAPPING_KEY_DEFAULT;
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
  if (value === undefined || value === null) return UNMAPPED_DEFAULT;
  if (value === 'reject') return { action: 'reject' };
  if (isPlainObject(value)) {
    checkKeys(value, UNMAPPED_KEYS, 'unmapped', problems);
    const topic = readRequiredString(value, 'topic', 'unmapped', problems, 'the Kafka topic for topics no rule matches');
    return topic === undefined ? UNMAPPED_DEFAULT : { action: 'topic', topic };
  }
  const hint = typeof value === 'string' ? `; to send them to Kafka topic ${value} write unmapped: { topic: ${value} }` : '';
  problems.report('unmapped', `expected reject or { topic: NAME }, got ${describeValue(value)}${hint}`);
  return UNMAPPED_DEFAULT;
}

function checkRouting(rules: RuleSet, needsRules: boolean, check: RuleSetCheck | undefined, problems: Problems): void {
  // With malformed rules dropped, "no rules" would only repeat those problems.
  if (needsRules && rules.mappings.length === 0 && rules.unmapped.action === 'reject') {
    problems.report(
      'mappings',
      `no mapping rules, so every PUBLISH would be rejected: add rules under mappings (or ${TOPIC_REGEX_LIST_KEY}), ` +
        'or send unmatched topics to Kafka with unmapped: { topic: NAME } (a proxy that only delivers from Kafka needs delivery rules instead)',
    );
  }
  if (check === undefined) return;
  try {
    check(rules);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.addAll(error.problems);
  }
}
