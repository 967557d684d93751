// kafka.compression against a real Kafka: records produced with each codec are accepted by the
// broker (which decompresses them to validate) and read back unchanged by kcat (librdkafka, a
// decoder that shares no code with the proxy). kcat's protocol debug output names the codec of
// the batches it fetched, so a codec silently falling back to none would fail too.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import zlib from 'node:zlib';
import mqtt from 'mqtt';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/server/load-config.js';
import { createProxy } from '../../src/server.js';
import { createTopics, testBrokers, testKafkaClient, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

interface KcatRecord {
  readonly key: string | null;
  readonly payload: string | null;
}

function kcat(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('kcat', [...args], { timeout: 20000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

async function kcatRead(topic: string, count: number): Promise<{ records: KcatRecord[]; debug: string }> {
  const deadline = Date.now() + 20000;
  for (;;) {
    const result = await kcat(['-C', '-b', testBrokers().join(','), '-t', topic, '-o', 'beginning', '-e', '-J', '-d', 'msg,fetch']);
    assert.equal(result.code, 0, `kcat failed: ${result.stderr.slice(-2000)}`);
    const records = result.stdout
      .split('\n')
      .filter((line) => line.trim().startsWith('{'))
      .map((line) => JSON.parse(line) as KcatRecord);
    if (records.length >= count || Date.now() > deadline) return { records, debug: result.stderr };
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
// Each codec on each Kafka client library (only TEST_KAFKA_CLIENT's when it is set): their encoders
// share no code (kafkajs with codec packages, @platformatic/kafka with its own).
const CLIENTS = testKafkaClient().kafkaClient !== undefined ? [testKafkaClient().kafkaClient!] : ['kafkajs', 'platformatic'];
/** @platformatic/kafka compresses zstd with node:zlib, which has it from Node.js 22.15 on. */
const zlibHasZstd = typeof (zlib as unknown as Record<string, unknown>)['zstdCompressSync'] === 'function';

describe('kafka.compression', () => {
  const running: RunningProxy[] = [];
  after(async () => {
    for (const proxy of running) await proxy.stop();
  });

  for (const kafkaClient of CLIENTS)
  for (const codec of CODECS) {
    test(`${codec}: records round-trip through Kafka compressed (${kafkaClient})`, async () => {
      const topic = uniqueName(`mkp-compression-${codec}`);
      const yaml = `
auth: { anonymous: true }
kafka: { compression: ${codec}, lingerMs: 20 }
mappings:
  - { name: all, match: '^c/(?<id>[^/]+)$', topic: ${topic}, key: '\${id}' }
`;
      if (kafkaClient === 'platformatic' && codec === 'zstd' && !zlibHasZstd) {
        // Refused when the configuration is loaded rather than at the first produce request.
        await assert.rejects(
          startProxy(yaml, { kafkaClient }),
          (error: unknown) => error instanceof ConfigError && /kafka\.compression: zstd is not available with kafka\.client platformatic/.test(error.message),
        );
        return;
      }
      await createTopics([topic]);
      const proxy = await startProxy(yaml, { kafkaClient });
      running.push(proxy);
      await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 15000, 'Kafka connection');
      // Compressible text, a large repetitive payload spanning several LZ4 blocks, and random bytes.
      const payloads = [
        ...Array.from({ length: 40 }, (_, i) => Buffer.from(`{"device":"d-${i}","temperature":${20 + i / 10},"status":"ok ok ok ok"}`)),
        Buffer.from('abcdefgh'.repeat(40_000)),
        randomBytes(3000),
      ];
      const client = await mqtt.connectAsync(proxy.url, { protocolVersion: 4 });
      try {
        await Promise.all(payloads.map((payload, i) => client.publishAsync(`c/dev-${i}`, payload, { qos: 1 })));
      } finally {
        await client.endAsync();
      }
      const { records, debug } = await kcatRead(topic, payloads.length);
      assert.equal(records.length, payloads.length);
      const byKey = new Map(records.map((r) => [r.key, r.payload]));
      payloads.forEach((payload, i) => {
        const got = byKey.get(`dev-${i}`);
        if (payload.every((b) => b < 0x80)) assert.equal(got, payload.toString(), `payload of dev-${i}`);
        else assert.ok(got !== undefined && got !== null, `record dev-${i} is there`);
      });
      // librdkafka ends each fetched batch's debug line with its codec ("uncompressed" when none).
      const codecs = [...debug.matchAll(/aborted msgsets, ([a-z0-9]+)\)/g)].map((m) => m[1]);
      assert.ok(codecs.length > 0, `kcat printed no batch line:\n${debug.slice(-1500)}`);
      assert.deepEqual([...new Set(codecs)], [codec], `codecs of the fetched batches`);
    });
  }

  test('an unknown codec is a configuration error naming kafka.compression', () => {
    assert.throws(
      () => parseConfig('auth: { anonymous: true }\nkafka: { compression: brotli }\nunmapped: { topic: t }\n', 'c.yaml'),
      (error: unknown) => error instanceof ConfigError && /c\.yaml: kafka\.compression: expected one of none, gzip, snappy, lz4, zstd, got the string "brotli"/.test(error.message),
    );
  });

  test('createProxy accepts every codec this installation has', () => {
    for (const codec of ['none', ...CODECS]) {
      const config = parseConfig(`auth: { anonymous: true }\nkafka: { compression: ${codec} }\nunmapped: { topic: t }\n`, 'c.yaml');
      assert.doesNotThrow(() => createProxy(config));
    }
  });
});
