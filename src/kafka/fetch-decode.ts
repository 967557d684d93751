import type { RecordsBatch } from '@platformatic/kafka';
import type { ReaderRecord } from './reader-types.js';

// Record batch attributes (Kafka protocol, magic 2).
const TIMESTAMP_TYPE_LOG_APPEND = 1 << 3;
const IS_CONTROL = 1 << 5;

export interface DecodedPartition {
  readonly records: ReaderRecord[];
  /** Offset after the last batch returned (at least the fetch offset). */
  readonly next: bigint;
}

/**
 * The records of a partition's fetched batches at or after `from`, in offset order. A compressed
 * batch comes whole, so its records before the fetch offset are dropped here. Control batches
 * (transaction markers) hold no records for the caller but move the position past them.
 */
export function decodeBatches(batches: readonly RecordsBatch[] | null | undefined, from: bigint): DecodedPartition {
  const records: ReaderRecord[] = [];
  let next = from;
  if (batches === null || batches === undefined) return { records, next };
  for (const batch of batches) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (last < from) continue;
    if (last + 1n > next) next = last + 1n;
    if ((batch.attributes & IS_CONTROL) !== 0) continue;
    const appendTime = (batch.attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
    const firstTimestamp = Number(batch.firstTimestamp);
    const maxTimestamp = Number(batch.maxTimestamp);
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < from) continue;
      records.push({
        offset,
        timestamp: appendTime ? maxTimestamp : firstTimestamp + Number(record.timestampDelta),
        key: record.key,
        value: record.value,
        headers: record.headers,
      });
    }
  }
  return { records, next };
}
