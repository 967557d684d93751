/**
 * MQTT topic templates of delivery rules (Kafka record -> MQTT topic), parsed once.
 *
 * Syntax, the same escapes as the ingest templates:
 * - `${key}`          the record's key as UTF-8 text
 * - `${topic}`        the Kafka topic the record was read from
 * - `${partition}`    its partition number
 * - `${header.NAME}`  the (last) value of header NAME as UTF-8 text
 * - `$$`              a literal `$` (as in `$$aws/things/${key}`)
 * Any other `$` is an error, so that a typo such as `$key` never becomes literal text. The fixed
 * text must be possible in an MQTT topic name: no `+` or `#` (they are wildcards, and a topic name
 * must not contain them [MQTT-3.3.2-2]), no U+0000, no lone surrogate, at most 65,535 UTF-8 bytes.
 *
 * Here, below config, so that the loader checks templates itself; the delivery router renders them.
 */

export type MqttTopicTemplatePart =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'key' }
  | { readonly kind: 'topic' }
  | { readonly kind: 'partition' }
  | { readonly kind: 'header'; readonly name: string };

/** The placeholders, as written in messages. */
export const MQTT_TOPIC_TEMPLATE_NAMES = ['key', 'topic', 'partition', 'header.NAME'] as const;

export type MqttTopicTemplateParse =
  | { readonly ok: true; readonly parts: readonly MqttTopicTemplatePart[] }
  | { readonly ok: false; readonly problem: string };

const HEADER_PREFIX = 'header.';
const MAX_TOPIC_BYTES = 65_535;

function failure(problem: string): { ok: false; problem: string } {
  return { ok: false, problem };
}

/** A placeholder's name, or why it is none. */
function placeholder(name: string): MqttTopicTemplatePart | string {
  if (name === 'key' || name === 'topic' || name === 'partition') return { kind: name };
  if (name.startsWith(HEADER_PREFIX)) {
    const header = name.slice(HEADER_PREFIX.length);
    return header === '' ? '"${header.}" names no header: write ${header.NAME}' : { kind: 'header', name: header };
  }
  const known = MQTT_TOPIC_TEMPLATE_NAMES.map((known) => `\${${known}}`).join(', ');
  const lower = name.toLowerCase();
  const close = ['key', 'topic', 'partition'].find((known) => known === lower);
  const hint = close !== undefined ? `; did you mean \${${close}}?` : lower.startsWith('headers.') ? `; did you mean \${header.${name.slice(8)}}?` : '';
  return `unknown placeholder \${${name}} (known: ${known})${hint}`;
}

/** Why the fixed text can never be part of an MQTT topic name, or undefined. */
function literalProblem(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2b || c === 0x23) {
      const char = String.fromCharCode(c);
      return `the text contains '${char}', a wildcard, which an MQTT topic name cannot contain: no record could be delivered`;
    }
    if (c === 0) return 'the text contains U+0000, which an MQTT topic name cannot contain';
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else return 'the text contains a lone surrogate (not well-formed UTF-8)';
    }
  }
  return undefined;
}

/** Parses a template; the problem names the place in it, the caller adds file and rule. */
export function parseMqttTopicTemplate(source: string): MqttTopicTemplateParse {
  if (source === '') return failure('an empty template gives no MQTT topic; leave mqttTopic out to deliver by the mqtt.topic header');
  const parts: MqttTopicTemplatePart[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') parts.push({ kind: 'literal', text: literal });
    literal = '';
  };
  let i = 0;
  while (i < source.length) {
    const char = source[i]!;
    if (char !== '$') {
      literal += char;
      i++;
    } else if (source[i + 1] === '$') {
      literal += '$';
      i += 2;
    } else if (source[i + 1] === '{') {
      const close = source.indexOf('}', i + 2);
      if (close === -1) return failure(`unterminated "\${" at character ${i + 1}`);
      const part = placeholder(source.slice(i + 2, close));
      if (typeof part === 'string') return failure(part);
      flush();
      parts.push(part);
      i = close + 1;
    } else {
      return failure(`a lone '$' at character ${i + 1}: write $$ for a literal '$', or \${key}, \${topic}, \${partition}, \${header.NAME}`);
    }
  }
  flush();
  let fixedBytes = 0;
  for (const part of parts) {
    if (part.kind !== 'literal') continue;
    const problem = literalProblem(part.text);
    if (problem !== undefined) return failure(problem);
    fixedBytes += Buffer.byteLength(part.text, 'utf8');
  }
  if (fixedBytes > MAX_TOPIC_BYTES) return failure(`the fixed text alone is longer than ${MAX_TOPIC_BYTES} UTF-8 bytes, the most an MQTT topic name can have`);
  return { ok: true, parts };
}
