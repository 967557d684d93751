import type { Logger } from 'pino';
import type { KafkaConnectionOptions } from './connection-options.js';

/**
 * Where reading a partition starts: an explicit offset (the next one to deliver), the first
 * offset still in the log, the end (only records written from now on), or the first record whose
 * timestamp is at or after `timestamp` (milliseconds since the epoch; the end when there is none).
 */
export type StartPosition = 'earliest' | 'latest' | { readonly offset: bigint } | { readonly timestamp: number };

/** A record header as Kafka carries it: name and value bytes (the value may be null). */
export type RecordHeader = readonly [name: Buffer | null, value: Buffer | null];

export interface ReaderRecord {
  readonly offset: bigint;
  /** Milliseconds since the epoch (the broker's append time on topics with LogAppendTime). */
  readonly timestamp: number;
  readonly key: Buffer | null;
  /** null for a tombstone. */
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
}

/**
 * Consecutive records of one partition, in offset order. `nextOffset` is the position after the
 * batch: the offset the reader fetches next, past any offsets that hold no record for the caller
 * (removed by compaction, transaction markers, aborted records). A batch may hold no records and
 * only move the position.
 */
export interface ReaderBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly ReaderRecord[];
  readonly nextOffset: bigint;
  /** The end of the partition as the broker last reported it (last stable offset when reading committed). */
  readonly endOffset: bigint;
}

/**
 * Takes a batch. Until the returned promise settles, the reader fetches nothing more for that
 * partition (other partitions go on): backpressure per partition. A rejection (or a throw) pauses
 * the partition with the batch not taken: after {@link KafkaReader.resume} it is delivered again.
 */
export type BatchHandler = (batch: ReaderBatch) => void | Promise<void>;

/** Where the reader reports how far each partition is behind its end, in records. */
export interface LagSink {
  set(topic: string, partition: number, lag: number): void;
  /** The partition is no longer read. */
  remove(topic: string, partition: number): void;
}

/** Told when a position was out of the log's range (deleted by retention, topic recreated) and reset. */
export type ResetHandler = (topic: string, partition: number, from: bigint, to: bigint) => void;

export interface ReaderOptions {
  readonly connection: KafkaConnectionOptions;
  readonly logger: Logger;
  readonly onBatch: BatchHandler;
  readonly lag?: LagSink;
  readonly onReset?: ResetHandler;
  /** Where a position outside the log goes: its start (default) or its end. */
  readonly outOfRange?: 'earliest' | 'latest';
  /** How long the broker may hold a fetch waiting for records [500]. */
  readonly maxWaitMs?: number;
  /** Most bytes per partition per fetch [1 MiB]; a larger first batch still comes whole. */
  readonly partitionMaxBytes?: number;
  /** Most bytes per fetch response [16 MiB]. */
  readonly maxBytes?: number;
  /** Records of aborted transactions are not delivered [true]. */
  readonly readCommitted?: boolean;
  /** How often assigned whole topics are checked for new partitions, in ms [30000]. */
  readonly metadataRefreshMs?: number;
  /** Retry delays after failures: from `initialMs`, doubling, up to `maxMs` [100, 5000]. */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
}

export interface AssignOptions {
  /** Partitions to read; omitted: all of them, including partitions added to the topic later. */
  readonly partitions?: readonly number[];
  /** Where each assigned partition starts [latest]. Partitions added later start at the earliest. */
  readonly start?: StartPosition;
  /** Per-partition start positions that override `start` (e.g. positions kept in a session). */
  readonly positions?: ReadonlyMap<number, StartPosition>;
}

/** What the reader knows about one assigned partition. */
export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to deliver; undefined while the start position is being looked up. */
  readonly position: bigint | undefined;
  readonly endOffset: bigint | undefined;
  readonly leader: number | undefined;
  /** Paused by the caller (or by a handler failure). */
  readonly paused: boolean;
  /** The handler has not settled the last batch yet. */
  readonly waiting: boolean;
}
