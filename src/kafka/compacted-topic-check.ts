import type { Logger } from 'pino';
import { ensureCompactedTopic, TopicNotCompactedError, type CompactedTopicOutcome } from './compacted-topic.js';
import type { KafkaConnectionOptions } from './connection-options.js';
import { errorChain } from './errors.js';
import { Backoff, describeCause } from './reader-health.js';

export type CheckOutcome = CompactedTopicOutcome | 'unreachable' | TopicNotCompactedError;

export interface CompactedTopicCheckOptions {
  readonly topic: string;
  readonly connection: KafkaConnectionOptions;
  readonly logger: Logger;
  /** For log lines: `retained messages`, `sessions`. */
  readonly what: string;
  readonly retryMs?: { readonly first: number; readonly max: number };
  readonly closed: () => boolean;
  /** The first attempt's outcome (`unreachable` when Kafka did not answer it), once. */
  readonly report: (outcome: CheckOutcome) => void;
}

/**
 * Makes sure a state topic exists compacted, retrying until Kafka answers: resolves true once it
 * does, false when closed first; throws the TopicNotCompactedError of a topic that exists without
 * compaction (a configuration error, not retried).
 */
export async function checkCompactedTopic(options: CompactedTopicCheckOptions): Promise<boolean> {
  const { topic, connection, logger, what } = options;
  const backoff = new Backoff(options.retryMs?.first ?? 200, options.retryMs?.max ?? 5000);
  let attempts = 0;
  while (!options.closed()) {
    try {
      const outcome = await ensureCompactedTopic(connection, topic);
      if (outcome === 'created') logger.info({ topic }, `${what}: topic created (cleanup.policy=compact)`);
      options.report(outcome);
      return true;
    } catch (error) {
      if (error instanceof TopicNotCompactedError) {
        logger.error({ topic, cleanupPolicy: error.cleanupPolicy }, error.message);
        options.report(error);
        throw error;
      }
      if (attempts++ === 0) {
        // Not allowed to create it: say how it is made, once; the check goes on (someone may create it).
        const denied = errorChain(error).some((e) => typeof e.apiId === 'string' && e.apiId.endsWith('AUTHORIZATION_FAILED'));
        if (denied) logger.error({ topic }, `${what}: not allowed to create or describe ${topic}; create it compacted (kafka-topics.sh --create --topic ${topic} --config cleanup.policy=compact; mqtt-kafka-proxy topics prints the commands for the whole config) or grant the proxy's principal Create and DescribeConfigs on it`);
        else logger.warn({ topic, cause: describeCause(error) }, `${what}: cannot check the topic yet; retrying`);
        options.report('unreachable');
      }
      await new Promise((resolve) => setTimeout(resolve, backoff.fail()));
    }
  }
  return false;
}
