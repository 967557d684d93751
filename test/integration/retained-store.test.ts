// Retained messages in a compacted Kafka topic against a real Kafka: set, replaced, cleared
// (a tombstone), two stores (two replicas) seeing each other's writes, expiry, a restart reading
// them back, the topic created compacted, a topic without compaction refused.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { TopicNotCompactedError } from '../../src/kafka/compacted-topic.js';
import { KafkaRetainedStore, RetainedWriteError, type RetainedMessage } from '../../src/state/retained-store.js';
import { readRecordsUntil, testBrokers, uniqueName, withAdmin } from '../helpers/kafka.js';
import { createTopic, quietLogger, TestProducer, until } from '../helpers/reader.js';

const brokers = testBrokers();
const stores: KafkaRetainedStore[] = [];

function store(topic: string): KafkaRetainedStore {
  const s = new KafkaRetainedStore({ topic, connection: { clientId: 'mkp-test-retained', brokers }, logger: quietLogger(), maxWaitMs: 100, writeTimeoutMs: 15_000 });
  stores.push(s);
  void s.start();
  return s;
}

function retained(topic: string, payload: string, extra: Partial<RetainedMessage> = {}): RetainedMessage {
  return { topic, payload: Buffer.from(payload), qos: 1, properties: undefined, storedAt: Date.now(), ...extra };
}

const payloads = (messages: readonly RetainedMessage[]): string[] => messages.map((m) => m.payload.toString()).sort();

after(async () => {
  await Promise.all(stores.map((s) => s.close()));
});

describe('retained store on Kafka', () => {
  it('creates its topic compacted when absent, and is ready on an empty topic', async () => {
    const topic = uniqueName('retained-new');
    const s = store(topic);
    assert.equal(await s.checked, 'created');
    await s.ready;
    assert.equal(s.state, 'ready');
    const [description] = await withAdmin((admin) => admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ['cleanup.policy'] }] }));
    assert.equal(description?.configs.find((c) => c.name === 'cleanup.policy')?.value, 'compact');
  });

  it('refuses a topic that exists without compaction, with an error naming it', async () => {
    const topic = uniqueName('retained-delete');
    await createTopic(brokers, topic, { configs: { 'cleanup.policy': 'delete' } });
    const s = store(topic);
    const outcome = await s.checked;
    assert.ok(outcome instanceof TopicNotCompactedError, String(outcome));
    assert.match(outcome.message, new RegExp(`${topic}.*cleanup.policy=delete`));
    assert.equal(s.state, 'misconfigured');
    await assert.rejects(s.ready);
    await assert.rejects(s.set(retained('a/b', 'x')), (error: unknown) => error instanceof RetainedWriteError && error.reason === 'misconfigured' && !error.retriable);
  });

  it('MQTT-3.3.1-5: set, replaced, read back before set() resolves; MQTT-3.3.1-6/7: an empty payload clears with a tombstone', async () => {
    const topic = uniqueName('retained-rw');
    const s = store(topic);
    await s.ready;
    await s.set(retained('devices/dev-1/state', 'on'));
    assert.deepEqual(payloads(s.matching('devices/dev-1/state', Date.now())), ['on']);
    await s.set(retained('devices/dev-1/state', 'off', { qos: 2 }));
    const [replaced] = s.matching('devices/dev-1/state', Date.now());
    assert.equal(replaced?.payload.toString(), 'off');
    assert.equal(replaced?.qos, 2);
    await s.set(retained('devices/dev-1/state', ''));
    assert.deepEqual(s.matching('devices/dev-1/state', Date.now()), []);
    assert.deepEqual(s.matching('devices/#', Date.now()), []);
    assert.equal(s.size, 0);
    const records = await readRecordsUntil(topic, (r) => r.length >= 3);
    assert.deepEqual(
      records.map((r) => [r.key?.toString(), r.value === null ? null : 'value']),
      [
        ['devices/dev-1/state', 'value'],
        ['devices/dev-1/state', 'value'],
        ['devices/dev-1/state', null],
      ],
    );
  });

  it('two stores of one topic (two replicas) see each other\'s writes and clears', async () => {
    const topic = uniqueName('retained-two');
    const a = store(topic);
    const b = store(topic);
    await Promise.all([a.ready, b.ready]);
    await a.set(retained('room/1/temp', '21'));
    await b.set(retained('room/2/temp', '19'));
    await until(() => a.matching('room/+/temp', Date.now()).length === 2 && b.matching('room/+/temp', Date.now()).length === 2, 10_000, 'both stores hold both');
    assert.deepEqual(payloads(a.matching('room/#', Date.now())), ['19', '21']);
    await b.set(retained('room/1/temp', ''));
    await until(() => a.matching('room/1/temp', Date.now()).length === 0, 10_000, 'the clear reaches the other store');
    assert.deepEqual(payloads(a.matching('room/+/temp', Date.now())), ['19']);
  });

  it('Message Expiry: a retained message is left out once storedAt + interval has passed', async () => {
    const topic = uniqueName('retained-expiry');
    const s = store(topic);
    await s.ready;
    const storedAt = Date.now();
    await s.set(retained('status/x', 'short', { storedAt, properties: { messageExpiryInterval: 2, contentType: 'text/plain' } }));
    await s.set(retained('status/y', 'forever', { storedAt }));
    assert.deepEqual(payloads(s.matching('status/+', storedAt + 1_999)), ['forever', 'short']);
    assert.deepEqual(payloads(s.matching('status/+', storedAt + 2_000)), ['forever']);
    assert.deepEqual(s.matching('status/x', storedAt + 2_000), []);
    const [kept] = s.matching('status/x', storedAt);
    assert.equal(kept?.properties?.contentType, 'text/plain');
    assert.equal(kept?.properties?.messageExpiryInterval, 2);
  });

  it('a restarted store reads every retained message back, the cleared ones left out; a value from another tool is a payload', async () => {
    const topic = uniqueName('retained-restart');
    const first = store(topic);
    await first.ready;
    for (let n = 0; n < 50; n++) await first.set(retained(`fleet/dev-${n}/state`, `s${n}`, { properties: { correlationData: Buffer.from([n]) } }));
    await first.set(retained('fleet/dev-7/state', ''));
    await first.close();
    const producer = new TestProducer(brokers);
    await producer.send(topic, [{ key: 'fleet/backend/desired', value: 'raw bytes' }]);
    await producer.close();

    const second = store(topic);
    await second.ready;
    const all = second.matching('fleet/#', Date.now());
    assert.equal(all.length, 50);
    assert.deepEqual(second.matching('fleet/dev-7/state', Date.now()), []);
    assert.deepEqual(second.matching('fleet/dev-9/state', Date.now())[0]?.properties?.correlationData, Buffer.from([9]));
    const [raw] = second.matching('fleet/backend/desired', Date.now());
    assert.equal(raw?.payload.toString(), 'raw bytes');
    assert.equal(raw?.qos, 1);
  });
});
