// The compacted-topic store against a real Kafka: read to its end at start (100,000 keys, time
// printed), tombstones, writes read back on every store of the topic, sync() reading another
// store's writes, unreadable values.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CompactedStore, type ValueCodec } from '../../src/kafka/compacted-store.js';
import { testBrokers, uniqueName } from '../helpers/kafka.js';
import { createTopic, keptLogger, quietLogger, TestProducer, until, type TestMessage } from '../helpers/reader.js';

const brokers = testBrokers();
const producer = new TestProducer(brokers);
const stores: Array<CompactedStore<unknown>> = [];
const COMPACTED = { 'cleanup.policy': 'compact' };

interface Session {
  readonly id: string;
  readonly n: number;
}
const sessionCodec: ValueCodec<Session> = {
  encode: (value) => Buffer.from(JSON.stringify(value)),
  decode: (bytes) => {
    const parsed = JSON.parse(bytes.toString()) as Session;
    if (typeof parsed.id !== 'string' || typeof parsed.n !== 'number') throw new Error('not a session');
    return parsed;
  },
};

function store<V>(topic: string, codec: ValueCodec<V>, extra: Partial<ConstructorParameters<typeof CompactedStore<V>>[0]> = {}): CompactedStore<V> {
  const s = new CompactedStore<V>({ topic, connection: { clientId: 'mkp-test-store', brokers }, logger: quietLogger(), codec, reader: { maxWaitMs: 100 }, ...extra });
  stores.push(s as CompactedStore<unknown>);
  return s;
}

after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await producer.close();
});

test('a compacted topic of 100,000 keys is read to its end at start, tombstones applied', { timeout: 180_000 }, async () => {
  const topic = uniqueName('store-big');
  await createTopic(brokers, topic, { partitions: 3, configs: COMPACTED });
  const keys = 100_000;
  const messages: TestMessage[] = [];
  for (let i = 0; i < keys; i++) messages.push({ key: `client-${i}`, value: JSON.stringify({ id: `client-${i}`, n: 1 }) });
  // Every tenth key written again, every hundredth deleted: the store must end with the latest.
  for (let i = 0; i < keys; i += 10) messages.push({ key: `client-${i}`, value: JSON.stringify({ id: `client-${i}`, n: 2 }) });
  for (let i = 0; i < keys; i += 100) messages.push({ key: `client-${i}`, value: null });
  const written = Date.now();
  await producer.send(topic, messages, 5000);
  console.log(`# wrote ${messages.length} records in ${Date.now() - written} ms`);

  const startedAt = Date.now();
  const s = store(topic, sessionCodec);
  await s.ready;
  const ms = Date.now() - startedAt;
  const heapMb = process.memoryUsage().heapUsed / 1024 / 1024;
  console.log(`# compacted store: ${s.size} keys (${s.stats().records} records) read to the end in ${ms} ms (store's own count ${s.stats().readyMs} ms); heap ${heapMb.toFixed(0)} MB`);
  assert.equal(s.size, keys - keys / 100);
  assert.equal(s.stats().tombstones, keys / 100);
  assert.equal(s.get('client-0'), undefined, 'deleted');
  assert.deepEqual(s.get('client-10'), { id: 'client-10', n: 2 }, 'the latest value');
  assert.deepEqual(s.get('client-11'), { id: 'client-11', n: 1 });
  assert.deepEqual(s.get('client-99999'), { id: 'client-99999', n: 1 });
  assert.equal(s.stats().unreadable, 0);
});

test('writes and tombstones are read back, by the writer before set() resolves and by every other store of the topic', async () => {
  const topic = uniqueName('store-rw');
  await createTopic(brokers, topic, { partitions: 2, configs: COMPACTED });
  const changes: string[] = [];
  const a = store(topic, sessionCodec);
  const b = store(topic, sessionCodec, { onChange: (key, value, previous) => changes.push(`${key}:${previous?.n ?? '-'}->${value?.n ?? '-'}`) });
  await Promise.all([a.ready, b.ready]);
  assert.equal(a.size, 0, 'an empty topic is ready at once');

  await a.set('dev-1', { id: 'dev-1', n: 1 });
  assert.deepEqual(a.get('dev-1'), { id: 'dev-1', n: 1 }, 'read back before set() resolved');
  await a.set('dev-1', { id: 'dev-1', n: 2 });
  await b.set('dev-2', { id: 'dev-2', n: 7 });
  assert.deepEqual(b.get('dev-2'), { id: 'dev-2', n: 7 });
  await until(() => a.has('dev-2') && b.get('dev-1')?.n === 2, 5000, 'each store sees the other store\'s writes');
  await a.delete('dev-1');
  assert.equal(a.has('dev-1'), false, 'the tombstone applied before delete() resolved');
  await until(() => !b.has('dev-1'), 5000, 'the tombstone on the other store');
  assert.deepEqual(changes, ['dev-1:-->1', 'dev-1:1->2', 'dev-2:-->7', 'dev-1:2->-']);

  // Writes at once, as sessions of many devices change together: each resolves once read back.
  await Promise.all(Array.from({ length: 200 }, (_, i) => a.set(`many-${i}`, { id: `many-${i}`, n: i })));
  assert.equal([...a.entries()].filter(([key]) => key.startsWith('many-')).length, 200);

  // A store started now reads the same state from the log.
  const c = store(topic, sessionCodec);
  await c.ready;
  assert.equal(c.size, 201);
  assert.deepEqual(c.get('dev-2'), { id: 'dev-2', n: 7 });
  assert.deepEqual(c.get('many-199'), { id: 'many-199', n: 199 });
});

test('sync(): once it resolves, a store has read what another store wrote before the call (each of 50 writes, checked at once)', async () => {
  const topic = uniqueName('store-sync');
  await createTopic(brokers, topic, { partitions: 2, configs: COMPACTED });
  const writer = store(topic, sessionCodec);
  const follower = store(topic, sessionCodec, { reader: { maxWaitMs: 500 } });
  await Promise.all([writer.ready, follower.ready]);
  let seenBeforeSync = 0;
  for (let n = 0; n < 50; n++) {
    await writer.set(`dev-${n % 5}`, { id: `dev-${n % 5}`, n });
    if (follower.get(`dev-${n % 5}`)?.n === n) seenBeforeSync++;
    await Promise.all([follower.sync(), follower.sync()]);
    assert.equal(follower.get(`dev-${n % 5}`)?.n, n, `write ${n} read by the other store once sync() resolved`);
  }
  console.log(`# sync: ${seenBeforeSync} of 50 writes had reached the other store before sync()`);
  await follower.close();
  await assert.rejects(follower.sync(), /closed/);
});

test('a value the codec cannot read drops its key and is logged once', async () => {
  const topic = uniqueName('store-bad');
  await createTopic(brokers, topic, { partitions: 1, configs: COMPACTED });
  await producer.send(topic, [
    { key: 'ok', value: JSON.stringify({ id: 'ok', n: 1 }) },
    { key: 'bad', value: JSON.stringify({ id: 'bad', n: 1 }) },
    { key: 'bad', value: 'not json' },
    { key: 'worse', value: '{"id": 3}' },
  ]);
  const { logger, lines } = keptLogger();
  const s = store(topic, sessionCodec, { logger });
  await s.ready;
  assert.deepEqual([...s.entries()].map(([k]) => k), ['ok']);
  assert.deepEqual(s.stats(), { keys: 1, records: 4, tombstones: 0, unreadable: 2, unkeyed: 0, readyMs: s.stats().readyMs });
  assert.equal(lines.filter((l) => String(l.msg).startsWith('compacted store: a value could not be read')).length, 1);
});

test('a store of a topic that does not exist yet waits for it; close() before ready rejects ready', async () => {
  const topic = uniqueName('store-late');
  const { logger, lines } = keptLogger();
  const s = store(topic, sessionCodec, { logger });
  const early = store(uniqueName('store-never'), sessionCodec);
  await until(() => lines.some((l) => String(l.msg).startsWith('compacted store: cannot read the offsets')), 10_000, 'the complaint');
  await createTopic(brokers, topic, { partitions: 1, configs: COMPACTED });
  await producer.send(topic, [{ key: 'k', value: JSON.stringify({ id: 'k', n: 1 }) }]);
  await s.ready;
  assert.equal(s.get('k')?.n, 1);
  assert.equal(lines.filter((l) => String(l.msg).startsWith('compacted store: cannot read the offsets')).length, 1, 'one line for the wait');
  await early.close();
  await assert.rejects(early.ready, /closed before it was ready/);
});
