// The group-less Kafka reader against a real Kafka: start positions, backpressure (pause/resume,
// the handler's promise), partitions and topics added and removed while reading, positions out of
// range, lag. Broker restarts and leader moves are in test/faults/.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { KafkaReader } from '../../src/kafka/reader.js';
import type { ReaderBatch, ReaderOptions } from '../../src/kafka/reader-types.js';
import { testBrokers, uniqueName } from '../helpers/kafka.js';
import { addPartitions, Collector, createTopic, deleteTopic, keptLogger, numbered, quietLogger, sleep, TestProducer, until } from '../helpers/reader.js';

const brokers = testBrokers();
const producer = new TestProducer(brokers);
const readers: KafkaReader[] = [];

function reader(onBatch: ReaderOptions['onBatch'], options: Partial<ReaderOptions> = {}): KafkaReader {
  const r = new KafkaReader({ connection: { clientId: 'mkp-test-reader', brokers }, logger: quietLogger(), maxWaitMs: 100, onBatch, ...options });
  readers.push(r);
  return r;
}

after(async () => {
  await Promise.all(readers.map((r) => r.close()));
  await producer.close();
});

test('start positions: an explicit offset, the beginning, the end, a timestamp', async () => {
  const topic = uniqueName('reader-start');
  await createTopic(brokers, topic, { partitions: 2 });
  const base = Date.now() - 1_000_000;
  // Partition p, record i: value p-i, timestamp base + i s.
  const messages = [0, 1].flatMap((partition) =>
    Array.from({ length: 100 }, (_, i) => ({ partition, value: `${partition}-${i}`, timestamp: base + i * 1000 })),
  );
  await producer.send(topic, messages);

  const earliest = new Collector();
  reader(earliest.take).assign(topic, { start: 'earliest' });
  const atOffset = new Collector();
  reader(atOffset.take).assign(topic, { partitions: [0], start: { offset: 40n } });
  const atTime = new Collector();
  reader(atTime.take).assign(topic, { start: { timestamp: base + 50_500 } });
  const afterLast = new Collector();
  const afterLastReader = reader(afterLast.take);
  afterLastReader.assign(topic, { partitions: [1], start: { timestamp: Date.now() + 60_000 } });
  const latest = new Collector();
  const latestReader = reader(latest.take);
  latestReader.assign(topic, { start: 'latest', positions: new Map([[1, { offset: 98n }]]) });

  await until(() => earliest.count === 200 && atOffset.count === 60 && atTime.count === 98, 20_000, 'the early records');
  assert.deepEqual(earliest.values(0), Array.from({ length: 100 }, (_, i) => `0-${i}`));
  assert.deepEqual(earliest.values(1), Array.from({ length: 100 }, (_, i) => `1-${i}`));
  assert.equal(earliest.disorder + earliest.gaps, 0);
  assert.deepEqual(atOffset.values(0), Array.from({ length: 60 }, (_, i) => `0-${40 + i}`));
  assert.equal(atOffset.byPartition.get(0)![0]!.offset, 40n);
  // The first record at or after base + 50.5 s is record 51 of each partition.
  assert.deepEqual(atTime.values(0), Array.from({ length: 49 }, (_, i) => `0-${51 + i}`));
  assert.equal(atTime.byPartition.get(1)![0]!.timestamp, base + 51_000);

  await until(() => latestReader.position(topic, 0) !== undefined && afterLastReader.position(topic, 1) !== undefined, 10_000, 'end positions');
  assert.equal(latestReader.position(topic, 0), 100n);
  assert.equal(afterLastReader.position(topic, 1), 100n, 'no record after the timestamp: the end');
  await producer.send(topic, [
    { partition: 0, value: 'new-0' },
    { partition: 1, value: 'new-1' },
  ]);
  await until(() => latest.count === 4 && afterLast.count === 1, 10_000, 'the new records');
  assert.deepEqual(latest.values(0), ['new-0']);
  assert.deepEqual(latest.values(1), ['1-98', '1-99', 'new-1'], 'a per-partition position overrides the start');
  assert.deepEqual(afterLast.values(1), ['new-1']);
  assert.equal(earliest.count, 202);
});

test('pause and resume with 10,000 records queued; a paused partition holds up no other', async () => {
  const topic = uniqueName('reader-pause');
  await createTopic(brokers, topic, { partitions: 2 });
  const collector = new Collector();
  const r = reader(collector.take, { partitionMaxBytes: 16 * 1024 });
  r.assign(topic, { start: 'earliest' });
  await until(() => r.position(topic, 0) === 0n && r.position(topic, 1) === 0n, 10_000, 'start positions');
  r.pause(topic, 0);
  await producer.send(topic, numbered('p0', 10_000, 1).map((m) => ({ ...m, partition: 0 })));
  await producer.send(topic, numbered('p1', 500, 1).map((m) => ({ ...m, partition: 1 })));
  await until(() => collector.values(1).length === 500, 10_000, 'partition 1 while 0 is paused');
  await sleep(500);
  assert.equal(collector.values(0).length, 0, 'nothing of the paused partition');
  assert.equal(r.partitions().find((p) => p.partition === 0)!.paused, true);

  r.resume(topic, 0);
  await until(() => collector.values(0).length >= 2000, 10_000, 'the first 2,000 after resume');
  r.pause(topic, 0);
  const atPause = collector.values(0).length;
  await sleep(500);
  const whilePaused = collector.values(0).length;
  assert.equal(whilePaused, atPause, 'no batch after pause()');
  assert.ok(whilePaused < 10_000, `paused before the end (${whilePaused})`);
  assert.equal(r.position(topic, 0), BigInt(whilePaused), 'the position is the next record to deliver');

  r.resume(topic, 0);
  await until(() => collector.values(0).length === 10_000, 20_000, 'all 10,000');
  await sleep(300);
  assert.deepEqual(collector.values(0), Array.from({ length: 10_000 }, (_, i) => `p0-${i}`));
  assert.equal(collector.disorder + collector.gaps, 0);
  console.log(`# pause/resume: ${collector.batches.length} batches; paused at ${whilePaused} of 10,000`);
});

test("the handler's promise holds its partition back; a failing handler pauses it with the batch not taken", async () => {
  const topic = uniqueName('reader-promise');
  await createTopic(brokers, topic, { partitions: 2 });
  await producer.send(topic, numbered('r', 2000, 2));
  const pending: Array<() => void> = [];
  const seen: ReaderBatch[] = [];
  let failNext = false;
  const r = reader(
    (batch) => {
      seen.push(batch);
      if (batch.partition === 1) return undefined;
      if (failNext) {
        failNext = false;
        throw new Error('downstream refused');
      }
      return new Promise<void>((resolve) => pending.push(resolve));
    },
    { partitionMaxBytes: 4096 },
  );
  r.assign(topic, { start: 'earliest' });
  const of = (partition: number) => seen.filter((b) => b.partition === partition);
  await until(() => of(0).length === 1 && of(1).reduce((n, b) => n + b.records.length, 0) === 1000, 10_000, 'one batch of 0, all of 1');
  await sleep(400);
  assert.equal(of(0).length, 1, 'no second batch while the first is pending');
  const first = of(0)[0]!;
  assert.equal(r.position(topic, 0), first.nextOffset);

  failNext = true;
  pending.shift()!();
  await until(() => of(0).length === 2, 5000, 'the batch after the first');
  const refused = of(0)[1]!;
  await sleep(300);
  assert.equal(of(0).length, 2, 'a failed batch pauses the partition');
  assert.equal(r.position(topic, 0), first.nextOffset, 'the refused batch is not taken');
  r.resume(topic, 0);
  await until(() => of(0).length === 3, 5000, 'the refused batch again');
  assert.equal(of(0)[2]!.records[0]!.offset, refused.records[0]!.offset);
  while (r.position(topic, 0)! < 1000n) {
    pending.shift()?.();
    await sleep(5);
  }
  assert.equal(r.position(topic, 0), 1000n);
});

test('topics and partitions are added and removed while reading; a missing topic is waited for and logged once', async () => {
  const a = uniqueName('reader-a');
  const b = uniqueName('reader-b');
  await createTopic(brokers, a, { partitions: 2 });
  const collector = new Collector();
  const byTopic = new Map<string, string[]>();
  const { logger, lines } = keptLogger();
  const r = reader(
    (batch) => {
      collector.take(batch);
      const list = byTopic.get(batch.topic) ?? [];
      list.push(...batch.records.map((rec) => `${batch.partition}:${rec.value}`));
      byTopic.set(batch.topic, list);
    },
    { logger, metadataRefreshMs: 500, retry: { initialMs: 50, maxMs: 500 } },
  );
  r.assign(a, { partitions: [0], start: 'earliest' });
  r.assign(b, { start: 'earliest' }); // does not exist yet
  await producer.send(a, numbered('a', 10, 2));
  await until(() => (byTopic.get(a) ?? []).length === 5, 10_000, 'partition 0 of a');
  assert.deepEqual(byTopic.get(a), ['0:a-0', '0:a-2', '0:a-4', '0:a-6', '0:a-8']);

  await sleep(1500);
  const missing = lines.filter((l) => l.msg === 'Kafka reader: topic not found; waiting for it');
  assert.equal(missing.length, 1, 'one line for the missing topic, not one per look-up');
  await createTopic(brokers, b, { partitions: 1 });
  await producer.send(b, [{ partition: 0, value: 'b-0' }]);
  await until(() => (byTopic.get(b) ?? []).length === 1, 15_000, 'topic b once it exists');
  assert.equal(lines.filter((l) => l.msg === 'Kafka reader: topic found').length, 1);

  r.assign(a, { partitions: [1], start: { offset: 3n } });
  await until(() => (byTopic.get(a) ?? []).length === 7, 10_000, 'partition 1 of a');
  r.unassign(a);
  assert.equal(r.position(a, 0), undefined);
  await addPartitions(brokers, b, 2);
  await producer.send(a, numbered('late', 4, 2));
  // A producer of its own: the shared one's metadata still says b has one partition.
  const fresh = new TestProducer(brokers);
  await fresh.send(b, [{ partition: 1, value: 'b-new-partition' }]);
  await fresh.close();
  await until(() => (byTopic.get(b) ?? []).length === 2, 15_000, 'the partition b gained');
  await sleep(500);
  assert.deepEqual(byTopic.get(b), ['0:b-0', '1:b-new-partition']);
  assert.equal((byTopic.get(a) ?? []).length, 7, 'nothing of an unassigned topic');
  assert.deepEqual(
    r.partitions().map((p) => `${p.topic === b ? 'b' : p.topic}/${p.partition}`),
    ['b/0', 'b/1'],
  );
});

test('a position outside the log is reset to its start and reported; lag per partition is reported', async () => {
  const topic = uniqueName('reader-range');
  await createTopic(brokers, topic, { partitions: 1 });
  await producer.send(topic, numbered('x', 300, 1), 30); // ten record batches
  const resets: string[] = [];
  const lags: number[] = [];
  const collector = new Collector();
  const { logger, lines } = keptLogger();
  const r = reader(collector.take, {
    logger,
    partitionMaxBytes: 1024,
    onReset: (t, p, from, to) => resets.push(`${t === topic}/${p}: ${from} -> ${to}`),
    lag: { set: (_t, _p, lag) => void lags.push(lag), remove: () => undefined },
  });
  r.assign(topic, { partitions: [0], start: { offset: 5000n } });
  await until(() => collector.count === 300, 10_000, 'all records after the reset');
  assert.deepEqual(resets, ['true/0: 5000 -> 0']);
  assert.equal(lines.filter((l) => l.msg === 'Kafka reader: position out of the log range; reset').length, 1);
  assert.ok(lags.length > 2, `lag reported per fetch (${lags.length})`);
  assert.ok(lags[0]! > 0, `lag while behind (${lags[0]})`);
  assert.ok(lags.every((lag, i) => i === 0 || lag <= lags[i - 1]!), `lag only falls while catching up: ${lags.join(',')}`);
  assert.equal(lags.at(-1), 0);
  assert.deepEqual(collector.values(), Array.from({ length: 300 }, (_, i) => `x-${i}`));
});

test('a topic deleted and created again is read from its new beginning, the reset reported', async () => {
  const topic = uniqueName('reader-recreated');
  await createTopic(brokers, topic, { partitions: 1 });
  await producer.send(topic, numbered('old', 10, 1));
  const resets: string[] = [];
  const collector = new Collector(false);
  const { logger, lines } = keptLogger();
  const r = reader(collector.take, { logger, retry: { initialMs: 50, maxMs: 500 }, onReset: (_t, p, from, to) => resets.push(`${p}: ${from} -> ${to}`) });
  r.assign(topic, { start: 'earliest' });
  await until(() => collector.count === 10, 10_000, 'the old topic');
  await deleteTopic(brokers, topic);
  await until(() => lines.some((l) => l.msg === 'Kafka reader: topic not found; waiting for it'), 20_000, 'the topic gone');
  await createTopic(brokers, topic, { partitions: 1 });
  const fresh = new TestProducer(brokers);
  await fresh.send(topic, numbered('new', 20, 1));
  await fresh.close();
  await until(() => collector.count === 30, 20_000, 'the new topic');
  assert.deepEqual(collector.values().slice(10), Array.from({ length: 20 }, (_, i) => `new-${i}`));
  assert.deepEqual(resets, ['0: 10 -> 0']);
  assert.equal(lines.filter((l) => l.msg === 'Kafka reader: topic deleted and created again; its positions start over').length, 1);
});

test('Kafka unreachable: one warn line however long it lasts, and close() does not wait for it', async () => {
  const { logger, lines } = keptLogger();
  // A port nothing listens on: every connection attempt is refused at once.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const r = new KafkaReader({
    connection: { clientId: 'mkp-test-reader', brokers: [`127.0.0.1:${port}`], connectTimeoutMs: 500 },
    logger,
    onBatch: () => undefined,
    retry: { initialMs: 20, maxMs: 200 },
  });
  r.assign('any-topic', { start: 'earliest' });
  await sleep(3000);
  const closing = Date.now();
  await r.close();
  const warnings = lines.filter((l) => l.level === 40);
  assert.deepEqual(warnings.map((l) => l.msg), ['Kafka reader: cannot reach Kafka; retrying']);
  assert.deepEqual(warnings[0]!.brokers, [`127.0.0.1:${port}`]);
  assert.match(String(warnings[0]!.cause), /ECONNREFUSED|connect/i);
  assert.ok(Date.now() - closing < 2000, `closed in ${Date.now() - closing} ms`);
});
