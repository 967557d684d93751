import type { MappingRuleConfig, UnmappedConfig } from '../config/types.js';

/** A Kafka topic the proxy writes to whatever the MQTT topic: known before the first message. */
export interface StaticTopic {
  /** The rule that targets it (`unmapped` for `unmapped.topic`). */
  readonly rule: string;
  readonly topic: string;
}

/**
 * Target topics without placeholders. A Kafka topic cannot contain `$`, so a topic template
 * without `$` renders to itself; any `$` is a placeholder (or `$$`, which no legal topic holds).
 */
export function staticTopics(mappings: readonly MappingRuleConfig[], unmapped: UnmappedConfig): StaticTopic[] {
  const found: StaticTopic[] = [];
  for (const rule of mappings) if (!rule.topic.includes('$')) found.push({ rule: rule.name, topic: rule.topic });
  if (unmapped.action === 'topic') found.push({ rule: 'unmapped', topic: unmapped.topic });
  return found;
}

/** The static targets that are not among the topics Kafka listed. */
export function missingTopics(targets: readonly StaticTopic[], existing: Iterable<string>): StaticTopic[] {
  const present = new Set(existing);
  return targets.filter((target) => !present.has(target.topic));
}
