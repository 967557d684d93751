/**
 * Kafka bytes as MQTT text: what may go into an MQTT string (UTF-8 well-formed, no U+0000, at most
 * 65,535 bytes [MQTT-1.5.4-1, MQTT-1.5.4-2, MQTT-1.5.4-3 (5.0)]) and into a topic name (also no
 * wildcard, not empty [MQTT-4.7.3-1, MQTT-3.3.2-2]). Records come from any producer: a value that
 * breaks these rules would make the subscriber close the connection, so it never reaches one.
 */
import { isUtf8 } from 'node:buffer';

const MAX_STRING_BYTES = 65_535;
const PLUS = 0x2b;
const HASH = 0x23;

/** The bytes as an MQTT UTF-8 string, or undefined when they cannot be one. */
export function mqttString(bytes: Buffer): string | undefined {
  if (bytes.length > MAX_STRING_BYTES || !isUtf8(bytes) || bytes.includes(0)) return undefined;
  return bytes.toString('utf8');
}

/** Why `text` cannot be (part of) an MQTT topic name: a wildcard or U+0000 in it; undefined when it can. */
export function topicTextProblem(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === PLUS || c === HASH) return `contains the wildcard ${String.fromCharCode(c)}`;
    if (c === 0) return 'contains U+0000';
  }
  return undefined;
}

/** Why a whole rendered topic is not a topic name (empty, too long), beyond topicTextProblem. */
export function topicLengthProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'is empty';
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most topics need no count.
  if (topic.length * 3 > MAX_STRING_BYTES && Buffer.byteLength(topic, 'utf8') > MAX_STRING_BYTES) return 'is longer than 65,535 UTF-8 bytes';
  return undefined;
}

/** The bytes as a valid MQTT topic name, or why not. */
export function mqttTopicName(bytes: Buffer): { readonly topic: string } | { readonly problem: string } {
  const text = mqttString(bytes);
  if (text === undefined) return { problem: 'is not a valid MQTT string (not UTF-8, U+0000, or over 65,535 bytes)' };
  const problem = topicTextProblem(text) ?? topicLengthProblem(text);
  return problem === undefined ? { topic: text } : { problem };
}

/** Text quoted for a log line, shortened when long. */
export function quoted(text: string, limit = 200): string {
  return text.length <= limit ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, limit))}... (${text.length} characters)`;
}
