/**
 * Kafka topic name legality, exactly as the broker checks it (org.apache.kafka.common.internals.Topic):
 * 1..249 characters of [a-zA-Z0-9._-], and not `.` or `..`.
 */

export const MAX_KAFKA_TOPIC_LENGTH = 249;

/** 1 for each char code Kafka accepts in a topic name; a table lookup beats a regex on the hot path. */
const LEGAL_TOPIC_CHAR = new Uint8Array(128);
for (const char of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-') {
  LEGAL_TOPIC_CHAR[char.charCodeAt(0)] = 1;
}

export function isLegalKafkaTopicChar(charCode: number): boolean {
  return charCode < 128 && LEGAL_TOPIC_CHAR[charCode] === 1;
}

/** Index of the first character Kafka refuses in a topic name, or -1 when every character is legal. */
export function firstIllegalKafkaTopicChar(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || LEGAL_TOPIC_CHAR[code] !== 1) return i;
  }
  return -1;
}

/** True when Kafka accepts `name` as a topic. Allocation-free; use on the hot path. */
export function isLegalKafkaTopic(name: string): boolean {
  const length = name.length;
  if (length === 0 || length > MAX_KAFKA_TOPIC_LENGTH) return false;
  if (length <= 2 && (name === '.' || name === '..')) return false;
  return firstIllegalKafkaTopicChar(name) === -1;
}

/** Describes a character for a message: printable ones quoted, the rest as a code point. */
export function describeChar(text: string, index: number): string {
  const codePoint = text.codePointAt(index) ?? 0;
  const char = String.fromCodePoint(codePoint);
  return codePoint > 0x20 && codePoint !== 0x7f ? JSON.stringify(char) : `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why Kafka would refuse `name` as a topic, or null when it would accept it. */
export function kafkaTopicProblem(name: string): string | null {
  if (name.length === 0) return 'a Kafka topic name cannot be empty';
  if (name === '.' || name === '..') return `a Kafka topic name cannot be "${name}"`;
  if (name.length > MAX_KAFKA_TOPIC_LENGTH) {
    return `a Kafka topic name has at most ${MAX_KAFKA_TOPIC_LENGTH} characters, this one has ${name.length}`;
  }
  const bad = firstIllegalKafkaTopicChar(name);
  if (bad !== -1) {
    return `a Kafka topic name may only contain letters, digits, '.', '_' and '-', not ${describeChar(name, bad)} (at character ${bad + 1})`;
  }
  return null;
}
