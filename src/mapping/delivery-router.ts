/**
 * The delivery router: a Kafka record -> the MQTT message subscribers get (topic, QoS, retain flag,
 * publisher, MQTT 5 properties, expiry). Pure, compiled once from the `delivery` rules; one rule
 * per Kafka topic, looked up by name.
 *
 * The topic: the record's own `mqtt.topic` header when it has one (every record the proxy wrote
 * from a PUBLISH does, so a device's message keeps its topic through Kafka), else the rule's
 * template. A key or header value with `/` in it makes more levels; one with `+`, `#` or U+0000,
 * or that is not UTF-8, gives no topic ('bad-topic'): a record never reaches a topic nobody
 * subscribed to by a wildcard sneaking in.
 */
import { ConfigError, type ConfigProblem } from '../config/errors.js';
import type { DeliveryRuleConfig } from '../config/types.js';
import { kafkaTopicProblem } from '../common/kafka-topic.js';
import { parseMqttTopicTemplate } from '../common/mqtt-topic-template.js';
import { readRecordHeaders, type RecordMetadata } from './delivery-headers.js';
import { compileParts, renderTopic, type CompiledPart } from './delivery-template.js';
import { templateMayMatch } from './filter-overlap.js';
import { mqttTopicName, quoted } from './mqtt-text.js';
import type { DeliveryInput, DeliveryRejection, DeliveryResult, DeliveryRoute } from './types.js';

export type { DeliveryInput, DeliveryRejection, DeliveryResult, DeliveryRoute } from './types.js';

export interface DeliveryRouter {
  /** Kafka topics the rules read (each once), in rule order. */
  readonly kafkaTopics: readonly string[];
  /** Every rule name, in order; for metrics. */
  readonly ruleNames: readonly string[];
  route(input: DeliveryInput): DeliveryResult;
  /**
   * Could a record of `kafkaTopic` be delivered on a topic `filter` (valid, unshared) matches?
   * Conservative: true when the rule has no template (it delivers by mqtt.topic, any topic). For a
   * rule with a template, whether the template can render a topic the filter matches. Lets a
   * replica read a delivery topic only while some local subscription can match it.
   */
  mayServe(kafkaTopic: string, filter: string): boolean;
}

interface CompiledDeliveryRule {
  readonly name: string;
  readonly kafka: string;
  readonly qos: 0 | 1 | 2;
  /** undefined: no template, only records with an mqtt.topic header. */
  readonly template: readonly CompiledPart[] | undefined;
}

/**
 * Compiles the rules; `source` names the configuration in errors. Rules from a loaded
 * configuration were checked already; rules built in code get the same checks here, and a
 * ConfigError listing every problem.
 */
export function compileDeliveryRouter(rules: readonly DeliveryRuleConfig[], source = '<inline>'): DeliveryRouter {
  const problems: ConfigProblem[] = [];
  const compiled = new Map<string, CompiledDeliveryRule>();
  rules.forEach((rule, index) => {
    const path = `delivery[${index}] ${JSON.stringify(rule.name)}`;
    const topicProblem = kafkaTopicProblem(rule.kafka);
    if (topicProblem !== null) problems.push({ file: source, path: `${path}.kafka`, problem: topicProblem });
    if (compiled.has(rule.kafka)) problems.push({ file: source, path: `${path}.kafka`, problem: `another rule already reads Kafka topic ${rule.kafka}` });
    let template: CompiledPart[] | undefined;
    if (rule.mqttTopic !== undefined) {
      const parsed = parseMqttTopicTemplate(rule.mqttTopic);
      if (parsed.ok) template = compileParts(parsed.parts, rule.kafka);
      else problems.push({ file: source, path: `${path}.mqttTopic`, problem: parsed.problem });
    }
    if (!compiled.has(rule.kafka)) compiled.set(rule.kafka, { name: rule.name, kafka: rule.kafka, qos: rule.qos, template });
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return new CompiledDeliveryRouter(compiled);
}

function reject(reason: DeliveryRejection['reason'], rule: string | undefined, detail: string): DeliveryRejection {
  return { ok: false, reason, rule, detail };
}

function where(input: DeliveryInput): string {
  return `record of ${input.kafkaTopic} partition ${input.partition}`;
}

class CompiledDeliveryRouter implements DeliveryRouter {
  readonly kafkaTopics: readonly string[];
  readonly ruleNames: readonly string[];

  constructor(private readonly rules: ReadonlyMap<string, CompiledDeliveryRule>) {
    this.kafkaTopics = Object.freeze([...rules.keys()]);
    this.ruleNames = Object.freeze([...rules.values()].map((rule) => rule.name));
  }

  route(input: DeliveryInput): DeliveryResult {
    const rule = this.rules.get(input.kafkaTopic);
    if (rule === undefined) return reject('no-rule', undefined, `no delivery rule reads Kafka topic ${input.kafkaTopic}`);
    const metadata = readRecordHeaders(input.headers);
    const topic = this.topicOf(rule, metadata, input);
    if (typeof topic !== 'string') return topic;
    const qos = metadata.qos === undefined || metadata.qos > rule.qos ? rule.qos : metadata.qos;
    const interval = metadata.properties?.messageExpiryInterval;
    const route: DeliveryRoute = {
      rule: rule.name,
      mqttTopic: topic,
      qos,
      retain: metadata.retain,
      originClientId: metadata.clientId,
      properties: metadata.properties,
      expiresAt: interval === undefined ? undefined : input.timestamp + interval * 1000,
    };
    return { ok: true, route };
  }

  mayServe(kafkaTopic: string, filter: string): boolean {
    const rule = this.rules.get(kafkaTopic);
    if (rule === undefined) return false;
    return rule.template === undefined || templateMayMatch(rule.template, filter);
  }

  private topicOf(rule: CompiledDeliveryRule, metadata: RecordMetadata, input: DeliveryInput): string | DeliveryRejection {
    const header = metadata.mqttTopic;
    if (header !== undefined) {
      if (header === null) return reject('bad-topic', rule.name, `${where(input)}: its mqtt.topic header is null`);
      const named = mqttTopicName(header);
      if ('topic' in named) return named.topic;
      return reject('bad-topic', rule.name, `${where(input)}: its mqtt.topic header ${named.problem}`);
    }
    if (rule.template === undefined) {
      return reject('no-topic', rule.name, `${where(input)}: rule ${quoted(rule.name)} has no mqttTopic template and the record no mqtt.topic header`);
    }
    const rendered = renderTopic(rule.template, input);
    if ('topic' in rendered) return rendered.topic;
    return reject(rendered.reason, rule.name, `${where(input)}: rule ${quoted(rule.name)}: ${rendered.detail}`);
  }
}
