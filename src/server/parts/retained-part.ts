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
import { startStateTopic, stateTopicReadiness } from './state-readiness.js';

const notCompacted = (outcome: unknown): outcome is TopicNotCompactedError => outcome instanceof TopicNotCompactedError;

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
    // The first answer about the topic decides whether the proxy may start.
    start: () => startStateTopic(() => store.start(), 'retained.topic', config.kafka.connectionTimeoutMs, notCompacted),
    stop: () => store.close(),
    ready: (): Readiness => stateTopicReadiness(store, 'retained messages', config.retained.topic),
  };
}
