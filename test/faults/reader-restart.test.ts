// The Kafka reader while its broker restarts and freezes mid-read: every record of every partition
// delivered once, in offset order, none skipped; one log line per change of state, not per retry.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KafkaReader } from '../../src/kafka/reader.js';
import { readWholeTopic } from '../helpers/delivery.js';
import { faultsKafka } from '../helpers/faults.js';
import { uniqueName } from '../helpers/kafka.js';
import { Collector, createTopic, keptLogger, sleep, TestProducer, until } from '../helpers/reader.js';

const kafka = faultsKafka();
const brokers = [kafka.bootstrap];
const PARTITIONS = 3;

before(() => kafka.start());
after(() => {
  try {
    kafka.thaw();
  } catch {
    // not running
  }
});

/** Writes numbered records (10 per partition every 50 ms) until stopped, going on after failures. */
function startWriter(topic: string): { stop: () => Promise<number>; failures: () => number } {
  const producer = new TestProducer(brokers);
  let running = true;
  let written = 0;
  let failures = 0;
  const loop = (async () => {
    while (running) {
      const chunk = Array.from({ length: 10 * PARTITIONS }, (_, i) => ({ partition: i % PARTITIONS, value: `w-${written + i}` }));
      try {
        await producer.send(topic, chunk);
        written += chunk.length;
      } catch {
        failures++;
        await sleep(200);
      }
      await sleep(50);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await producer.close().catch(() => undefined);
      return written;
    },
    failures: () => failures,
  };
}

test('Kafka restarted and frozen mid-read: no record skipped, repeated or reordered within a partition', { timeout: 300_000 }, async () => {
  const topic = uniqueName('reader-restart');
  await createTopic(brokers, topic, { partitions: PARTITIONS });
  const collector = new Collector();
  const { logger, lines } = keptLogger();
  const reader = new KafkaReader({
    connection: { clientId: 'mkp-faults-reader', brokers, requestTimeoutMs: 3000, connectTimeoutMs: 1000 },
    logger,
    maxWaitMs: 200,
    // Small fetches, so the read is under way (many requests) when the broker goes.
    partitionMaxBytes: 2048,
    onBatch: (batch) => {
      collector.take(batch);
      // A handler that takes a little time, as delivery to devices does.
      return batch.records.length > 0 ? sleep(2) : undefined;
    },
  });
  const writer = startWriter(topic);
  try {
    reader.assign(topic, { start: 'earliest' });
    await sleep(3000);
    const beforeRestart = collector.count;
    const stoppedAt = Date.now();
    await kafka.stop();
    await sleep(2000);
    await kafka.start();
    const downMs = Date.now() - stoppedAt;
    await until(() => collector.count > beforeRestart + 300, 60_000, 'records read after the restart');
    kafka.freeze();
    await sleep(6000); // twice the request timeout
    kafka.thaw();
    await sleep(3000);
    const written = await writer.stop();
    const ends = await reader.offsets(topic, 'latest');
    const total = [...ends.values()].reduce((n, end) => n + Number(end), 0);
    await until(() => [...ends].every(([p, end]) => (reader.position(topic, p) ?? -1n) >= end), 60_000, 'the reader at the end of every partition');

    const reference = await readWholeTopic(topic, brokers);
    const mismatches = reference.records.filter((r) => collector.byPartition.get(r.partition)?.[Number(r.offset)]?.value?.toString() !== r.value?.toString());
    const warnings = lines.filter((l) => l.level === 40).map((l) => String(l.msg));
    console.log(
      `# reader restart: written=${written} (failed sends ${writer.failures()}) inKafka=${total} delivered=${collector.count} ` +
        `batches=${collector.batches.length} disorder=${collector.disorder} gaps=${collector.gaps} mismatches=${mismatches.length} ` +
        `beforeRestart=${beforeRestart} kafkaDownMs=${downMs} warnLines=${warnings.length}: ${warnings.join(" | ")}`,
    );
    assert.ok(beforeRestart > 0 && beforeRestart < total, 'the restart came mid-read');
    assert.equal(collector.count, total, 'every record in Kafka delivered once');
    assert.equal(collector.disorder, 0, 'in offset order, none twice');
    assert.equal(collector.gaps, 0, 'none skipped');
    for (const [partition, end] of ends) assert.equal(BigInt(collector.byPartition.get(partition)?.length ?? 0), end, `partition ${partition} from offset 0 to its end`);
    assert.equal(reference.records.length, total);
    assert.equal(mismatches.length, 0, 'the same records as an independent consumer read');
    assert.ok(warnings.includes('Kafka reader: Kafka reachable again') || warnings.includes('Kafka reader: broker reachable again'), 'the recovery is logged');
    assert.ok(warnings.length <= 12, `a line per change of state, not per retry (${warnings.length})`);
  } finally {
    await writer.stop();
    await reader.close();
  }
});
