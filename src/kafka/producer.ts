import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import type { AcksSetting, KafkaConfig } from '../config/types.js';
import type { ClientProducer, KafkaClient } from './client.js';
import { classifyProduceError, ProduceError } from './errors.js';
import { createPlatformaticClient } from './platformatic-client.js';
import { ProduceLane, type ProduceCallback, type StillWanted } from './produce-lane.js';
import type { KafkaAcks, KafkaRecord, WriteReceipt } from './record.js';
import { describeMoves, LeaderWatch } from './leader-watch.js';
import { Reachability } from './reachability.js';
import { sendUntil } from './send-until.js';
import { TargetTopics } from './target-topics.js';
import { TopicCatalog } from './topic-catalog.js';
import type { StaticTopic } from './topic-check.js';

/** Which of the configured delivery settings a record travels with (`kafka.acks.qos0|qos1|qos2`). */
export type DeliveryClass = 'qos0' | 'qos1' | 'qos2';

export interface RecordSink {
  /**
   * Loads the client and connects to Kafka; resolves once connected, once the first attempt
   * failed (it keeps trying in the background) or after a few seconds, whichever comes first.
   */
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
/** The longest start() waits for the first connection attempt; the attempt goes on afterwards. */
const FIRST_ATTEMPT_WAIT_MS = 3000;
/** Pauses between produce requests of a batch that failed retriably (the client retried each already). */
const RESEND_PAUSE_MS = 250;
const RESEND_MAX_PAUSE_MS = 2000;

export interface KafkaSinkOptions {
  /** Target topics known from the config, checked once connected. */
  readonly staticTopics?: readonly StaticTopic[];
  /** Observes each produce request's duration, labelled `acks` = `0`, `1` or `all`. */
  readonly produceLatency?: Histogram<'acks'>;
}

/**
 * The producer side, on @platformatic/kafka (see {@link KafkaClient}). Records
 * with acks=all go through the idempotent producer (so producer retries cannot write a record
 * twice); others through a plain one. Each distinct delivery setting is a {@link ProduceLane} that
 * batches records from all connections.
 */
export function createKafkaSink(config: KafkaConfig, logger: Logger, options: KafkaSinkOptions = {}): RecordSink {
  const { produceLatency } = options;
  const reach = new Reachability(logger, { brokers: config.brokers, security: { tls: config.ssl !== null, sasl: config.sasl?.mechanism ?? null } });
  const leaders = new LeaderWatch();
  const client = createPlatformaticClient(config, logger, {
    metadata(view) {
      const moves = leaders.observe(view);
      if (moves.length > 0) logger.warn({ brokers: config.brokers, moved: describeMoves(moves) }, 'Kafka partition leaders moved');
    },
  });
  const topics = new TargetTopics(options.staticTopics ?? [], () => client.listTopics(), config.requireTopics, logger);
  const newIdempotent = (): ClientProducer => client.producer(true);
  let idempotent = newIdempotent();
  // After a failed request the client rolls its sequence numbers back, although Kafka may have
  // written that request (a timeout, a broker going down mid-request). The next request would then
  // reuse those numbers, and Kafka would take it for a retry of the written one: answered as a
  // success and discarded. A failed request therefore retires the producer; the next request goes
  // out under a new producer id, whose numbers Kafka has never seen.
  let idempotentStale = false;
  const sendIdempotent = async (records: readonly KafkaRecord[]): Promise<WriteReceipt | void> => {
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
      return await idempotent.send(records, -1);
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
      const attempt = (records: readonly KafkaRecord[]): Promise<WriteReceipt | void> =>
        latency === undefined ? write(records) : timed(() => write(records), latency);
      const send = async (records: readonly KafkaRecord[], deadline: number): Promise<WriteReceipt | void> => {
        const receipt = await sendUntil(() => attempt(records), deadline, {
          pauseMs: RESEND_PAUSE_MS,
          maxPauseMs: RESEND_MAX_PAUSE_MS,
          onFailure: (error, retriable) => {
            if (retriable) reach.failed(error);
          },
          stopped: () => stopped,
        });
        reach.succeeded();
        return receipt;
      };
      lane = new ProduceLane(send, {
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
  let healthTimer: NodeJS.Timeout | undefined;
  let checking = false;

  const checkHealth = (): void => {
    if (checking || stopped) return;
    checking = true;
    withTimeout(client.checkCluster(), config.requestTimeoutMs, 'cluster check timed out').then(
      () => reach.succeeded(),
      (error: unknown) => reach.failed(error),
    ).finally(() => {
      checking = false;
    });
  };

  const connect = async (): Promise<void> => {
    try {
      // One metadata request without retries first: a cluster that is down fails it at once, and
      // the retries are this loop's, at its pace, with one log line for the whole outage.
      await client.checkCluster();
      await Promise.all([idempotent.connect(), plain.connect()]);
      // A stop that came while connecting (a signal during startup) wins.
      if (stopped) return;
      connected = true;
      reach.succeeded();
      healthTimer = setInterval(checkHealth, HEALTH_CHECK_MS);
      healthTimer.unref();
      void topics.check();
      catalog.prime();
    } catch (error) {
      if (stopped) return;
      reach.failed(error);
      retryTimer = setTimeout(() => void connect(), CONNECT_RETRY_MS);
    }
  };

  const enqueue = (lane: ProduceLane, record: KafkaRecord, done: ProduceCallback, wanted: StillWanted | undefined): void => {
    lane.produce(
      record,
      (error, receipt, index) => {
        if (error?.reason === 'topic-missing') catalog.forget(record.topic);
        done(error, receipt, index);
      },
      wanted,
    );
  };

  return {
    async start() {
      if (stopped) return;
      await client.prepare();
      const first = connect();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, FIRST_ATTEMPT_WAIT_MS)))]);
      clearTimeout(timer);
    },
    get connected() {
      return connected;
    },
    get reachable() {
      return connected && reach.state === 'reachable';
    },
    get topics() {
      return { checked: topics.checked, missing: topics.missing };
    },
    get ready() {
      return connected && reach.state === 'reachable' && topics.satisfied;
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
      topics.stop();
      await Promise.allSettled([idempotent.disconnect(), plain.disconnect(), client.disconnectAdmin()]);
      idempotentStale = false;
      connected = false;
    },
  };
}

/** `promise`, or a rejection with `message` when it has not settled within `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Observes how long `request` takes, whether Kafka accepted it or not. */
function timed<T>(request: () => Promise<T>, latency: Histogram.Internal<'acks'>): Promise<T> {
  const end = latency.startTimer();
  return request().finally(() => end());
}
