import type { Admin } from '@platformatic/kafka';
import { clientOptions, type KafkaConnectionOptions } from './connection-options.js';
import { errorChain } from './errors.js';

/** A topic the proxy keeps state in exists without `cleanup.policy=compact`: its values would be deleted by retention. */
export class TopicNotCompactedError extends Error {
  override readonly name = 'TopicNotCompactedError';

  constructor(
    readonly topic: string,
    readonly cleanupPolicy: string,
  ) {
    super(`Kafka topic ${topic} exists with cleanup.policy=${cleanupPolicy}; it must be compacted (cleanup.policy=compact): change it (kafka-configs --alter --add-config cleanup.policy=compact) or name another topic`);
  }
}

export type CompactedTopicOutcome = 'created' | 'exists';

// A DescribeConfigs resource type (ConfigResourceTypes.TOPIC), as a literal: the library's
// enumeration lives in a module the proxy loads only on first use.
const TOPIC_RESOURCE = 2;

/**
 * Makes sure `topic` exists and is compacted: created (cleanup.policy=compact, the broker's
 * default partitions and replication) when absent; a TopicNotCompactedError when it exists with a
 * cleanup policy that leaves compaction out. Two replicas creating it at once both succeed.
 * Rejects with the client's error when Kafka does not answer.
 */
export async function ensureCompactedTopic(connection: KafkaConnectionOptions, topic: string): Promise<CompactedTopicOutcome> {
  const { Admin } = await import('@platformatic/kafka');
  const admin = new Admin(clientOptions(connection));
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) {
      try {
        await admin.createTopics({ topics: [topic], configs: [{ name: 'cleanup.policy', value: 'compact' }] });
        return 'created';
      } catch (error) {
        if (!errorChain(error).some((e) => e.apiId === 'TOPIC_ALREADY_EXISTS')) throw error;
      }
    }
    const policy = await cleanupPolicy(admin, topic);
    if (!policy.split(',').map((p) => p.trim()).includes('compact')) throw new TopicNotCompactedError(topic, policy);
    return 'exists';
  } finally {
    await admin.close();
  }
}

async function cleanupPolicy(admin: Admin, topic: string): Promise<string> {
  const [description] = await admin.describeConfigs({
    resources: [{ resourceType: TOPIC_RESOURCE, resourceName: topic, configurationKeys: ['cleanup.policy'] }],
  });
  const entry = description?.configs.find((c) => c.name === 'cleanup.policy');
  // Kafka's own default when a topic does not set it.
  return entry?.value ?? 'delete';
}
