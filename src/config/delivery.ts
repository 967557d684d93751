/**
 * The delivery side (Kafka -> devices): `delivery`, the rules saying which Kafka topics feed
 * subscriptions and how a record becomes an MQTT message, and `retained`, where retained messages
 * live. Checked completely here, templates included (their parser lives in common, below config),
 * so a broken rule is a load error naming the file and the rule, never a per-record surprise.
 */
import { kafkaTopicProblem } from '../common/kafka-topic.js';
import { parseMqttTopicTemplate } from '../common/mqtt-topic-template.js';
import { deepFreeze } from './freeze.js';
import { checkKeys, describeValue, isPlainObject, readBoolean, readKafkaTopicName, readRequiredString, readSection, type Problems } from './readers.js';

export interface DeliveryRuleConfig {
  /** Unique; defaults to `delivery[i]`. */
  readonly name: string;
  /** A Kafka topic name (exact, validated as one). */
  readonly kafka: string;
  /** Template for the MQTT topic: ${key}, ${topic} (Kafka topic), ${partition}, ${header.NAME}
   *  (UTF-8 header value). Absent: only records carrying an `mqtt.topic` header are delivered. */
  readonly mqttTopic: string | undefined;
  /** The highest QoS a record of this rule is delivered with [2]. */
  readonly qos: 0 | 1 | 2;
}

export interface RetainedConfig {
  /** Compacted topic keyed by MQTT topic; an empty (or null) value clears it [mqtt.retained]. */
  readonly topic: string;
  /** false: retained messages are off (CONNACK Retain Available 0) [true]. */
  readonly enabled: boolean;
}

export const DELIVERY_QOS_DEFAULT = 2;
export const RETAINED_DEFAULTS: RetainedConfig = deepFreeze<RetainedConfig>({ topic: 'mqtt.retained', enabled: true });

const RULE_KEYS = ['name', 'kafka', 'mqttTopic', 'qos'] as const;
const RETAINED_KEYS = ['topic', 'enabled'] as const;
const RULE_SHAPE = '{ name, kafka, mqttTopic, qos }';

/** Where a rule lives, for messages: `delivery[1] "commands"`, or `delivery[1]` when it has no name of its own. */
export function deliveryRulePath(index: number, name: string | undefined): string {
  return name === undefined ? `delivery[${index}]` : `delivery[${index}] ${JSON.stringify(name)}`;
}

/** The `delivery` list; [] when absent. */
export function readDelivery(value: unknown, problems: Problems): DeliveryRuleConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.report('delivery', `expected a list of delivery rules (${RULE_SHAPE}), got ${describeValue(value)}`);
    return [];
  }
  const rules: DeliveryRuleConfig[] = [];
  const pathByName = new Map<string, string>();
  const pathByKafkaTopic = new Map<string, string>();
  value.forEach((item: unknown, index) => {
    const rule = readRule(item, index, problems);
    if (rule === undefined) return;
    const path = deliveryRulePath(index, rule.name);
    const sameName = pathByName.get(rule.name);
    if (sameName !== undefined) problems.report(`${path}.name`, `duplicate rule name: ${sameName} is also named ${JSON.stringify(rule.name)}`);
    else pathByName.set(rule.name, `delivery[${index}]`);
    // One rule per Kafka topic: which rule turns a record into an MQTT message is never a question of order.
    const sameTopic = pathByKafkaTopic.get(rule.kafka);
    if (sameTopic !== undefined) problems.report(`${path}.kafka`, `${sameTopic} already reads Kafka topic ${rule.kafka}: one rule per Kafka topic`);
    else pathByKafkaTopic.set(rule.kafka, path);
    rules.push(rule);
  });
  return rules;
}

function readRule(item: unknown, index: number, problems: Problems): DeliveryRuleConfig | undefined {
  if (!isPlainObject(item)) {
    problems.report(`delivery[${index}]`, `expected a delivery rule (${RULE_SHAPE}), got ${describeValue(item)}`);
    return undefined;
  }
  const rawName = item['name'];
  let name: string | undefined;
  if (typeof rawName === 'string' && rawName !== '') name = rawName;
  else if (rawName !== undefined) problems.report(`delivery[${index}].name`, `expected a non-empty rule name, got ${describeValue(rawName)}`);
  const path = deliveryRulePath(index, name);
  checkKeys(item, RULE_KEYS, path, problems);
  const kafka = readKafkaTopic(item, path, problems);
  const mqttTopic = readTemplate(item['mqttTopic'], `${path}.mqttTopic`, problems);
  const qos = readQos(item['qos'], `${path}.qos`, problems);
  if (kafka === undefined || mqttTopic === null || qos === undefined || (rawName !== undefined && name === undefined)) return undefined;
  return { name: name ?? `delivery[${index}]`, kafka, mqttTopic, qos };
}

function readKafkaTopic(item: Record<string, unknown>, path: string, problems: Problems): string | undefined {
  const kafka = readRequiredString(item, 'kafka', path, problems, 'the Kafka topic this rule reads');
  if (kafka === undefined) return undefined;
  const problem = kafkaTopicProblem(kafka);
  if (problem === null) return kafka;
  problems.report(`${path}.kafka`, problem);
  return undefined;
}

/** undefined: absent (deliver by the mqtt.topic header); null: a problem was reported. */
function readTemplate(value: unknown, path: string, problems: Problems): string | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    problems.report(path, `expected an MQTT topic template such as 'devices/\${key}/commands', got ${describeValue(value)}`);
    return null;
  }
  const parsed = parseMqttTopicTemplate(value);
  if (parsed.ok) return value;
  problems.report(path, `${parsed.problem} (in ${JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value)})`);
  return null;
}

function readQos(value: unknown, path: string, problems: Problems): 0 | 1 | 2 | undefined {
  if (value === undefined) return DELIVERY_QOS_DEFAULT;
  if (value === 0 || value === 1 || value === 2) return value;
  problems.report(path, `expected 0, 1 or 2 (the highest QoS records of this rule are delivered with), got ${describeValue(value)}`);
  return undefined;
}

/** The `retained` section. */
export function readRetained(value: unknown, problems: Problems): RetainedConfig {
  const section = readSection(value, 'retained', RETAINED_KEYS, problems);
  const topic = readKafkaTopicName(section['topic'], 'retained.topic', problems, RETAINED_DEFAULTS.topic);
  return { topic, enabled: readBoolean(section['enabled'], 'retained.enabled', problems, RETAINED_DEFAULTS.enabled) };
}

/** The retained topic holds the store's own records: delivering them as messages would be wrong. */
export function checkRetainedTopic(delivery: readonly DeliveryRuleConfig[], retained: RetainedConfig, problems: Problems): void {
  const index = delivery.findIndex((rule) => rule.kafka === retained.topic);
  if (index === -1) return;
  problems.report(
    `${deliveryRulePath(index, delivery[index]!.name)}.kafka`,
    `${retained.topic} is retained.topic, where retained messages are stored; a delivery rule cannot read it`,
  );
}
