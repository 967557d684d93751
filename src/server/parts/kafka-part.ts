/**
 * The Kafka producer side: connected in the background, its health part of readiness. It is
 * stopped last (records still on their way drain into it) but connects only once the listeners are
 * open: devices connect at once whether or not Kafka is reachable (loading the client library alone
 * takes most of a second); until it answers, their publishes wait or are refused as in any outage.
 */
import type { ProxyConfig } from '../../config/types.js';
import { createKafkaSink, type RecordSink } from '../../kafka/producer.js';
import { staticTopics } from '../../kafka/topic-check.js';
import type { Readiness } from '../../observability/admin-server.js';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { Part } from '../part.js';

export interface KafkaPart extends Part {
  readonly sink: RecordSink;
  /** Connects the sink; listed after the listeners, so they open first. Stopping is the part's own. */
  readonly connect: Part;
}

export function createKafkaPart(config: ProxyConfig, logger: Logger, metrics: ProxyMetrics): KafkaPart {
  const sink = createKafkaSink(config.kafka, logger.child({ component: 'kafka' }), {
    staticTopics: staticTopics(config.mappings, config.unmapped),
    produceLatency: metrics.produceLatency,
  });
  return {
    name: 'kafka',
    sink,
    start: async () => {},
    stop: () => sink.stop(),
    connect: { name: 'kafka-connect', start: () => sink.start(), stop: async () => {} },
    ready: () => kafkaReadiness(sink),
  };
}

function kafkaReadiness(sink: RecordSink): Readiness {
  if (!sink.reachable) return { ready: false, reason: sink.connected ? 'Kafka unreachable' : 'not connected to Kafka yet' };
  if (!sink.ready) {
    const missing = sink.topics.missing.map((m) => m.topic).join(', ');
    return { ready: false, reason: missing === '' ? 'checking the target Kafka topics' : `target Kafka topics missing: ${missing}` };
  }
  return { ready: true };
}
