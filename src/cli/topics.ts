// `mqtt-kafka-proxy topics`: the kafka-topics commands that create the topics a config needs, for
// clusters where the proxy may not create topics itself (or where they are made ahead). Pure.
import type { ProxyConfig } from '../config/types.js';

export interface TopicNeed {
  readonly topic: string;
  readonly compacted: boolean;
  /** Why the config needs it: `retained.topic`, `mappings[0] "telemetry"`, ... */
  readonly why: string;
}

/** Every Kafka topic the config names, each once, in the file's order; templated ones are left out (listed in `templated`). */
export function topicNeeds(config: ProxyConfig): { needs: TopicNeed[]; templated: string[] } {
  const needs: TopicNeed[] = [];
  const templated: string[] = [];
  const add = (topic: string, compacted: boolean, why: string): void => {
    if (!needs.some((n) => n.topic === topic)) needs.push({ topic, compacted, why });
  };
  config.mappings.forEach((rule, i) => {
    if (rule.topic.includes('${')) templated.push(`mappings[${i}] "${rule.name}": ${rule.topic}`);
    else add(rule.topic, false, `mappings[${i}] "${rule.name}"`);
  });
  if (config.unmapped.action === 'topic') add(config.unmapped.topic, false, 'unmapped.topic');
  config.delivery.forEach((rule, i) => add(rule.kafka, false, `delivery[${i}] "${rule.name}"`));
  if (config.retained.enabled) add(config.retained.topic, true, 'retained.topic');
  if (config.sessions.enabled && config.delivery.length > 0) add(config.sessions.topic, true, 'sessions.topic');
  return { needs, templated };
}

/** The commands, one per topic, with a comment line saying what needs it. */
export function topicCommandsText(config: ProxyConfig): string {
  const { needs, templated } = topicNeeds(config);
  const bootstrap = config.kafka.brokers.join(',');
  const lines = [
    `# Kafka topics named by ${config.source}. The proxy creates the compacted ones (retained.topic, sessions.topic)`,
    '# when it may; partitions and replication are the broker defaults: add --partitions and --replication-factor.',
  ];
  for (const need of needs) {
    lines.push(`# ${need.why}`);
    lines.push(`kafka-topics.sh --bootstrap-server ${bootstrap} --create --if-not-exists --topic ${need.topic}${need.compacted ? ' --config cleanup.policy=compact' : ''}`);
  }
  for (const rule of templated) lines.push(`# ${rule}: a template; the topics it makes cannot be listed here`);
  return `${lines.join('\n')}\n`;
}
