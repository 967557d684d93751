/**
 * What `mqtt-kafka-proxy check` and `mqtt-kafka-proxy map` print. Pure: text in, text out.
 */
import { stringify } from 'yaml';
import type { ProxyConfig } from './config/types.js';
import type { DeliveryInput, DeliveryProperties, DeliveryResult, RouteResult } from './mapping/types.js';

/** Shown instead of a secret's value. */
export const MASK = '********';

/**
 * Key names whose values are secrets: passwords, passphrases, secrets, tokens, credentials,
 * private and API keys, in any case and as part of a longer name (`clientSecret`, `jwtToken`,
 * `privateKeyFile` is a path and stays visible: names ending in File/Path/Dir are locations).
 */
const SECRET_KEY = /(password|passwd|passphrase|secret|token|credential|private_?key|api_?key|signing_?key)/i;
const LOCATION_KEY = /(file|path|dir|directory)$/i;

export function isSecretKey(name: string): boolean {
  return SECRET_KEY.test(name) && !LOCATION_KEY.test(name);
}

/** A deep copy with the value of every secret-named key replaced by {@link MASK}. */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = isSecretKey(key) && inner !== null && inner !== undefined && typeof inner !== 'boolean' ? MASK : maskSecrets(inner);
    }
    return out;
  }
  return value;
}

/**
 * The config as the proxy runs it, in the file's own shape (every default filled in), secrets
 * masked. `unmapped` is written back as `reject` or `{ topic }`; rules from `topic.regex.list`
 * appear as mappings named `topic.regex.list[N]`.
 */
export function effectiveConfigView(config: ProxyConfig): Record<string, unknown> {
  const { source: _source, unmapped, ...rest } = config;
  const view = { ...rest, unmapped: unmapped.action === 'reject' ? 'reject' : { topic: unmapped.topic } };
  // Keep the file's order of sections for people reading it.
  const ordered: Record<string, unknown> = {};
  for (const key of ['listeners', 'kafka', 'mappings', 'unmapped', 'delivery', 'retained', 'sessions', 'auth', 'http', 'drain', 'reload', 'limits', 'log']) {
    if (key in view) ordered[key] = (view as Record<string, unknown>)[key];
  }
  for (const [key, value] of Object.entries(view)) if (!(key in ordered)) ordered[key] = value;
  return maskSecrets(ordered) as Record<string, unknown>;
}

export function effectiveConfigText(config: ProxyConfig, format: 'yaml' | 'json'): string {
  const view = effectiveConfigView(config);
  if (format === 'json') return `${JSON.stringify(view, null, 2)}\n`;
  return `# ${config.source}: valid. Effective configuration (defaults filled in, secrets masked):\n${stringify(view, { lineWidth: 0 })}`;
}

/** `map`'s answer for one MQTT topic. */
export function describeRoute(topic: string, route: RouteResult, format: 'text' | 'json'): string {
  if (format === 'json') {
    const body =
      route.kind === 'mapped'
        ? { topic, mapped: true, rule: route.rule, kafkaTopic: route.kafkaTopic, key: route.key }
        : { topic, mapped: false, reason: route.reason, rule: route.rule, detail: route.detail };
    return `${JSON.stringify(body)}\n`;
  }
  if (route.kind === 'mapped') {
    return [
      `MQTT topic:  ${topic}`,
      `rule:        ${route.rule}`,
      `Kafka topic: ${route.kafkaTopic}`,
      `key:         ${route.key === null ? '(none)' : JSON.stringify(route.key)}`,
      '',
    ].join('\n');
  }
  return [
    `MQTT topic:  ${topic}`,
    `rejected:    ${route.reason}${route.rule === null ? '' : ` (rule ${route.rule})`}`,
    `why:         ${route.detail}`,
    '',
  ].join('\n');
}

/** Properties as plain JSON: Correlation Data (bytes) as hex. */
function propertiesView(properties: DeliveryProperties | undefined): Record<string, unknown> | undefined {
  if (properties === undefined) return undefined;
  const { correlationData, userProperties, ...rest } = properties;
  return {
    ...rest,
    ...(correlationData !== undefined && { correlationData: correlationData.toString('hex') }),
    ...(userProperties !== undefined && { userProperties: { ...userProperties } }),
  };
}

/** `map --kafka`'s answer for one record. */
export function describeDelivery(input: DeliveryInput, result: DeliveryResult, format: 'text' | 'json'): string {
  const key = input.key === null ? null : input.key.toString('utf8');
  if (format === 'json') {
    const record = { kafkaTopic: input.kafkaTopic, partition: input.partition, key };
    const body = result.ok
      ? {
          ...record,
          delivered: true,
          rule: result.route.rule,
          mqttTopic: result.route.mqttTopic,
          qos: result.route.qos,
          retain: result.route.retain,
          originClientId: result.route.originClientId ?? null,
          properties: propertiesView(result.route.properties) ?? null,
        }
      : { ...record, delivered: false, reason: result.reason, rule: result.rule ?? null, detail: result.detail };
    return `${JSON.stringify(body)}\n`;
  }
  const head = [`Kafka topic: ${input.kafkaTopic} (partition ${input.partition})`, `key:         ${key === null ? '(none)' : JSON.stringify(key)}`];
  if (!result.ok) {
    return [...head, `not delivered: ${result.reason}${result.rule === undefined ? '' : ` (rule ${result.rule})`}`, `why:         ${result.detail}`, ''].join('\n');
  }
  const { route } = result;
  const properties = propertiesView(route.properties);
  return [
    ...head,
    `rule:        ${route.rule}`,
    `MQTT topic:  ${route.mqttTopic}`,
    `QoS:         at most ${route.qos} (lower when the subscription is)`,
    `retain:      ${route.retain}`,
    `publisher:   ${route.originClientId ?? '(none)'}`,
    `properties:  ${properties === undefined ? '(none)' : JSON.stringify(properties)}`,
    '',
  ].join('\n');
}
