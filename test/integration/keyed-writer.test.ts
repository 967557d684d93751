// Writes made at once go out together; each still learns exactly where Kafka put it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedWriter } from '../../src/kafka/keyed-writer.js';
import { murmur2 } from '../../src/kafka/murmur2.js';
import { readRecords, testBrokers, uniqueName } from '../helpers/kafka.js';
import { createTopic } from '../helpers/reader.js';

test('1,200 writes at once over 3 partitions: each resolves with the partition and offset that hold its record', async () => {
  const brokers = testBrokers();
  const topic = uniqueName('keyed-writer');
  await createTopic(brokers, topic, { partitions: 3, configs: { 'cleanup.policy': 'compact' } });
  const writer = new KeyedWriter(topic, { clientId: 'mkp-test-writer', brokers });
  try {
    const count = 1200;
    const started = Date.now();
    const at = await Promise.all(Array.from({ length: count }, (_, i) => writer.write(`key-${i}`, i % 7 === 0 ? null : Buffer.from(`value-${i}`))));
    console.log(`# ${count} writes at once acknowledged in ${Date.now() - started} ms`);
    const records = await readRecords(topic, count, { settleMs: 200 });
    assert.equal(records.length, count);
    const byPosition = new Map(records.map((r) => [`${r.partition}:${r.offset}`, r]));
    for (let i = 0; i < count; i++) {
      const record = byPosition.get(`${at[i]!.partition}:${at[i]!.offset}`);
      assert.equal(record?.key?.toString(), `key-${i}`, `write ${i} at ${at[i]!.partition}:${at[i]!.offset}`);
      assert.equal(record?.value?.toString() ?? null, i % 7 === 0 ? null : `value-${i}`);
      // The Java client's partitioning, whatever the batching.
      assert.equal(at[i]!.partition, (murmur2(Buffer.from(`key-${i}`)) & 0x7fffffff) % 3);
    }
  } finally {
    await writer.close();
  }
});
