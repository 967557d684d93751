import { Kafka, Partitioners, type CompressionTypes, logLevel as KafkaLogLevel, type Admin, type LogEntry, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { AcksSetting, KafkaConfig } from '../config/types.js';
import { NO_COMPRESSION, prepareCompression } from './compression.js';
import { ProduceError } from './errors.js';
import { ProduceLane, type ProduceCallback } from './produce-lane.js';
import type { KafkaAcks, KafkaRecord } from './record.js';
import { TopicCatalog } from './topic-catalog.js';

/** Which of the configured delivery settings a record travels with (`kafka.acks.qos0|qos1|qos2`). */
export type DeliveryClass = 'qos0' | 'qos1' | 'qos2';

export interface RecordSink {
  /** Connects to Kafka; keeps trying in the background when the cluster is not reachable yet. */
  start(): Promise<void>;
  produce(record: KafkaRecord, delivery: DeliveryClass, done: ProduceCallback): void;
  /** True once both producers are connected. */
  readonly connected: boolean;
  /** Records accepted and not answered by Kafka yet. */
  readonly inFlight: number;
  /** Kafka is not keeping up with what is given: callers should stop taking unacknowledged (QoS 0) records. */
  readonly backlogged: boolean;
  /** Produce requests sent and the records they carried, over all delivery settings. */
  readonly sent: { readonly requests: number; readonly records: number };
  /** Refuses new records and waits (at most `timeoutMs`) until those given so far are answered. */
  drain(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

const CONNECT_RETRY_MS = 2000;

/**
 * The kafkajs producer side. Records with acks=all go through the idempotent producer (so producer
 * retries cannot write a record twice); others through a plain one. Each distinct delivery setting
 * is a {@link ProduceLane} that batches records from all connections.
 */
export function createKafkaSink(config: KafkaConfig, logger: Logger): RecordSink {
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
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
  const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry, createPartitioner });
  const plain = kafka.producer({ idempotent: false, allowAutoTopicCreation: false, retry, createPartitioner });
  const admin: Admin = kafka.admin({ retry: { retries: 0 } });
  const catalog = new TopicCatalog(() => admin.listTopics());

  // Set by start() once the codec is loaded; produce requests are only sent after that.
  let compression: CompressionTypes = NO_COMPRESSION;
  const lanesBySetting = new Map<string, ProduceLane>();
  const laneFor = (acks: AcksSetting): ProduceLane => {
    const kafkaAcks: KafkaAcks = acks === 'all' ? -1 : acks;
    const key = String(kafkaAcks);
    let lane = lanesBySetting.get(key);
    if (lane === undefined) {
      const producer = kafkaAcks === -1 ? idempotent : plain;
      lane = new ProduceLane((records) => sendBatch(producer, records, kafkaAcks, config.requestTimeoutMs, compression), {
        lingerMs: config.lingerMs,
        maxRecords: config.batchMaxRecords,
        maxBytes: config.batchMaxBytes,
        deliveryTimeoutMs: config.requestTimeoutMs,
      });
      lanesBySetting.set(key, lane);
    }
    return lane;
  };
  const lanes: Record<DeliveryClass, ProduceLane> = {
    qos0: laneFor(config.acks.qos0),
    qos1: laneFor(config.acks.qos1),
    qos2: laneFor(config.acks.qos2),
  };

  let connected = false;
  let stopped = false;
  /** Records waiting for the topic catalog to decide: in flight too, or the intake bound misses them. */
  let awaitingCatalog = 0;
  let retryTimer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    try {
      await Promise.all([idempotent.connect(), plain.connect(), admin.connect()]);
      connected = true;
      catalog.prime();
      logger.info({ brokers: config.brokers }, 'connected to Kafka');
    } catch (error) {
      logger.warn({ brokers: config.brokers, err: (error as Error).message }, 'Kafka not reachable, retrying');
      if (!stopped) retryTimer = setTimeout(() => void connect(), CONNECT_RETRY_MS);
    }
  };

  const enqueue = (lane: ProduceLane, record: KafkaRecord, done: ProduceCallback): void => {
    lane.produce(record, (error) => {
      if (error?.reason === 'topic-missing') catalog.forget(record.topic);
      done(error);
    });
  };

  return {
    async start() {
      compression = await prepareCompression(config.compression);
      await connect();
    },
    get connected() {
      return connected;
    },
    get inFlight() {
      let total = awaitingCatalog;
      for (const lane of lanesBySetting.values()) total += lane.size;
      return total;
    },
    get backlogged() {
      for (const lane of lanesBySetting.values()) if (lane.backlogged) return true;
      return false;
    },
    get sent() {
      let requests = 0;
      let records = 0;
      for (const lane of lanesBySetting.values()) {
        requests += lane.sent.requests;
        records += lane.sent.records;
      }
      return { requests, records };
    },
    produce(record, delivery, done) {
      const lane = lanes[delivery];
      const status = catalog.check(record.topic);
      if (status === 'exists') {
        enqueue(lane, record, done);
        return;
      }
      awaitingCatalog++;
      status.then((resolved) => {
        awaitingCatalog--;
        if (resolved === 'exists') enqueue(lane, record, done);
        else if (resolved === 'missing') done(new ProduceError('topic-missing', `Kafka topic ${record.topic} does not exist`));
        else done(new ProduceError('unavailable', 'Kafka is not reachable'));
      });
    },
    async drain(timeoutMs) {
      for (const lane of lanesBySetting.values()) lane.close();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([Promise.all([...lanesBySetting.values()].map((lane) => lane.whenIdle())), deadline]);
      clearTimeout(timer);
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      await Promise.allSettled([idempotent.disconnect(), plain.disconnect(), admin.disconnect()]);
      connected = false;
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
  // Retries are bounded on purpose (see createKafkaSink); the client's warning about it is noise.
  if (message.startsWith('Limiting retries for the idempotent producer')) return;
  const fields = { kafka: { namespace: entry.namespace, ...extra } };
  // kafkajs logs every error response at ERROR, also the ones it retries (a coordinator still
  // loading, a leader moving); what the proxy cannot recover from surfaces as a failed publish.
  if (entry.level === KafkaLogLevel.ERROR && !message.startsWith('Response ')) logger.error(fields, message);
  else if (entry.level === KafkaLogLevel.ERROR) logger.warn(fields, message);
  else if (entry.level === KafkaLogLevel.WARN) logger.warn(fields, message);
  else logger.debug(fields, message);
}
