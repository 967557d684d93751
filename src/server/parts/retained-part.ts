/**
 * Retained messages (`retained:`): the store on the compacted retained topic, shared by ingest
 * (a PUBLISH with RETAIN 1 is written to it) and delivery (a SUBSCRIBE is sent what it holds).
 * Started before both and stopped after them. A retained topic that exists without compaction stops
 * the proxy from starting; a Kafka that does not answer yet does not: the store keeps trying, and
 * the proxy is not ready until it has read the topic.
 */
import type { ProxyConfig } from '../../config/types.js';
import { TopicNotCompactedError } from '../../kafka/compacted-topic.js';
import { connectionFromConfig } from '../../kafka/config-connection.js';
import type { Readiness } from '../../observability/admin-server.js';
import type { Logger } from '../../observability/logger.js';
import { KafkaRetainedStore, type RetainedStore } from '../../state/retained-store.js';
import type { Part } from '../part.js';

export interface RetainedPart extends Part {
  /** undefined when retained messages are off (`retained.enabled: false`). */
  readonly store: RetainedStore | undefined;
}

export function createRetainedPart(config: ProxyConfig, logger: Logger): RetainedPart {
  if (!config.retained.enabled) return { name: 'retained', store: undefined, start: async () => {}, stop: async () => {} };
  const store = new KafkaRetainedStore({
    topic: config.retained.topic,
    connection: connectionFromConfig(config.kafka, 'retained'),
    logger: logger.child({ component: 'retained' }),
    writeTimeoutMs: config.kafka.requestTimeoutMs,
  });
  return {
    name: 'retained',
    store,
    async start() {
      // The first answer about the topic decides whether the proxy may start; a Kafka that does not
      // answer within the connection timeout is left to the store's retries.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), config.kafka.connectionTimeoutMs)));
      const outcome = await Promise.race([store.start(), late]);
      clearTimeout(timer);
      if (outcome instanceof TopicNotCompactedError) throw new Error(`retained.topic: ${outcome.message}`);
    },
    stop: () => store.close(),
    ready: (): Readiness => readiness(store, config.retained.topic),
  };
}

function readiness(store: KafkaRetainedStore, topic: string): Readiness {
  switch (store.state) {
    case 'ready':
      return { ready: true };
    case 'misconfigured':
      return { ready: false, reason: store.failure?.message ?? `retained topic ${topic} cannot be used` };
    default:
      return { ready: false, reason: `reading the retained messages (${topic})` };
  }
}
