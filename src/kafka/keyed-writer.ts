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

/**
 * Keyed records and tombstones to one topic with acks=all through an idempotent producer, on the
 * Java client's partitioning (positive murmur2 of the key), so every writer of the topic, in any
 * language, puts a key on the same partition: compaction keeps one value per key only within one.
 */
export class KeyedWriter {
  private readonly producer: Producer;

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
  async write(key: string, value: Buffer | null, headers?: ReadonlyMap<string, Buffer>): Promise<WrittenAt> {
    // No value (undefined) is written as a null value: a tombstone.
    const message: MessageToProduce = { topic: this.topic, key: Buffer.from(key), value: value ?? undefined };
    if (headers !== undefined) message.headers = new Map([...headers].map(([name, v]) => [Buffer.from(name), v]));
    const result = await this.producer.send({ messages: [message], acks: -1 });
    const written = result.offsets?.find((o) => o.topic === this.topic);
    if (written === undefined) throw new Error(`Kafka acknowledged the write to ${this.topic} without an offset`);
    return { partition: written.partition, offset: written.offset };
  }

  async close(): Promise<void> {
    await this.producer.close();
  }
}
