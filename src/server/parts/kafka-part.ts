/** The Kafka producer side: connected in the background, its health part of readiness. */
import { ConfigError } from '../../config/errors.js';
import type { ProxyConfig } from '../../config/types.js';
import { compressionProblem } from '../../kafka/compression.js';
import { createKafkaSink, type RecordSink } from '../../kafka/producer.js';
import { staticTopics } from '../../kafka/topic-check.js';
import type { Readiness } from '../../observability/admin-server.js';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { Part } from '../part.js';

export interface KafkaPart extends Part {
  readonly sink: RecordSink;
}

export function createKafkaPart(config: ProxyConfig, logger: Logger, metrics: ProxyMetrics): KafkaPart {
  const sink = createKafkaSink(config.kafka, logger.child({ component: 'kafka' }), {
    staticTopics: staticTopics(config.mappings, config.unmapped),
    produceLatency: metrics.produceLatency,
  });
  return {
    name: 'kafka',
    sink,
    start: () => sink.start(),
    stop: () => sink.stop(),
    ready: () => kafkaReadiness(sink),
  };
}

/** kafkajs takes its codecs from separate packages; @platformatic/kafka carries its own. */
export function checkCompressionCodec(config: ProxyConfig): void {
  const codec = config.kafka.client === 'kafkajs' ? compressionProblem(config.kafka.compression) : null;
  if (codec !== null) throw new ConfigError([{ file: config.source, path: 'kafka.compression', problem: codec }]);
}

function kafkaReadiness(sink: RecordSink): Readiness {
  if (!sink.reachable) return { ready: false, reason: sink.connected ? 'Kafka unreachable' : 'not connected to Kafka yet' };
  if (!sink.ready) {
    const missing = sink.topics.missing.map((m) => m.topic).join(', ');
    return { ready: false, reason: missing === '' ? 'checking the target Kafka topics' : `target Kafka topics missing: ${missing}` };
  }
  return { ready: true };
}
