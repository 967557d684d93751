/**
 * Where the records of one produce request were written. Kafka answers a produce request with the
 * base offset of each partition it wrote; the records of one partition take consecutive offsets in
 * the order they were in the request. The partition of each record is the partitioner's choice
 * modulo the topic's partition count (the client applies the modulo), so the receipt remembers the
 * partitioner's choices and reads the counts from the client's cached metadata when first asked.
 */
import type { RecordPosition, WriteReceipt } from './record.js';

export interface WrittenPartition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

export interface ReceiptInput<M extends { readonly topic: string }> {
  /** The request's messages, in order. */
  readonly messages: readonly M[];
  /** The partitioner's choice for each message, before the modulo. */
  readonly chosenPartition: (message: M) => number | undefined;
  /** Base offset per written partition, as Kafka answered. */
  readonly written: readonly WrittenPartition[] | undefined;
  /** Partition counts of these topics (cached metadata). */
  readonly partitionCounts: (topics: readonly string[]) => Promise<ReadonlyMap<string, number>>;
}

export function writeReceipt<M extends { readonly topic: string }>(input: ReceiptInput<M>): WriteReceipt {
  let positions: Promise<ReadonlyArray<RecordPosition | undefined>> | undefined;
  return {
    position(index) {
      positions ??= positionsOf(input).catch(() => []);
      return positions.then((all) => all[index]);
    },
  };
}

async function positionsOf<M extends { readonly topic: string }>(input: ReceiptInput<M>): Promise<ReadonlyArray<RecordPosition | undefined>> {
  const { messages, written } = input;
  if (written === undefined) return [];
  const counts = await input.partitionCounts([...new Set(messages.map((message) => message.topic))]);
  return assignOffsets(messages.map((message) => ({ topic: message.topic, chosen: input.chosenPartition(message) })), counts, written);
}

/** Pure: each record's partition and offset, from the partitioner's choices, counts and base offsets. */
export function assignOffsets(
  records: ReadonlyArray<{ readonly topic: string; readonly chosen: number | undefined }>,
  counts: ReadonlyMap<string, number>,
  written: readonly WrittenPartition[],
): Array<RecordPosition | undefined> {
  const base = new Map<string, bigint>();
  for (const entry of written) base.set(`${entry.topic}\u0000${entry.partition}`, entry.offset);
  const taken = new Map<string, bigint>();
  return records.map(({ topic, chosen }) => {
    const count = counts.get(topic);
    if (chosen === undefined || count === undefined || count < 1) return undefined;
    const partition = chosen % count;
    const key = `${topic}\u0000${partition}`;
    const first = base.get(key);
    if (first === undefined) return undefined;
    const before = taken.get(key) ?? 0n;
    taken.set(key, before + 1n);
    return { topic, partition, offset: String(first + before) };
  });
}
