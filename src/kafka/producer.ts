import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import type { AcksSetting, KafkaConfig } from '../config/types.js';
import type { ClientProducer, KafkaClient } from './client.js';
import { classifyProduceError, ProduceError } from './errors.js';
import { createKafkajsClient } from './kafkajs-client.js';
import { createPlatformaticClient } from './platformatic-client.js';
import { ProduceLane, type ProduceCallback, type StillWanted } from './produce-lane.js';
import type { KafkaAcks, KafkaRecord } from './record.js';
import { describeConnectFailure } from './security.js';
import { TopicCatalog } from './topic-catalog.js';
import { missingTopics, type StaticTopic } from './topic-check.js';

/** Which of the configured delivery settings a record travels with (`kafka.acks.qos0|qos1|qos2`). */
export type DeliveryClass = 'qos0' | 'qos1' | 'qos2';

export interface RecordSink {
  /** Connects to Kafka; keeps trying in the background when the cluster is not reachable yet. */
  start(): Promise<void>;
  /** `wanted`: see {@link StillWanted}; without it the record is always sent. */
  produce(record: KafkaRecord, delivery: DeliveryClass, done: ProduceCallback, wanted?: StillWanted): void;
  /** True once both producers are connected. */
  readonly connected: boolean;
  /**
   * Connected, and the latest exchange with Kafka (a produce request, or a cluster check every
   * few seconds while connected) succeeded: what readiness reports.
   */
  readonly reachable: boolean;
  /**
   * The startup topic check: `checked` once Kafka listed its topics after connecting; `missing` the
   * static target topics (see {@link StaticTopic}) that did not exist at the last check.
   */
  readonly topics: { readonly checked: boolean; readonly missing: readonly StaticTopic[] };
  /**
   * Whether the proxy can take traffic as far as Kafka is concerned: reachable, and, with
   * `kafka.requireTopics`, every static target topic exists. For a readiness probe.
   */
  readonly ready: boolean;
  /** Records accepted and not answered by Kafka yet. */
  readonly inFlight: number;
  /** Produce requests sent and the records they carried, over all delivery settings. */
  readonly sent: { readonly requests: number; readonly records: number };
  /** Refuses new records and waits (at most `timeoutMs`) until those given so far are answered. */
  drain(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

const CONNECT_RETRY_MS = 2000;
/** How often a connected sink checks the cluster answers, so readiness notices an idle outage. */
const HEALTH_CHECK_MS = 5000;
/** How often missing static topics are looked for again while `kafka.requireTopics` holds readiness back. */
const TOPIC_RECHECK_MS = 5000;

export interface KafkaSinkOptions {
  /** Target topics known from the config, checked once connected. */
  readonly staticTopics?: readonly StaticTopic[];
  /** Observes each produce request's duration, labelled `acks` = `0`, `1` or `all`. */
  readonly produceLatency?: Histogram<'acks'>;
}

/** The client library `kafka.client` names. */
function createClient(config: KafkaConfig, logger: Logger): KafkaClient {
  return config.client === 'platformatic' ? createPlatformaticClient(config, logger) : createKafkajsClient(config, logger);
}

/**
 * The producer side, on the client library `kafka.client` names (see {@link KafkaClient}). Records
 * with acks=all go through the idempotent producer (so producer retries cannot write a record
 * twice); others through a plain one. Each distinct delivery setting is a {@link ProduceLane} that
 * batches records from all connections.
 */
export function createKafkaSink(config: KafkaConfig, logger: Logger, options: KafkaSinkOptions = {}): RecordSink {
  const targets = options.staticTopics ?? [];
  const { produceLatency } = options;
  const client = createClient(config, logger);
  const newIdempotent = (): ClientProducer => client.producer(true);
  let idempotent = newIdempotent();
  // After a failed request the client rolls its sequence numbers back, although Kafka may have
  // written that request (a timeout, a broker going down mid-request). The next request would then
  // reuse those numbers, and Kafka would take it for a retry of the written one: answered as a
  // success and discarded. A failed request therefore retires the producer; the next request goes
  // out under a new producer id, whose numbers Kafka has never seen.
  let idempotentStale = false;
  const sendIdempotent = async (records: readonly KafkaRecord[]): Promise<void> => {
    if (idempotentStale) {
      const retired = idempotent;
      idempotent = newIdempotent();
      idempotentStale = false;
      void retired.disconnect().catch(() => undefined);
      try {
        await idempotent.connect();
      } catch (error) {
        idempotentStale = true;
        throw error;
      }
      logger.info('idempotent producer replaced after a failed request');
    }
    try {
      await idempotent.send(records, -1);
    } catch (error) {
      // A refusal (too large, not authorized...) was not written: only doubt retires the producer.
      if (classifyProduceError(error).retriable) idempotentStale = true;
      throw error;
    }
  };
  const plain = client.producer(false);
  const catalog = new TopicCatalog(() => client.listTopics());

  const lanesBySetting = new Map<string, ProduceLane>();
  const laneFor = (acks: AcksSetting): ProduceLane => {
    const kafkaAcks: KafkaAcks = acks === 'all' ? -1 : acks;
    const key = String(kafkaAcks);
    let lane = lanesBySetting.get(key);
    if (lane === undefined) {
      const latency = produceLatency?.labels({ acks: String(acks) });
      const write =
        kafkaAcks === -1
          ? sendIdempotent
          : (records: readonly KafkaRecord[]) => plain.send(records, kafkaAcks);
      const send = (records: readonly KafkaRecord[]): Promise<void> =>
        write(records).then(
          () => {
            lastExchangeFailed = false;
          },
          (error: unknown) => {
            if (classifyProduceError(error).retriable) lastExchangeFailed = true;
            throw error;
          },
        );
      lane = new ProduceLane(latency === undefined ? send : (records) => timed(() => send(records), latency), {
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
  let lastExchangeFailed = false;
  let healthTimer: NodeJS.Timeout | undefined;
  let checking = false;

  const checkHealth = (): void => {
    if (checking || stopped) return;
    checking = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('cluster check timed out')), config.requestTimeoutMs);
    });
    Promise.race([client.checkCluster(), timeout]).then(
      () => {
        if (lastExchangeFailed) logger.info('Kafka reachable again');
        lastExchangeFailed = false;
      },
      (error: unknown) => {
        if (!lastExchangeFailed) logger.warn({ err: (error as Error).message }, 'Kafka cluster check failed');
        lastExchangeFailed = true;
      },
    ).finally(() => {
      clearTimeout(timer);
      checking = false;
    });
  };
  let topicTimer: NodeJS.Timeout | undefined;
  let topicsChecked = false;
  let missing: readonly StaticTopic[] = [];

  const security = { tls: config.ssl !== null, sasl: config.sasl?.mechanism ?? null };
  const connect = async (): Promise<void> => {
    try {
      await Promise.all([idempotent.connect(), plain.connect(), client.connectAdmin()]);
      connected = true;
      lastExchangeFailed = false;
      healthTimer = setInterval(checkHealth, HEALTH_CHECK_MS);
      healthTimer.unref();
      logger.info({ brokers: config.brokers, ...security }, 'connected to Kafka');
      void checkTopics();
      catalog.prime();
    } catch (error) {
      const failure = describeConnectFailure(error);
      // Bad credentials or certificates do not fix themselves, but a rotated secret on the Kafka
      // side can: keep trying, loudly.
      if (failure.misconfigured) logger.error({ brokers: config.brokers, ...security, err: failure.reason }, 'cannot connect to Kafka, retrying');
      else logger.warn({ brokers: config.brokers, err: failure.reason }, 'Kafka not reachable, retrying');
      if (!stopped) retryTimer = setTimeout(() => void connect(), CONNECT_RETRY_MS);
    }
  };

  // Static target topics are checked once connected, so a typo in a rule shows up at startup rather
  // than at the first message. With requireTopics the check repeats until they all exist.
  const checkTopics = async (): Promise<void> => {
    if (targets.length === 0 || stopped) {
      topicsChecked = true;
      return;
    }
    const wasMissing = missing;
    try {
      missing = missingTopics(targets, await client.listTopics());
      topicsChecked = true;
    } catch (error) {
      // Only readiness depends on the answer; without requireTopics one warning is enough.
      const next = config.requireTopics ? 'trying again' : 'not checking them';
      logger.warn({ err: (error as Error).message }, `could not list Kafka topics to check the target topics; ${next}`);
      if (config.requireTopics && !stopped) topicTimer = setTimeout(() => void checkTopics(), TOPIC_RECHECK_MS);
      return;
    }
    // Each missing topic is reported once, not at every recheck.
    const newlyMissing = missing.filter((m) => !wasMissing.some((w) => w.rule === m.rule && w.topic === m.topic));
    for (const { rule, topic } of newlyMissing) {
      const consequence = config.requireTopics ? 'the proxy stays not ready until it exists' : 'publishes routed to it are refused';
      logger.warn({ rule, topic, requireTopics: config.requireTopics }, `target Kafka topic ${topic} of rule ${rule} does not exist: ${consequence}`);
    }
    if (missing.length > 0 && config.requireTopics) {
      if (!stopped) topicTimer = setTimeout(() => void checkTopics(), TOPIC_RECHECK_MS);
    } else if (missing.length === 0) {
      logger.info({ topics: targets.map((t) => t.topic) }, wasMissing.length > 0 ? 'every target Kafka topic exists now' : 'every target Kafka topic exists');
    }
  };

  const enqueue = (lane: ProduceLane, record: KafkaRecord, done: ProduceCallback, wanted: StillWanted | undefined): void => {
    lane.produce(
      record,
      (error) => {
        if (error?.reason === 'topic-missing') catalog.forget(record.topic);
        done(error);
      },
      wanted,
    );
  };

  return {
    async start() {
      await client.prepare();
      await connect();
    },
    get connected() {
      return connected;
    },
    get reachable() {
      return connected && !lastExchangeFailed;
    },
    get topics() {
      return { checked: topicsChecked, missing };
    },
    get ready() {
      return connected && !lastExchangeFailed && (!config.requireTopics || (topicsChecked && missing.length === 0));
    },
    get inFlight() {
      let total = awaitingCatalog;
      for (const lane of lanesBySetting.values()) total += lane.size;
      return total;
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
    produce(record, delivery, done, wanted) {
      const lane = lanes[delivery];
      const status = catalog.check(record.topic);
      if (status === 'exists') {
        enqueue(lane, record, done, wanted);
        return;
      }
      awaitingCatalog++;
      status.then((resolved) => {
        awaitingCatalog--;
        if (resolved === 'exists') enqueue(lane, record, done, wanted);
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
      clearInterval(healthTimer);
      clearTimeout(topicTimer);
      await Promise.allSettled([idempotent.disconnect(), plain.disconnect(), client.disconnectAdmin()]);
      idempotentStale = false;
      connected = false;
    },
  };
}

/** Observes how long `request` takes, whether Kafka accepted it or not. */
function timed(request: () => Promise<void>, latency: Histogram.Internal<'acks'>): Promise<void> {
  const end = latency.startTimer();
  return request().finally(() => end());
}
