import { Kafka, Partitioners, type CompressionTypes, logLevel as KafkaLogLevel, type Admin, type LogEntry, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config/types.js';
import type { ClientProducer, KafkaClient } from './client.js';
import { NO_COMPRESSION, prepareCompression } from './compression.js';
import type { KafkaAcks, KafkaRecord } from './record.js';
import { saslOptions, tlsOptions } from './security.js';

/** The kafkajs implementation of {@link KafkaClient} (`kafka.client: kafkajs`, the default). */
export function createKafkajsClient(config: KafkaConfig, logger: Logger): KafkaClient {
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    ssl: tlsOptions(config.ssl),
    sasl: saslOptions(config.sasl),
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => logKafka(logger, entry),
  });
  // Bounded retries even for the idempotent producer: a lane stuck forever behind one request would
  // stop every device; the devices retransmit whatever times out.
  const retry = { retries: 5, initialRetryTime: 100, maxRetryTime: 3000 };
  // The Java client's partitioner (murmur2), so a key lands on the partition any other producer picks.
  const createPartitioner = Partitioners.DefaultPartitioner;
  // Set by prepare() once the codec is loaded; produce requests are only sent after that.
  let compression: CompressionTypes = NO_COMPRESSION;
  const admin: Admin = kafka.admin({ retry: { retries: 0 } });

  return {
    async prepare() {
      compression = await prepareCompression(config.compression);
    },
    producer(idempotent): ClientProducer {
      const producer = idempotent
        ? kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry, createPartitioner })
        : kafka.producer({ idempotent: false, allowAutoTopicCreation: false, retry, createPartitioner });
      return {
        connect: () => producer.connect(),
        disconnect: () => producer.disconnect(),
        send: (records, acks) => sendBatch(producer, records, acks, config.requestTimeoutMs, compression),
      };
    },
    connectAdmin: () => admin.connect(),
    disconnectAdmin: () => admin.disconnect(),
    listTopics: () => admin.listTopics(),
    async checkCluster() {
      await admin.describeCluster();
    },
  };
}

async function sendBatch(
  producer: Producer,
  records: readonly KafkaRecord[],
  acks: KafkaAcks,
  timeout: number,
  compression: CompressionTypes,
): Promise<void> {
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    let messages = byTopic.get(record.topic);
    if (messages === undefined) {
      messages = [];
      byTopic.set(record.topic, messages);
    }
    messages.push({ key: record.key, value: record.value, headers: record.headers, timestamp: String(record.timestamp) });
  }
  const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  await producer.sendBatch({ topicMessages, acks, timeout, compression });
}

function logKafka(logger: Logger, entry: LogEntry): void {
  const { message, ...extra } = entry.log;
  // Retries are bounded on purpose (see createKafkajsClient); the client's warning about it is noise.
  if (message.startsWith('Limiting retries for the idempotent producer')) return;
  const fields = { kafka: { namespace: entry.namespace, ...extra } };
  // kafkajs logs every error response at ERROR, also the ones it retries (a coordinator still
  // loading, a leader moving); what the proxy cannot recover from surfaces as a failed publish.
  if (entry.level === KafkaLogLevel.ERROR && !message.startsWith('Response ')) logger.error(fields, message);
  else if (entry.level === KafkaLogLevel.ERROR) logger.warn(fields, message);
  else if (entry.level === KafkaLogLevel.WARN) logger.warn(fields, message);
  else logger.debug(fields, message);
}
