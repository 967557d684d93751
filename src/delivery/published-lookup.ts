// Whether a QoS 2 PUBLISH that was in doubt (written down, then maybe sent to Kafka before its
// replica or connection went) is in Kafka: its Kafka topic is read from the time the PUBLISH
// arrived to the end, looking for the record carrying its publish id. One group-less reader per
// look-up; it happens only for a retransmission after a crash, never on the way of a new message.
import { KafkaReader } from '../kafka/reader.js';
import type { KafkaConnectionOptions } from '../kafka/connection-options.js';
import type { ReaderBatch, RecordHeader } from '../kafka/reader-types.js';
import type { Logger } from '../observability/logger.js';

export interface PublishedQuery {
  readonly kafkaTopic: string;
  /** The `mqtt.publish_id` header value looked for. */
  readonly publishId: string;
  /** When the PUBLISH arrived (its record's timestamp, ms since the epoch). */
  readonly at: number;
}

export interface PublishedLookupOptions {
  readonly connection: KafkaConnectionOptions;
  readonly logger: Logger;
  /**
   * How long after the PUBLISH arrived its write may still land [2000]: a look-up before then waits
   * (a produce request sent just before a crash is appended by the broker shortly after).
   */
  readonly settleMs?: number;
  /** Read from this long before the PUBLISH arrived (clock steps, LogAppendTime topics) [10000]. */
  readonly marginMs?: number;
  /**
   * A partition is read no further than records stamped this long after the PUBLISH arrived: its
   * record was written within its produce timeout, so the look-up reads about that much of the log
   * however long ago that was [60000].
   */
  readonly windowMs?: number;
  /** A look-up that takes longer fails (the client retransmits later) [30000]. */
  readonly timeoutMs?: number;
}

const POLL_MS = 50;
const HEADER = Buffer.from('mqtt.publish_id');

/** Looks up records by publish id; `find` resolves true when found, false when read to the end without it. */
export class PublishedLookup {
  constructor(private readonly options: PublishedLookupOptions) {}

  async find(query: PublishedQuery): Promise<boolean> {
    const { settleMs = 2000, marginMs = 10_000, windowMs = 60_000, timeoutMs = 30_000 } = this.options;
    const past = query.at + windowMs;
    const wait = query.at + settleMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const wanted = Buffer.from(query.publishId);
    let settle: (found: boolean) => void = () => undefined;
    let fail: (error: Error) => void = () => undefined;
    const result = new Promise<boolean>((resolve, reject) => ((settle = resolve), (fail = reject)));
    const ends = new Map<number, bigint>();
    const open = new Set<number>();
    const done = (partition: number): void => {
      if (open.delete(partition) && open.size === 0) settle(false);
    };
    const onBatch = (batch: ReaderBatch): void => {
      const end = ends.get(batch.partition);
      if (end === undefined) return;
      for (const record of batch.records) {
        if (carries(record.headers, wanted)) return settle(true);
        // Written after the window: the message's record would have come before it.
        if (record.timestamp > past) return done(batch.partition);
      }
      if (batch.nextOffset >= end) done(batch.partition);
    };
    const reader = new KafkaReader({ connection: this.options.connection, logger: this.options.logger, onBatch, maxWaitMs: 100 });
    const timer = setTimeout(() => fail(new Error(`publish ${query.publishId} not looked up in ${query.kafkaTopic} within ${timeoutMs} ms`)), timeoutMs);
    // A partition whose start by time is its end delivers no batch: it is done once its position is there.
    const poll = setInterval(() => {
      for (const state of reader.partitions()) {
        const end = ends.get(state.partition);
        if (state.position !== undefined && end !== undefined && state.position >= end) done(state.partition);
      }
    }, POLL_MS);
    try {
      for (const [partition, end] of await reader.offsets(query.kafkaTopic, 'latest')) {
        if (end === 0n) continue;
        ends.set(partition, end);
        open.add(partition);
      }
      if (open.size === 0) return false;
      reader.assign(query.kafkaTopic, { partitions: [...open], start: { timestamp: query.at - marginMs } });
      return await result;
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
      await reader.close();
    }
  }
}

function carries(headers: readonly RecordHeader[], publishId: Buffer): boolean {
  for (const [name, value] of headers) if (name !== null && value !== null && name.equals(HEADER) && value.equals(publishId)) return true;
  return false;
}
