import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import xxh32 from 'lz4js/xxh32.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/server/load-config.js';
import { KAFKA_COMPRESSIONS, NO_COMPRESSION, compressionProblem, prepareCompression } from '../../src/kafka/compression.js';

const BASE = 'auth: { anonymous: true }\nunmapped: { topic: t }\n';

describe('kafka.compression config', () => {
  test('defaults to none and accepts every listed codec', () => {
    assert.equal(parseConfig(BASE, 'c.yaml').kafka.compression, 'none');
    for (const codec of KAFKA_COMPRESSIONS) assert.equal(parseConfig(`${BASE}kafka: { compression: ${codec} }\n`, 'c.yaml').kafka.compression, codec);
  });

  test('refuses anything else, naming the path', () => {
    for (const bad of ['brotli', 'LZ4', '1', 'null']) {
      assert.throws(
        () => parseConfig(`${BASE}kafka: { compression: ${bad} }\n`, 'c.yaml'),
        (error: unknown) => error instanceof ConfigError && error.message.includes('c.yaml: kafka.compression: expected one of none, gzip, snappy, lz4, zstd'),
      );
    }
  });

  test('every codec is installed with the proxy', () => {
    for (const codec of KAFKA_COMPRESSIONS) assert.equal(compressionProblem(codec), null, codec);
  });
});

describe('codecs registered with the Kafka client', () => {
  const registry = kafkajs.CompressionCodecs as unknown as Record<number, () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> }>;
  const samples = [
    Buffer.alloc(0),
    Buffer.from('x'),
    Buffer.from('{"t":21.5,"status":"ok"}'.repeat(100)),
    randomBytes(70_000), // incompressible: stored blocks
    Buffer.from('abcdefgh'.repeat(50_000)), // 400 KB: several 64 KiB LZ4 blocks
  ];

  test('none needs no codec', async () => {
    assert.equal(await prepareCompression('none'), NO_COMPRESSION);
  });

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    test(`${codec}: compress then decompress gives the bytes back`, async () => {
      const type = await prepareCompression(codec);
      const implementation = registry[type]!();
      for (const sample of samples) {
        const compressed = await implementation.compress({ buffer: sample });
        assert.deepEqual(await implementation.decompress(compressed), sample, `${codec}, ${sample.length} bytes`);
      }
      const repetitive = samples[4]!;
      assert.ok((await implementation.compress({ buffer: repetitive })).length < repetitive.length / 10, `${codec} compresses`);
    });
  }

  test('lz4 frames declare independent blocks (Kafka refuses dependent ones) with a valid header checksum', async () => {
    const implementation = registry[await prepareCompression('lz4')]!();
    const frame = await implementation.compress({ buffer: Buffer.from('hello hello hello') });
    assert.equal(frame.readUInt32LE(0), 0x184d2204);
    assert.equal(frame[4]! & 0xe0, 0x60, 'version 01 and block independence');
    // Header checksum: second byte of xxHash32 (seed 0) over the two descriptor bytes. Kafka checks it
    // (the integration test proves the broker accepts these frames); lz4js does not.
    assert.equal(frame[6], (xxh32.hash(0, frame, 4, 2) >> 8) & 0xff);
    assert.deepEqual(await implementation.decompress(frame), Buffer.from('hello hello hello'));
  });
});
