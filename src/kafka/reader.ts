import { Consumer } from '@platformatic/kafka';
import { clientOptions } from './connection-options.js';
import type { DecodedPartition } from './fetch-decode.js';
import { NodeFetcher, type FetchHost, type FetchLimits } from './node-fetcher.js';
import { PartitionCursor } from './partition-cursor.js';
import { ReaderHealth } from './reader-health.js';
import { ReaderRefresh, type RefreshHost } from './reader-refresh.js';
import type { AssignOptions, PartitionState, ReaderBatch, ReaderOptions, StartPosition } from './reader-types.js';

export type * from './reader-types.js';

// The partition error that resets a position; after any other the partition's leader is looked up again.
const OUT_OF_RANGE = 'OFFSET_OUT_OF_RANGE';

interface WholeTopic {
  readonly start: StartPosition;
  readonly positions: ReadonlyMap<number, StartPosition> | undefined;
  /** Partitions the topic had when last looked up; -1 before the first look-up. */
  known: number;
}

/**
 * Reads partitions of named topics without a consumer group: the caller assigns partitions (or
 * whole topics) with start positions, owns the positions (nothing is committed to Kafka) and may
 * add, remove, seek, pause and resume partitions at any time. Records reach `onBatch` in offset
 * order per partition; while the handler's promise is pending that partition is not fetched.
 * Leader changes and broker restarts are followed through metadata look-ups with backoff; the log
 * gets one line per change of state (see {@link ReaderHealth}).
 */
export class KafkaReader implements FetchHost, RefreshHost {
  readonly consumer: Consumer;
  readonly health: ReaderHealth;
  readonly readCommitted: boolean;
  readonly outOfRange: 'earliest' | 'latest';
  private isClosed = false;
  private readonly byTopic = new Map<string, Map<number, PartitionCursor>>();
  private readonly whole = new Map<string, WholeTopic>();
  private readonly fetchers = new Map<number, NodeFetcher>();
  private readonly refresh: ReaderRefresh;
  private readonly limits: FetchLimits;
  private readonly periodic: NodeJS.Timeout;

  constructor(private readonly options: ReaderOptions) {
    this.readCommitted = options.readCommitted ?? true;
    this.outOfRange = options.outOfRange ?? 'earliest';
    this.limits = {
      maxWaitMs: options.maxWaitMs ?? 500,
      maxBytes: options.maxBytes ?? 16 * 1024 * 1024,
      partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024,
      retryInitialMs: options.retry?.initialMs ?? 100,
      retryMaxMs: options.retry?.maxMs ?? 5000,
    };
    // A Consumer for its fetch, list-offsets and metadata requests; it never joins its group.
    this.consumer = new Consumer({
      ...clientOptions(options.connection),
      groupId: `${options.connection.clientId}-reader`,
      isolationLevel: this.readCommitted ? 1 : 0,
      maxWaitTime: this.limits.maxWaitMs,
      maxBytes: this.limits.maxBytes,
      minBytes: 1,
    });
    this.health = new ReaderHealth(options.logger, options.connection.brokers);
    this.refresh = new ReaderRefresh(this, this.limits.retryInitialMs, this.limits.retryMaxMs);
    this.periodic = setInterval(() => {
      if (this.whole.size > 0) this.refresh.request();
    }, options.metadataRefreshMs ?? 30_000);
    this.periodic.unref();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Reads these partitions of `topic` (all of them when none are named, following partitions the
   * topic gains). Partitions already assigned keep their position: use {@link seek} to move them.
   */
  assign(topic: string, options: AssignOptions = {}): void {
    this.checkOpen();
    const start = options.start ?? 'latest';
    if (options.partitions === undefined) {
      if (!this.whole.has(topic)) this.whole.set(topic, { start, positions: options.positions, known: -1 });
    } else {
      for (const partition of options.partitions) this.addCursor(topic, partition, options.positions?.get(partition) ?? start);
    }
    this.refresh.request();
  }

  /** Stops reading these partitions of `topic` (all of them when none are named). */
  unassign(topic: string, partitions?: readonly number[]): void {
    const cursors = this.byTopic.get(topic);
    // Named partitions end a whole-topic assignment: they must not come back with the next look-up.
    this.whole.delete(topic);
    if (cursors === undefined) return;
    for (const partition of partitions ?? [...cursors.keys()]) {
      const cursor = cursors.get(partition);
      if (cursor === undefined) continue;
      cursor.removed = true;
      cursors.delete(partition);
      this.options.lag?.remove(topic, partition);
    }
    if (cursors.size === 0) this.byTopic.delete(topic);
  }

  /** Moves an assigned partition: the next batch starts there. A fetch in flight for the old position is dropped. */
  seek(topic: string, partition: number, start: StartPosition): void {
    const cursor = this.cursor(topic, partition);
    cursor.seek(start);
    cursor.resetFrom = undefined;
    if (cursor.next === undefined) this.refresh.request();
    else this.wakeCursor(cursor);
  }

  /** No more batches for the partition until {@link resume}; a fetch in flight for it is dropped. */
  pause(topic: string, partition: number): void {
    this.cursor(topic, partition).paused = true;
  }

  resume(topic: string, partition: number): void {
    const cursor = this.cursor(topic, partition);
    cursor.paused = false;
    this.wakeCursor(cursor);
  }

  /** The next offset the partition delivers; undefined while its start is looked up or when not assigned. */
  position(topic: string, partition: number): bigint | undefined {
    return this.byTopic.get(topic)?.get(partition)?.next;
  }

  /** Each partition's first or end offset now (the end is the last stable offset when reading committed); rejects on failure. */
  offsets(topic: string, which: 'earliest' | 'latest'): Promise<Map<number, bigint>> {
    return this.refresh.offsetsOf(topic, which);
  }

  partitions(): PartitionState[] {
    return [...this.byTopic.values()].flatMap((cursors) => [...cursors.values()].map((c) => c.state()));
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.periodic);
    const stopping = [this.refresh.stop(), ...[...this.fetchers.values()].map((fetcher) => fetcher.stop())];
    // The connections go first: a fetch or metadata request a frozen broker never answers fails
    // then, instead of holding the close for its whole request timeout.
    await this.consumer.close();
    await Promise.all(stopping);
  }

  // ------------------------------------------------------------------ FetchHost, RefreshHost

  fetchable(node: number): PartitionCursor[] {
    const ready: PartitionCursor[] = [];
    for (const cursors of this.byTopic.values()) {
      for (const cursor of cursors.values()) if (cursor.leader === node && cursor.fetchable) ready.push(cursor);
    }
    return ready;
  }

  topicId(topic: string): string | undefined {
    return this.refresh.topicId(topic);
  }

  topicName(id: string): string | undefined {
    return this.refresh.topicName(id);
  }

  topics(): string[] {
    return [...new Set([...this.whole.keys(), ...this.byTopic.keys()])];
  }

  cursorsOf(topic: string): PartitionCursor[] {
    return [...(this.byTopic.get(topic)?.values() ?? [])];
  }

  partitionCount(topic: string, count: number): void {
    const whole = this.whole.get(topic);
    if (whole === undefined) return;
    for (let partition = Math.max(0, whole.known); partition < count; partition++) {
      // Partitions that appear later hold only records written after they appeared: all are new.
      const start = whole.known < 0 ? (whole.positions?.get(partition) ?? whole.start) : 'earliest';
      this.addCursor(topic, partition, start);
    }
    whole.known = Math.max(whole.known, count);
  }

  resolved(cursor: PartitionCursor, offset: bigint): void {
    cursor.next = offset;
    cursor.start = undefined;
    const from = cursor.resetFrom;
    if (from !== undefined) {
      cursor.resetFrom = undefined;
      this.health.positionReset(cursor.topic, cursor.partition, from, offset);
      this.options.onReset?.(cursor.topic, cursor.partition, from, offset);
    }
    this.wakeCursor(cursor);
  }

  leadersKnown(nodes: ReadonlySet<number>): void {
    for (const node of nodes) {
      let fetcher = this.fetchers.get(node);
      if (fetcher === undefined) {
        fetcher = new NodeFetcher(node, this, this.limits);
        this.fetchers.set(node, fetcher);
        fetcher.start();
      }
      fetcher.wake();
    }
  }

  deliver(cursor: PartitionCursor, decoded: DecodedPartition, endOffset: bigint | undefined): void {
    if (endOffset !== undefined) cursor.endOffset = endOffset;
    const before = cursor.next!;
    if (decoded.records.length > 0 || decoded.next !== before) {
      cursor.next = decoded.next;
      this.hand(cursor, before, {
        topic: cursor.topic,
        partition: cursor.partition,
        records: decoded.records,
        nextOffset: decoded.next,
        endOffset: cursor.endOffset ?? decoded.next,
      });
    }
    const lag = cursor.lag;
    if (lag !== undefined && !cursor.removed) this.options.lag?.set(cursor.topic, cursor.partition, lag);
  }

  partitionFailed(cursor: PartitionCursor, code: string): void {
    if (code === OUT_OF_RANGE) {
      cursor.resetFrom ??= cursor.next;
      cursor.seek(this.outOfRange);
    } else {
      // NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION...: ask who leads now.
      cursor.leader = undefined;
    }
    this.refresh.request();
  }

  nodeFailed(node: number, error: unknown, cursors: readonly PartitionCursor[]): void {
    const led = cursors.filter((cursor) => cursor.leader === node);
    for (const cursor of led) cursor.leader = undefined;
    this.health.brokerFailed(node, this.refresh.brokerAddress(node), error, led.length);
    this.refresh.request();
  }

  nodeOk(node: number): void {
    this.health.brokerOk(node, this.refresh.brokerAddress(node));
  }

  // ------------------------------------------------------------------ internals

  /** Gives a batch to the handler; its promise holds the partition, its failure pauses it at `before`. */
  private hand(cursor: PartitionCursor, before: bigint, batch: ReaderBatch): void {
    const generation = cursor.generation;
    const failed = (error: unknown): void => {
      cursor.busy = false;
      if (cursor.generation === generation) cursor.next = before;
      cursor.paused = true;
      this.options.logger.error({ err: error, topic: cursor.topic, partition: cursor.partition }, 'Kafka reader: batch handler failed; partition paused');
    };
    let result: void | Promise<void>;
    try {
      result = this.options.onBatch(batch);
    } catch (error) {
      failed(error);
      return;
    }
    if (result === undefined) return;
    cursor.busy = true;
    result.then(() => {
      cursor.busy = false;
      this.wakeCursor(cursor);
    }, failed);
  }

  private addCursor(topic: string, partition: number, start: StartPosition): void {
    let cursors = this.byTopic.get(topic);
    if (cursors === undefined) this.byTopic.set(topic, (cursors = new Map()));
    if (!cursors.has(partition)) cursors.set(partition, new PartitionCursor(topic, partition, start));
  }

  private cursor(topic: string, partition: number): PartitionCursor {
    const cursor = this.byTopic.get(topic)?.get(partition);
    if (cursor === undefined) throw new Error(`${topic}/${partition} is not assigned to this reader`);
    return cursor;
  }

  private wakeCursor(cursor: PartitionCursor): void {
    if (cursor.leader !== undefined) this.fetchers.get(cursor.leader)?.wake();
  }

  private checkOpen(): void {
    if (this.isClosed) throw new Error('the Kafka reader is closed');
  }
}
