import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { compressionsAlgorithms } from '@platformatic/kafka';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/server/load-config.js';

const BASE = 'auth: { anonymous: true }\nunmapped: { topic: t }\n';
const KAFKA_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

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
});

describe('the Kafka client carries every codec on this Node.js', () => {
  const samples = [
    Buffer.alloc(0),
    Buffer.from('x'),
    Buffer.from('{"t":21.5,"status":"ok"}'.repeat(100)),
    randomBytes(70_000), // incompressible
    Buffer.from('abcdefgh'.repeat(50_000)), // 400 KB: several LZ4 blocks
  ];

  for (const codec of KAFKA_COMPRESSIONS) {
    test(`${codec}: available, and compress then decompress gives the bytes back`, () => {
      const algorithm = compressionsAlgorithms[codec];
      assert.equal(algorithm.available, true, `${codec} is not available on Node.js ${process.versions.node}`);
      for (const sample of samples) {
        const compressed = algorithm.compressSync(sample);
        assert.deepEqual(Buffer.from(algorithm.decompressSync(compressed)), sample, `${codec}, ${sample.length} bytes`);
      }
      if (codec !== 'none') {
        const repetitive = samples[4]!;
        assert.ok(algorithm.compressSync(repetitive).length < repetitive.length / 10, `${codec} compresses`);
      }
    });
  }
});
