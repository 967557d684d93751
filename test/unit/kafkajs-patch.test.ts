// patches/kafkajs+2.2.4.patch takes allocations out of kafkajs' per-record path: headers written
// into the record's own encoder, unzeroed encoder buffers, varints written in place, murmur2 in
// 32-bit integers, records grouped per partition by appending. Bytes on the wire and partitions
// chosen must stay exactly what kafkajs and the Java client produce.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { javaPartition } from '../../src/kafka/murmur2.js';

const require = createRequire(import.meta.url);

interface EncoderLike {
  readonly buffer: Buffer;
  writeInt8(value: number): EncoderLike;
  writeVarInt(value: number): EncoderLike;
  writeVarLong(value: number): EncoderLike;
}
type HeaderValue = Buffer | string | Array<Buffer | string>;
interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, HeaderValue>;
}

const Encoder = require('kafkajs/src/protocol/encoder') as new () => EncoderLike;
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (r: RecordInput) => EncoderLike;

/** Zig-zag LEB128, as the Kafka protocol defines varint and varlong, computed with BigInt. */
function varint(n: number | bigint): Buffer {
  const v = BigInt(n);
  let z = v >= 0n ? v << 1n : (-v << 1n) - 1n;
  const bytes: number[] = [];
  while (z >= 0x80n) {
    bytes.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  bytes.push(Number(z));
  return Buffer.from(bytes);
}

const bytesOf = (value: Buffer | string | null): Buffer =>
  value === null ? varint(-1) : Buffer.concat([varint(Buffer.byteLength(value)), Buffer.from(value)]);

/** A v2 record per the protocol: length, attributes, deltas, key, value, headers. */
function reference({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordInput): Buffer {
  const pairs = Object.keys(headers).flatMap((k) => {
    const v = headers[k]!;
    return Array.isArray(v) ? v.map((x) => [k, x] as const) : [[k, v] as const];
  });
  const body = Buffer.concat([
    Buffer.from([0]),
    varint(timestampDelta),
    varint(offsetDelta),
    bytesOf(key),
    bytesOf(value),
    varint(pairs.length),
    ...pairs.flatMap(([k, v]) => [bytesOf(k), bytesOf(v)]),
  ]);
  return Buffer.concat([varint(body.length), body]);
}

const cases: Array<[string, RecordInput]> = [
  ['no headers, no key', { key: null, value: Buffer.from('x') }],
  ['the proxy\'s four headers', { key: 'dev-1', value: Buffer.alloc(100, 0x61), timestampDelta: 17, offsetDelta: 3, headers: { 'mqtt.topic': 'devices/dev-1/telemetry', 'mqtt.qos': '1', 'mqtt.retain': 'false', 'mqtt.client_id': 'dev-1' } }],
  ['binary and repeated header values, unicode names', { key: Buffer.from([0, 255, 7]), value: Buffer.alloc(0), headers: { 'mqtt.correlation_data': Buffer.from([1, 2, 3, 0]), 'ünïcødé ✓': ['a', 'bb', 'ccc'], empty: '' } }],
  ['a payload that outgrows the first buffer', { key: 'k', value: Buffer.alloc(70_000, 0x62), timestampDelta: 2 ** 40, offsetDelta: 999, headers: { big: 'h'.repeat(3000) } }],
  ['a null value (tombstone)', { key: 'k', value: null, headers: { a: 'b' } }],
];

for (const [name, input] of cases) {
  test(`record encoding unchanged by the patch: ${name}`, () => {
    // Fill the shared pool with garbage first: unzeroed buffers must not leak it into the record.
    Buffer.allocUnsafe(2048).fill(0xee);
    assert.deepEqual(Record(input).buffer, reference(input));
  });
}

test('an encoder\'s bytes are only what was written, whatever its buffer held', () => {
  for (let i = 0; i < 50; i++) Buffer.allocUnsafe(512).fill(0xee);
  const bytes = new Encoder().writeInt8(1).writeVarInt(300).buffer;
  assert.deepEqual(bytes, Buffer.from([1, 0xd8, 0x04]));
});

test('varints and varlongs are the protocol\'s zig-zag LEB128, on both sides of every size step', () => {
  const edges = [0, 1, -1, 63, 64, -64, -65, 8191, 8192, 2 ** 20, -(2 ** 20), 2 ** 30 - 1, 2 ** 30, -(2 ** 30), -(2 ** 30) - 1, 2 ** 31 - 1, -(2 ** 31)];
  for (const n of edges) {
    assert.deepEqual(new Encoder().writeVarInt(n).buffer, varint(n), `varint ${n}`);
    assert.deepEqual(new Encoder().writeVarLong(n).buffer, varint(n), `varlong ${n}`);
  }
  for (const n of [2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, 1_796_016_660_105]) {
    assert.deepEqual(new Encoder().writeVarLong(n).buffer, varint(n), `varlong ${n}`);
  }
});

type Message = { key?: string | Buffer | null; partition?: number; value: string };
type PartitionMetadata = { partitionId: number; leader: number };
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number;
const DefaultPartitioner = require('kafkajs/src/producer/partitioners/default') as () => (a: { topic: string; partitionMetadata: PartitionMetadata[]; message: Message }) => number;
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (a: {
  topic: string;
  partitionMetadata: PartitionMetadata[];
  messages: Message[];
  partitioner: (a: { topic: string; partitionMetadata: PartitionMetadata[]; message: Message }) => number;
}) => Record<string, Message[]>;

test("murmur2 gives the Java client's hashes (org.apache.kafka.common.utils.UtilsTest)", () => {
  const java: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, hash] of java) {
    assert.equal(kafkajsMurmur2(Buffer.from(key)), hash, key);
    assert.equal(kafkajsMurmur2(key), hash, `${key} as a string`);
  }
});

test('the default partitioner: an explicit partition wins, a key hashes like Java, no key goes round the partitions with a leader', () => {
  const partitionMetadata = [0, 1, 2, 3, 4].map((partitionId) => ({ partitionId, leader: partitionId === 2 ? -1 : 1 }));
  const partitioner = DefaultPartitioner();
  const topic = 't';
  assert.equal(partitioner({ topic, partitionMetadata, message: { key: 'k', partition: 4, value: 'v' } }), 4);
  for (let i = 0; i < 300; i++) {
    const key = `device-${i * 7919}`;
    assert.equal(partitioner({ topic, partitionMetadata, message: { key, value: 'v' } }), javaPartition(Buffer.from(key), 5), key);
  }
  const unkeyed = Array.from({ length: 8 }, () => partitioner({ topic, partitionMetadata, message: { value: 'v' } }));
  assert.ok(!unkeyed.includes(2), `partition without a leader chosen: ${unkeyed.join(',')}`);
  const available = [0, 1, 3, 4];
  for (let i = 1; i < unkeyed.length; i++) {
    assert.equal(available.indexOf(unkeyed[i]!), (available.indexOf(unkeyed[i - 1]!) + 1) % 4, `round robin: ${unkeyed.join(',')}`);
  }
});

test('records grouped per partition keep their order, and none is lost or repeated', () => {
  const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1 }));
  const messages: Message[] = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i % 37}`, value: String(i) }));
  const partitioner = DefaultPartitioner();
  const groups = groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner });
  assert.deepEqual(Object.keys(groups).sort(), ['0', '1', '2']);
  for (const [partition, group] of Object.entries(groups)) {
    const values = group.map((m) => Number(m.value));
    assert.deepEqual(values, [...values].sort((a, b) => a - b), `partition ${partition} in order`);
    for (const m of group) assert.equal(javaPartition(Buffer.from(m.key as string), 3), Number(partition));
  }
  assert.equal(Object.values(groups).reduce((n, g) => n + g.length, 0), 1000);
  assert.deepEqual(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages, partitioner }), {});
});
