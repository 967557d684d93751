import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordsBatch } from '@platformatic/kafka';
import { decodeBatches } from '../../src/kafka/fetch-decode.js';
import { Backoff, describeCause } from '../../src/kafka/reader-health.js';

function batch(firstOffset: bigint, deltas: number[], { lastOffsetDelta = deltas.at(-1) ?? 0, attributes = 0, firstTimestamp = 1000n, maxTimestamp = 5000n } = {}): RecordsBatch {
  return {
    firstOffset,
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta,
    firstTimestamp,
    maxTimestamp,
    producerId: -1n,
    producerEpoch: -1,
    firstSequence: -1,
    records: deltas.map((offsetDelta) => ({
      length: 0,
      attributes: 0,
      timestampDelta: BigInt(offsetDelta * 10),
      offsetDelta,
      key: Buffer.from(`k${offsetDelta}`),
      value: Buffer.from(`v${offsetDelta}`),
      headers: [],
    })),
  };
}

test('decode: records before the fetch offset (a whole compressed batch) are dropped, the position is past the last batch', () => {
  const decoded = decodeBatches([batch(10n, [0, 1, 2, 3]), batch(14n, [0, 1])], 12n);
  assert.deepEqual(decoded.records.map((r) => r.offset), [12n, 13n, 14n, 15n]);
  assert.equal(decoded.next, 16n);
  assert.equal(decoded.records[0]!.timestamp, 1020);
});

test('decode: compaction gaps and a batch whose last records were removed still move the position to its end', () => {
  const decoded = decodeBatches([batch(0n, [0, 3], { lastOffsetDelta: 9 })], 0n);
  assert.deepEqual(decoded.records.map((r) => r.offset), [0n, 3n]);
  assert.equal(decoded.next, 10n);
});

test('decode: control batches (transaction markers) deliver nothing and move the position; LogAppendTime uses the batch time', () => {
  const control = batch(5n, [0], { attributes: 1 << 5 });
  const appended = batch(6n, [0, 1], { attributes: 1 << 3, maxTimestamp: 777n });
  const decoded = decodeBatches([control, appended], 5n);
  assert.deepEqual(decoded.records.map((r) => [r.offset, r.timestamp]), [[6n, 777], [7n, 777]]);
  assert.equal(decoded.next, 8n);
  assert.deepEqual(decodeBatches(null, 42n), { records: [], next: 42n });
});

test('backoff doubles up to its bound (with jitter) and starts over after reset', () => {
  const backoff = new Backoff(100, 1000);
  const delays = Array.from({ length: 6 }, () => backoff.fail());
  assert.ok(delays[0]! >= 80 && delays[0]! <= 120, `first ${delays[0]}`);
  assert.ok(delays[3]! >= 640 && delays[3]! <= 960, `fourth ${delays[3]}`);
  assert.ok(delays[5]! >= 800 && delays[5]! <= 1200, `bounded ${delays[5]}`);
  backoff.reset();
  assert.equal(backoff.failing, false);
  assert.ok(backoff.fail() <= 120);
});

test('describeCause names the Kafka error and the innermost message, not the retry wrapper', () => {
  const inner = Object.assign(new Error('This server is not the leader for that topic-partition.'), { apiId: 'NOT_LEADER_OR_FOLLOWER' });
  const wrapper = new AggregateError([inner], 'fetch failed 3 times.');
  assert.equal(describeCause(wrapper), 'NOT_LEADER_OR_FOLLOWER: This server is not the leader for that topic-partition.');
  const refused = Object.assign(new Error('Connection to 127.0.0.1:43002 failed.'), { cause: new Error('connect ECONNREFUSED 127.0.0.1:43002') });
  assert.equal(describeCause(refused), 'connect ECONNREFUSED 127.0.0.1:43002');
});
