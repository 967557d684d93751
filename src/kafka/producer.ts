import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import type { KafkaConfig } from '../config/types.js';
import type { ClientProducer, KafkaClient } from './client.js';
import { ProduceError } from './errors.js';
import { IdempotentSender } from './idempotent-sender.js';
import { createPlatformaticClient } from './platformatic-client.js';
import type { ProduceCallback, ProduceLane, StillWanted } from './produce-lane.js';
import type { KafkaRecord } from './record.js';
import { describeMoves, LeaderWatch } from './leader-watch.js';
import { Reachability } from './reachability.js';
import { SinkLanes, type DeliveryClass } from './sink-lanes.js';
import { TargetTopics } from './target-topics.js';
import { TopicCatalog } from './topic-catalog.js';
import type { StaticTopic } from './topic-check.js';
import { withTimeout } from '../common/with-timeout.js';

export type { DeliveryClass } from './sink-lanes.js';

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
  return new KafkaSink(config, logger, options);
}

class KafkaSink implements RecordSink {
  private readonly reach: Reachability;
  private readonly client: KafkaClient;
  private readonly targets: TargetTopics;
  private readonly idempotent: IdempotentSender;
  private readonly plain: ClientProducer;
  private readonly catalog: TopicCatalog;
  private readonly lanes: SinkLanes;
  private isConnected = false;
  private stopped = false;
  /** Records waiting for the topic catalog to decide: in flight too, or the intake bound misses them. */
  private awaitingCatalog = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly config: KafkaConfig,
    logger: Logger,
    options: KafkaSinkOptions,
  ) {
    this.reach = new Reachability(logger, { brokers: config.brokers, security: { tls: config.ssl !== null, sasl: config.sasl?.mechanism ?? null } });
    const leaders = new LeaderWatch();
    this.client = createPlatformaticClient(config, logger, {
      metadata(view) {
        const moves = leaders.observe(view);
        if (moves.length > 0) logger.warn({ brokers: config.brokers, moved: describeMoves(moves) }, 'Kafka partition leaders moved');
      },
    });
    this.targets = new TargetTopics(options.staticTopics ?? [], () => this.client.listTopics(), config.requireTopics, logger);
    this.idempotent = new IdempotentSender(() => this.client.producer(true), logger);
    this.plain = this.client.producer(false);
    this.catalog = new TopicCatalog(() => this.client.listTopics());
    this.lanes = new SinkLanes(config, {
      send: (records, acks) => (acks === -1 ? this.idempotent.send(records) : this.plain.send(records, acks)),
      succeeded: () => this.reach.succeeded(),
      failedRetriably: (error) => this.reach.failed(error),
      stopped: () => this.stopped,
    }, options.produceLatency);
  }

  async start(): Promise<void> {
    if (this.stopped) return;
    await this.client.prepare();
    const first = this.connect();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, FIRST_ATTEMPT_WAIT_MS)))]);
    clearTimeout(timer);
  }

  get connected(): boolean {
    return this.isConnected;
  }

  get reachable(): boolean {
    return this.isConnected && this.reach.state === 'reachable';
  }

  get topics(): RecordSink['topics'] {
    return { checked: this.targets.checked, missing: this.targets.missing };
  }

  get ready(): boolean {
    return this.reachable && this.targets.satisfied;
  }

  get inFlight(): number {
    let total = this.awaitingCatalog;
    for (const lane of this.lanes.all) total += lane.size;
    return total;
  }

  get sent(): RecordSink['sent'] {
    let requests = 0;
    let records = 0;
    for (const lane of this.lanes.all) {
      requests += lane.sent.requests;
      records += lane.sent.records;
    }
    return { requests, records };
  }

  produce(record: KafkaRecord, delivery: DeliveryClass, done: ProduceCallback, wanted?: StillWanted): void {
    const lane = this.lanes.byClass[delivery];
    const status = this.catalog.check(record.topic);
    if (status === 'exists') return this.enqueue(lane, record, done, wanted);
    this.awaitingCatalog++;
    void status.then((resolved) => {
      this.awaitingCatalog--;
      if (resolved === 'exists') this.enqueue(lane, record, done, wanted);
      else if (resolved === 'missing') done(new ProduceError('topic-missing', `Kafka topic ${record.topic} does not exist`));
      else done(new ProduceError('unavailable', 'Kafka is not reachable'));
    });
  }

  async drain(timeoutMs: number): Promise<void> {
    const lanes = [...this.lanes.all];
    for (const lane of lanes) lane.close();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(lanes.map((lane) => lane.whenIdle())), deadline]);
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.healthTimer);
    this.targets.stop();
    await Promise.allSettled([this.idempotent.disconnect(), this.plain.disconnect(), this.client.disconnectAdmin()]);
    this.isConnected = false;
  }

  private async connect(): Promise<void> {
    try {
      // One metadata request without retries first: a cluster that is down fails it at once, and
      // the retries are this loop's, at its pace, with one log line for the whole outage.
      await this.client.checkCluster();
      await Promise.all([this.idempotent.connect(), this.plain.connect()]);
      // A stop that came while connecting (a signal during startup) wins.
      if (this.stopped) return;
      this.isConnected = true;
      this.reach.succeeded();
      this.healthTimer = setInterval(() => this.checkHealth(), HEALTH_CHECK_MS);
      this.healthTimer.unref();
      void this.targets.check();
      this.catalog.prime();
    } catch (error) {
      if (this.stopped) return;
      this.reach.failed(error);
      this.retryTimer = setTimeout(() => void this.connect(), CONNECT_RETRY_MS);
    }
  }

  private checkHealth(): void {
    if (this.checking || this.stopped) return;
    this.checking = true;
    withTimeout(this.client.checkCluster(), this.config.requestTimeoutMs, 'cluster check timed out')
      .then(() => this.reach.succeeded(), (error: unknown) => this.reach.failed(error))
      .finally(() => {
        this.checking = false;
      });
  }

  private enqueue(lane: ProduceLane, record: KafkaRecord, done: ProduceCallback, wanted: StillWanted | undefined): void {
    lane.produce(
      record,
      (error, receipt, index) => {
        if (error?.reason === 'topic-missing') this.catalog.forget(record.topic);
        done(error, receipt, index);
      },
      wanted,
    );
  }
}

