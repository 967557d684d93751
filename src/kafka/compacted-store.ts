import type { Logger } from 'pino';
import type { KafkaConnectionOptions } from './connection-options.js';
import { KeyedWriter } from './keyed-writer.js';
import { Backoff, describeCause } from './reader-health.js';
import { KafkaReader } from './reader.js';
import type { ReaderBatch, ReaderOptions } from './reader-types.js';

/** How the store's values are written and read back. A decode that throws makes the record unreadable. */
export interface ValueCodec<V> {
  encode(value: V): Buffer;
  decode(bytes: Buffer, key: string): V;
}

export interface CompactedStoreOptions<V> {
  /** A compacted topic (cleanup.policy=compact): the latest record per key is the value, a null value deletes it. */
  readonly topic: string;
  readonly connection: KafkaConnectionOptions;
  readonly logger: Logger;
  readonly codec: ValueCodec<V>;
  /** Every change read from the topic, before and after ready, in log order per partition. */
  readonly onChange?: (key: string, value: V | undefined, previous: V | undefined) => void;
  /** Reader settings (fetch wait, sizes, retry delays). */
  readonly reader?: Pick<ReaderOptions, 'maxWaitMs' | 'partitionMaxBytes' | 'maxBytes' | 'retry' | 'metadataRefreshMs'>;
}

export interface StoreStats {
  readonly keys: number;
  /** Records read, tombstones included. */
  readonly records: number;
  readonly tombstones: number;
  /** Records whose value the codec could not read (their key is dropped from the view). */
  readonly unreadable: number;
  /** Records without a key (ignored). */
  readonly unkeyed: number;
  /** Milliseconds from start until the topic was read to its end, once it was. */
  readonly readyMs: number | undefined;
}

interface Waiter {
  readonly offset: bigint;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * A compacted topic as a map in memory: read to its end at start (`ready`; the end is each
 * partition's end offset when the store started), then kept current with every record written
 * after, by anyone. Writes go to Kafka (acks=all, idempotent) and resolve once the store has read
 * them back, so a `get` after `set` sees that value or a later one: the log's order decides, on
 * every replica alike.
 */
export class CompactedStore<V> {
  /** Resolves once the topic has been read to the end it had at start; rejects if the store is closed first. */
  readonly ready: Promise<void>;
  private readonly values = new Map<string, V>();
  private readonly reader: KafkaReader;
  private readonly writer: KeyedWriter;
  private readonly waiters = new Map<number, Waiter[]>();
  /** Partitions not yet read to the end they had at start. */
  private readonly pendingEnds = new Map<number, bigint>();
  private readonly startedAt = Date.now();
  private readonly counts = { records: 0, tombstones: 0, unreadable: 0, unkeyed: 0 };
  private readyMs: number | undefined;
  private closed = false;
  private markReady: () => void = () => undefined;
  private failReady: (error: Error) => void = () => undefined;
  private loggedUnreadable = false;
  private queuedSync: Promise<void> | undefined;
  private lastSync: Promise<void> = Promise.resolve();

  constructor(private readonly options: CompactedStoreOptions<V>) {
    this.reader = new KafkaReader({
      ...options.reader,
      connection: options.connection,
      logger: options.logger,
      onBatch: (batch) => this.apply(batch),
      // A compacted topic's records are all needed: a position deleted under the store starts over.
      outOfRange: 'earliest',
    });
    this.writer = new KeyedWriter(options.topic, options.connection);
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.failReady = reject;
    });
    this.ready.catch(() => undefined); // a store closed before it was ready is not an unhandled rejection
    void this.start();
  }

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  get size(): number {
    return this.values.size;
  }

  entries(): IterableIterator<[string, V]> {
    return this.values.entries();
  }

  stats(): StoreStats {
    return { keys: this.values.size, ...this.counts, readyMs: this.readyMs };
  }

  /** Writes `value` under `key`; resolves once Kafka has it (acks=all) and the store has read it back. */
  async set(key: string, value: V): Promise<void> {
    await this.write(key, this.options.codec.encode(value));
  }

  /** Writes a tombstone for `key`; resolves once Kafka has it and the store has applied it. */
  async delete(key: string): Promise<void> {
    await this.write(key, null);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failReady(new Error(`the store of ${this.options.topic} was closed before it was ready`));
    for (const waiters of this.waiters.values()) for (const w of waiters) w.reject(new Error(`the store of ${this.options.topic} was closed`));
    this.waiters.clear();
    await Promise.all([this.reader.close(), this.writer.close()]);
  }

  /**
   * Resolves once the store has read everything the topic held when this was called: what other
   * replicas wrote before then is seen. Calls made while one is waiting to start share it.
   */
  sync(): Promise<void> {
    if (this.queuedSync !== undefined) return this.queuedSync;
    const round = this.lastSync.then(async () => {
      this.queuedSync = undefined;
      if (this.closed) throw new Error(`the store of ${this.options.topic} is closed`);
      const ends = await this.reader.offsets(this.options.topic, 'latest');
      await Promise.all([...ends].map(([partition, end]) => (end > 0n ? this.readPast(partition, end - 1n) : undefined)));
    });
    this.queuedSync = round;
    this.lastSync = round.catch(() => undefined);
    return round;
  }

  private async write(key: string, value: Buffer | null): Promise<void> {
    if (this.closed) throw new Error(`the store of ${this.options.topic} is closed`);
    const at = await this.writer.write(key, value);
    await this.readPast(at.partition, at.offset);
  }

  /** Resolves once the record at `offset` of `partition` has been applied. */
  private async readPast(partition: number, offset: bigint): Promise<void> {
    const position = this.reader.position(this.options.topic, partition);
    if (position !== undefined && position > offset) return;
    await new Promise<void>((resolve, reject) => {
      let list = this.waiters.get(partition);
      if (list === undefined) this.waiters.set(partition, (list = []));
      list.push({ offset, resolve, reject });
    });
  }

  /** The end offsets at start, then the whole topic from its first offsets; retried until Kafka answers. */
  private async start(): Promise<void> {
    const { topic, logger } = this.options;
    const backoff = new Backoff(200, 5000);
    let complained = false;
    while (!this.closed) {
      try {
        const ends = await this.reader.offsets(topic, 'latest');
        const starts = await this.reader.offsets(topic, 'earliest');
        if (this.closed) return;
        if (complained) logger.warn({ topic }, 'compacted store: offsets read');
        this.follow(ends, starts);
        return;
      } catch (error) {
        if (!complained) logger.warn({ topic, cause: describeCause(error) }, 'compacted store: cannot read the offsets of its topic; retrying');
        complained = true;
        await new Promise((resolve) => setTimeout(resolve, backoff.fail()));
      }
    }
  }

  private follow(ends: ReadonlyMap<number, bigint>, starts: ReadonlyMap<number, bigint>): void {
    const positions = new Map<number, { offset: bigint }>();
    for (const [partition, end] of ends) {
      const start = starts.get(partition) ?? 0n;
      positions.set(partition, { offset: start });
      if (start < end) this.pendingEnds.set(partition, end);
    }
    this.reader.assign(this.options.topic, { start: 'earliest', positions });
    this.checkReady();
  }

  private apply(batch: ReaderBatch): void {
    const { codec, onChange, topic } = this.options;
    for (const record of batch.records) {
      this.counts.records++;
      if (record.key === null) {
        this.counts.unkeyed++;
        continue;
      }
      const key = record.key.toString('utf8');
      const previous = this.values.get(key);
      let value: V | undefined;
      if (record.value === null) {
        this.counts.tombstones++;
      } else {
        try {
          value = codec.decode(record.value, key);
        } catch (error) {
          this.counts.unreadable++;
          if (!this.loggedUnreadable) {
            this.options.logger.warn({ topic, key, offset: record.offset.toString(), err: error }, 'compacted store: a value could not be read; its key is dropped (counted from here on)');
            this.loggedUnreadable = true;
          }
        }
      }
      if (value === undefined) this.values.delete(key);
      else this.values.set(key, value);
      if (previous !== undefined || value !== undefined) onChange?.(key, value, previous);
    }
    this.settleWaiters(batch.partition, batch.nextOffset);
    const end = this.pendingEnds.get(batch.partition);
    if (end !== undefined && batch.nextOffset >= end) {
      this.pendingEnds.delete(batch.partition);
      this.checkReady();
    }
  }

  private settleWaiters(partition: number, next: bigint): void {
    const list = this.waiters.get(partition);
    if (list === undefined) return;
    const still = list.filter((w) => {
      if (w.offset >= next) return true;
      w.resolve();
      return false;
    });
    if (still.length === 0) this.waiters.delete(partition);
    else this.waiters.set(partition, still);
  }

  private checkReady(): void {
    if (this.pendingEnds.size > 0 || this.readyMs !== undefined) return;
    this.readyMs = Date.now() - this.startedAt;
    this.options.logger.info({ topic: this.options.topic, keys: this.values.size, records: this.counts.records, ms: this.readyMs }, 'compacted store: read to its end');
    this.markReady();
  }
}
