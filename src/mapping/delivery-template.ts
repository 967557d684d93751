/**
 * A delivery rule's MQTT topic template, compiled for one Kafka topic: `${topic}` is that topic
 * and is folded into the fixed text at compile time, so rendering concatenates fixed text with
 * the key, the partition and header values, each checked on its own (the fixed text was checked
 * when the configuration was loaded).
 */
import type { MqttTopicTemplatePart } from '../common/mqtt-topic-template.js';
import { lastHeader } from './delivery-headers.js';
import { mqttString, quoted, topicLengthProblem, topicTextProblem } from './mqtt-text.js';
import type { DeliveryInput } from './types.js';

export type CompiledPart =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'key' }
  | { readonly kind: 'partition' }
  | { readonly kind: 'header'; readonly name: string; readonly nameBytes: Buffer };

export type Rendered = { readonly topic: string } | { readonly reason: 'no-topic' | 'bad-topic'; readonly detail: string };

/** The parts with `${topic}` replaced by `kafkaTopic` and neighbouring fixed text joined. */
export function compileParts(parts: readonly MqttTopicTemplatePart[], kafkaTopic: string): CompiledPart[] {
  const compiled: CompiledPart[] = [];
  let literal = '';
  for (const part of parts) {
    if (part.kind === 'literal' || part.kind === 'topic') {
      literal += part.kind === 'literal' ? part.text : kafkaTopic;
      continue;
    }
    if (literal !== '') compiled.push({ kind: 'literal', text: literal });
    literal = '';
    compiled.push(part.kind === 'header' ? { kind: 'header', name: part.name, nameBytes: Buffer.from(part.name) } : part);
  }
  if (literal !== '') compiled.push({ kind: 'literal', text: literal });
  return compiled;
}

/** A key or header value as topic text. */
function valueText(bytes: Buffer | null | undefined, what: string): string | Rendered {
  if (bytes === undefined) return { reason: 'no-topic', detail: `the record has no ${what}` };
  if (bytes === null) return { reason: 'no-topic', detail: `the record's ${what} is null` };
  const text = mqttString(bytes);
  if (text === undefined) return { reason: 'bad-topic', detail: `the record's ${what} is not valid UTF-8 text for an MQTT topic` };
  const problem = topicTextProblem(text);
  return problem === undefined ? text : { reason: 'bad-topic', detail: `the record's ${what} ${quoted(text)} ${problem}` };
}

export function renderTopic(parts: readonly CompiledPart[], input: DeliveryInput): Rendered {
  let topic = '';
  for (const part of parts) {
    let value: string | Rendered;
    switch (part.kind) {
      case 'literal':
        value = part.text;
        break;
      case 'partition':
        value = String(input.partition);
        break;
      case 'key':
        value = valueText(input.key, 'key');
        break;
      case 'header':
        value = valueText(lastHeader(input.headers, part.nameBytes), `header ${part.name}`);
        break;
    }
    if (typeof value !== 'string') return value;
    topic += value;
  }
  const problem = topicLengthProblem(topic);
  return problem === undefined ? { topic } : { reason: 'bad-topic', detail: `the rendered MQTT topic ${problem}` };
}
