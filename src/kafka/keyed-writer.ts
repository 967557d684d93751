import { Producer, type MessageToProduce } from '@platformatic/kafka';
import { clientOptions, type KafkaConnectionOptions } from './connection-options.js';
import { murmur2 } from './murmur2.js';

export interface WrittenAt {
  readonly partition: number;
  readonly offset: bigint;
}

// The library retries a produce this often before the write fails; an idempotent producer keeps
// retries from writing a record twice.
const PRODUCE_RETRIES = 5;
/** Most records in one produce request. */
const MAX_BATCH = 500;

interface Pending {
  readonly message: MessageToProduce;
  /** The Java client's positive murmur2 of the key: the partition is this modulo the partition count. */
  readonly hash: number;
  readonly resolve: (at: WrittenAt) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Keyed records and tombstones to one topic with acks=all through an idempotent producer, on the
 * Java client's partitioning (positive murmur2 of the key), so every writer of the topic, in any
 * language, puts a key on the same partition: compaction keeps one value per key only within one.
 * Writes made while a request is on its way go together in the next one, in the order they were
 * made, so many writers at once cost a few requests rather than one round trip each.
 */
export class KeyedWriter {
  private readonly producer: Producer;
  private queue: Pending[] = [];
  private sending = false;

  constructor(
    private readonly topic: string,
    connection: KafkaConnectionOptions,
  ) {
    this.producer = new Producer({
      ...clientOptions(connection, PRODUCE_RETRIES),
      idempotent: true,
      acks: -1,
      partitioner: (_message, key) => (key === undefined ? 0 : murmur2(key) & 0x7fffffff),
    });
  }

  /** Writes `value` under `key` (null: a tombstone) and resolves with where Kafka put it. */
  write(key: string, value: Buffer | null, headers?: ReadonlyMap<string, Buffer>): Promise<WrittenAt> {
    const keyBytes = Buffer.from(key);
    // No value (undefined) is written as a null value: a tombstone.
    const message: MessageToProduce = { topic: this.topic, key: keyBytes, value: value ?? undefined };
    if (headers !== undefined) message.headers = new Map([...headers].map(([name, v]) => [Buffer.from(name), v]));
    return new Promise<WrittenAt>((resolve, reject) => {
      this.queue.push({ message, hash: murmur2(keyBytes) & 0x7fffffff, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  async close(): Promise<void> {
    await this.producer.close();
  }

  /** Sends what is queued, a batch per request, until nothing is. */
  private async drain(): Promise<void> {
    this.sending = true;
    // Writes made in the same turn of the event loop join the first request.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        const result = await this.producer.send({ messages: batch.map((p) => p.message), acks: -1 });
        this.settle(batch, (result.offsets ?? []).filter((o) => o.topic === this.topic));
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    this.sending = false;
  }

  /**
   * Kafka answers with each partition's first offset; the records of one partition follow it in the
   * order they were sent. The partition of each is its hash modulo the partition count the send used.
   */
  private settle(batch: readonly Pending[], written: ReadonlyArray<{ readonly partition: number; readonly offset: bigint }>): void {
    if (written.length === 0) {
      for (const pending of batch) pending.reject(new Error(`Kafka acknowledged the write to ${this.topic} without an offset`));
      return;
    }
    const bases = new Map(written.map((w) => [w.partition, w.offset]));
    const partitions = this.producer.currentMetadata?.topics.get(this.topic)?.partitionsCount;
    const next = new Map<number, bigint>();
    for (const pending of batch) {
      const partition = partitions === undefined ? undefined : pending.hash % partitions;
      const base = partition === undefined ? undefined : bases.get(partition);
      if (partition === undefined || base === undefined) {
        // The partition count moved under the send: a record batch Kafka did write for this request
        // (the reader passes a batch whole; this record's own may be read back a moment later).
        pending.resolve(written[0]!);
        continue;
      }
      const offset = next.get(partition) ?? base;
      next.set(partition, offset + 1n);
      pending.resolve({ partition, offset });
    }
  }
}
