// A Kafka consumer group member reading one topic: Kafka spreads the topic's partitions over the
// members of the group, wherever they run, so each record reaches one member. Positions are
// committed to the group as records are handed on.
import { Consumer, MessagesStreamFallbackModes, MessagesStreamModes, type Message, type MessagesStream } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { clientOptions, type KafkaConnectionOptions } from './connection-options.js';
import type { ReaderRecord } from './reader-types.js';

export interface GroupConsumerOptions {
  readonly connection: KafkaConnectionOptions;
  readonly groupId: string;
  readonly topic: string;
  readonly logger: Logger;
  /** Takes each record, in offset order per partition. */
  readonly onRecord: (topic: string, partition: number, record: ReaderRecord) => void;
  /** How long the broker may hold a fetch waiting for records [500]. */
  readonly maxWaitMs?: number;
}

type BufferMessage = Message<Buffer, Buffer, Buffer, Buffer>;

/**
 * Joins the group and reads from the group's committed positions (a new group: from the live
 * end). Records are delivered at most once per member and committed every second, so a member
 * that leaves hands its partitions over at about where it was (records after the last commit are
 * read again by the next owner).
 */
export class GroupConsumer {
  private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private closing = false;
  private starting: Promise<void> | undefined;
  private held = false;

  constructor(private readonly options: GroupConsumerOptions) {
    this.consumer = new Consumer({
      ...clientOptions(options.connection, 5),
      groupId: options.groupId,
      maxWaitTime: options.maxWaitMs ?? 500,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      rebalanceTimeout: 10_000,
    });
  }

  /** Resolves once the member has joined and reads; retries in the background on failure. */
  start(): Promise<void> {
    this.starting ??= this.join();
    return this.starting;
  }

  /** Stops handing records on (the stream buffers a little, then Kafka holds the rest). */
  hold(held: boolean): void {
    this.held = held;
    if (held) this.stream?.pause();
    else this.stream?.resume();
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.starting?.catch(() => undefined);
    await this.stream?.close().catch(() => undefined);
    await this.consumer.close(true).catch(() => undefined);
  }

  private async join(): Promise<void> {
    const { topic, groupId, logger } = this.options;
    for (let delayMs = 250; !this.closing; delayMs = Math.min(delayMs * 2, 5000)) {
      try {
        const stream = await this.consumer.consume({
          topics: [topic],
          mode: MessagesStreamModes.COMMITTED,
          fallbackMode: MessagesStreamFallbackModes.LATEST,
          autocommit: 1000,
        });
        this.stream = stream;
        stream.on('data', (message: BufferMessage) => this.options.onRecord(message.topic, message.partition, toRecord(message)));
        stream.on('error', (error: unknown) => logger.warn({ err: error, groupId, topic }, 'shared subscription consumer failed'));
        if (this.held) stream.pause();
        if (this.closing) await stream.close();
        return;
      } catch (error) {
        logger.warn({ err: error, groupId, topic, retryInMs: delayMs }, 'shared subscription consumer could not join its group');
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      }
    }
  }
}

function toRecord(message: BufferMessage): ReaderRecord {
  return {
    offset: message.offset,
    timestamp: Number(message.timestamp),
    key: message.key ?? null,
    value: message.value ?? null,
    headers: message.headerEntries,
  };
}
