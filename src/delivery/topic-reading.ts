// Which delivery topics this replica reads: a topic is read while some local direct subscription
// can match a record of it (DeliveryRouter.mayServe), from the live end, by one group-less reader.
// A topic no longer needed is let go after a linger, so a device that reconnects does not make the
// replica look the end up again.
import { KafkaReader } from '../kafka/reader.js';
import type { BatchHandler, LagSink } from '../kafka/reader-types.js';
import type { KafkaConnectionOptions } from '../kafka/connection-options.js';
import type { DeliveryRouter } from '../mapping/delivery-router.js';
import type { Logger } from '../observability/logger.js';

export interface TopicReadingOptions {
  readonly connection: KafkaConnectionOptions;
  readonly logger: Logger;
  readonly lag: LagSink;
  readonly onBatch: BatchHandler;
  /** How long a topic no subscription needs is still read [10000]. */
  readonly lingerMs?: number;
}

interface Needed {
  filters: number;
  /** Resolves once the topic's end positions are known: a record written after that is read. */
  ready: Promise<void>;
  linger: NodeJS.Timeout | undefined;
}

export class TopicReading {
  private reader: KafkaReader | undefined;
  private readonly needed = new Map<string, Needed>();
  private readonly lingerMs: number;

  constructor(
    private readonly router: () => DeliveryRouter,
    private readonly options: TopicReadingOptions,
  ) {
    this.lingerMs = options.lingerMs ?? 10_000;
  }

  /** The delivery topics a record of which `filter` may match. */
  topicsFor(filter: string): string[] {
    const router = this.router();
    return router.kafkaTopics.filter((topic) => router.mayServe(topic, filter));
  }

  /** The topics this replica reads now. */
  get reading(): string[] {
    return [...this.needed.keys()];
  }

  /** A direct filter appeared: its topics are read. Resolves once reading them has started. */
  filterAdded(filter: string): Promise<void> {
    return Promise.all(this.topicsFor(filter).map((topic) => this.need(topic))).then(() => undefined);
  }

  /** Resolves once every topic `filter` needs is being read (for a filter already present). */
  readyFor(filter: string): Promise<void> {
    return Promise.all(this.topicsFor(filter).map((topic) => this.needed.get(topic)?.ready)).then(() => undefined);
  }

  filterRemoved(filter: string): void {
    for (const topic of this.topicsFor(filter)) {
      const entry = this.needed.get(topic);
      if (entry === undefined || --entry.filters > 0) continue;
      entry.linger = setTimeout(() => this.release(topic), this.lingerMs);
      entry.linger.unref();
    }
  }

  /** The next offset the live reader hands over for a partition; undefined while it does not read it. */
  position(topic: string, partition: number): bigint | undefined {
    return this.reader?.position(topic, partition);
  }

  /** The partitions of a topic the live reader reads now. */
  partitionsOf(topic: string): number[] {
    return (this.reader?.partitions() ?? []).filter((p) => p.topic === topic).map((p) => p.partition);
  }

  async close(): Promise<void> {
    for (const entry of this.needed.values()) clearTimeout(entry.linger);
    this.needed.clear();
    await this.reader?.close();
  }

  private need(topic: string): Promise<void> {
    const entry = this.needed.get(topic);
    if (entry !== undefined) {
      entry.filters++;
      clearTimeout(entry.linger);
      entry.linger = undefined;
      return entry.ready;
    }
    // Never rejects: a SUBACK waits for it, and a failure is logged here.
    const ready = this.assign(topic).catch((error: unknown) => this.options.logger.error({ err: error, topic }, 'delivery topic: reading could not start'));
    this.needed.set(topic, { filters: 1, ready, linger: undefined });
    return ready;
  }

  /** Starts at each partition's end as it is now, so what is written once this resolves is read. */
  private async assign(topic: string): Promise<void> {
    const reader = (this.reader ??= new KafkaReader({
      connection: this.options.connection,
      logger: this.options.logger,
      onBatch: this.options.onBatch,
      lag: this.options.lag,
      outOfRange: 'latest',
      maxWaitMs: 100,
      // Smaller than the reader's default: a batch is handed to every subscriber at once, and what
      // a socket cannot take at once counts against its queue bound.
      partitionMaxBytes: 256 * 1024,
    }));
    let positions: Map<number, { offset: bigint }> | undefined;
    try {
      const ends = await reader.offsets(topic, 'latest');
      positions = new Map([...ends].map(([partition, offset]) => [partition, { offset }]));
    } catch (error) {
      // Missing, or Kafka unreachable: read from the end once it can be found.
      this.options.logger.warn({ err: error, topic }, 'delivery topic: end offsets unknown; reading from its end once it can be found');
    }
    if (!this.needed.has(topic) || reader.closed) return;
    reader.assign(topic, { start: 'latest', ...(positions !== undefined && { positions }) });
    this.options.logger.info({ topic }, 'reading delivery topic');
  }

  private release(topic: string): void {
    const entry = this.needed.get(topic);
    if (entry === undefined || entry.filters > 0) return;
    this.needed.delete(topic);
    this.reader?.unassign(topic);
    this.options.logger.info({ topic }, 'delivery topic no longer read: no subscription needs it');
  }
}
