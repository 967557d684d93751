// patches/kafkajs+2.2.4.patch writes a record's headers into the record's own encoder and leaves
// encoder buffers unzeroed. The bytes on the wire must stay exactly what kafkajs wrote before.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);

interface EncoderLike {
  readonly buffer: Buffer;
  writeVarInt(value: number): EncoderLike;
  writeInt8(value: number): EncoderLike;
  writeVarLong(value: number): EncoderLike;
  writeVarIntBytes(value: Buffer | string | null): EncoderLike;
  writeVarIntArray(array: EncoderLike[]): EncoderLike;
}
type EncoderClass = (new (initialSize?: number) => EncoderLike) & { sizeOfVarInt(n: number): number; sizeOfVarLong(n: number): number; sizeOfVarIntBytes(v: unknown): number };
type HeaderValue = Buffer | string | Array<Buffer | string>;
interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, HeaderValue>;
}

const Encoder = require('kafkajs/src/protocol/encoder') as EncoderClass;
const Header = require('kafkajs/src/protocol/recordBatch/header/v0') as (h: { key: string; value: Buffer | string }) => EncoderLike;
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (r: RecordInput) => EncoderLike;

/** kafkajs 2.2.4's own encoding, unpatched: one encoder per header, copied into the record's. */
function reference({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordInput): Buffer {
  const headersArray = Object.keys(headers).flatMap((k) => {
    const v = headers[k]!;
    return Array.isArray(v) ? v.map((x) => ({ key: k, value: x })) : [{ key: k, value: v }];
  });
  let headersSize = Encoder.sizeOfVarInt(headersArray.length);
  for (const h of headersArray) {
    const keySize = Buffer.byteLength(h.key);
    const valueSize = Buffer.byteLength(h.value);
    headersSize += Encoder.sizeOfVarInt(keySize) + keySize + Encoder.sizeOfVarInt(valueSize) + valueSize;
  }
  const sizeOfBody = 1 + Encoder.sizeOfVarLong(timestampDelta) + Encoder.sizeOfVarInt(offsetDelta) + Encoder.sizeOfVarIntBytes(key) + Encoder.sizeOfVarIntBytes(value) + headersSize;
  return new Encoder()
    .writeVarInt(sizeOfBody)
    .writeInt8(0)
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarIntArray(headersArray.map(Header)).buffer;
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
