// PublishedLookup against a real Kafka: a record carrying the publish id is found on whichever
// partition it is; one that is not there is reported absent once every partition was read to the
// end it had; records stamped long after the PUBLISH end a partition's read early.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { PublishedLookup } from '../../src/delivery/published-lookup.js';
import { testBrokers, uniqueName } from '../helpers/kafka.js';
import { createTopic, quietLogger, TestProducer } from '../helpers/reader.js';

const brokers = testBrokers();
const producer = new TestProducer(brokers);
after(() => producer.close());

const lookup = (options: Partial<ConstructorParameters<typeof PublishedLookup>[0]> = {}): PublishedLookup =>
  new PublishedLookup({ connection: { clientId: 'mkp-test-lookup', brokers }, logger: quietLogger(), settleMs: 0, ...options });

test('a record with the publish id is found on its partition among others; an id nobody wrote is not', async () => {
  const topic = uniqueName('lookup');
  await createTopic(brokers, topic, { partitions: 3 });
  const at = Date.now();
  await producer.send(topic, Array.from({ length: 300 }, (_, i) => ({ partition: i % 3, value: `v${i}`, timestamp: at + i, headers: { 'mqtt.publish_id': `conn-x:${i}`, 'mqtt.client_id': 'dev' } })));
  assert.equal(await lookup().find({ kafkaTopic: topic, publishId: 'conn-x:250', at: at + 250 }), true, 'found on partition 1');
  assert.equal(await lookup().find({ kafkaTopic: topic, publishId: 'conn-x:0', at }), true, 'the first record of a partition');
  assert.equal(await lookup().find({ kafkaTopic: topic, publishId: 'conn-y:1', at }), false, 'another connection\'s id');
});

test('an empty topic: not there, at once', async () => {
  const topic = uniqueName('lookup-empty');
  await createTopic(brokers, topic, { partitions: 2 });
  const started = Date.now();
  assert.equal(await lookup().find({ kafkaTopic: topic, publishId: 'conn-x:1', at: Date.now() }), false);
  assert.ok(Date.now() - started < 5000);
});

test('the read of a partition ends at records stamped past the window: a record beyond it is not looked at', async () => {
  const topic = uniqueName('lookup-window');
  await createTopic(brokers, topic, { partitions: 1 });
  const at = Date.now() - 600_000;
  await producer.send(topic, [
    { value: 'near', timestamp: at + 1000, headers: { 'mqtt.publish_id': 'conn-w:1' } },
    ...Array.from({ length: 50 }, (_, i) => ({ value: `later-${i}`, timestamp: at + 300_000 + i })),
    { value: 'far', timestamp: at + 400_000, headers: { 'mqtt.publish_id': 'conn-w:2' } },
  ]);
  assert.equal(await lookup({ windowMs: 60_000 }).find({ kafkaTopic: topic, publishId: 'conn-w:1', at }), true, 'within the window');
  assert.equal(await lookup({ windowMs: 60_000 }).find({ kafkaTopic: topic, publishId: 'conn-w:2', at }), false, 'past the window: not read');
  assert.equal(await lookup({ windowMs: 600_000 }).find({ kafkaTopic: topic, publishId: 'conn-w:2', at }), true, 'a wider window reads it');
});

test('a look-up waits until the PUBLISH is settleMs old: a record written meanwhile is found', async () => {
  const topic = uniqueName('lookup-settle');
  await createTopic(brokers, topic, { partitions: 1 });
  const at = Date.now();
  const finding = lookup({ settleMs: 1500 }).find({ kafkaTopic: topic, publishId: 'conn-s:1', at });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await producer.send(topic, [{ value: 'late', timestamp: at, headers: { 'mqtt.publish_id': 'conn-s:1' } }]);
  assert.equal(await finding, true);
  assert.ok(Date.now() - at >= 1500);
});
