// Retained messages end to end on two replicas sharing one Kafka: set through replica 1, sent by
// replica 2 to a new subscription with RETAIN 1; replaced; cleared; Retain Handling 0/1/2; Retain As
// Published on live messages; Message Expiry. Real MQTT.js clients (3.1.1 and 5), real Kafka.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { createTopics, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const stateTopic = uniqueName('retained-delivery.state');
const retainedTopic = uniqueName('retained-delivery.retained');
// A sessions topic of this file's own: client ids are reused across the suite's files.
const sessionsTopic = uniqueName('retained-delivery-sessions');

// Records written from MQTT keep their MQTT topic (mqtt.topic): the delivery rule reads them back.
const config = `
mappings:
  - { name: state, match: '^(devices|plant)/.*$', topic: ${stateTopic}, key: '\${topic}' }
delivery:
  - { name: state, kafka: ${stateTopic} }
retained: { topic: ${retainedTopic} }
sessions: { topic: ${sessionsTopic} }
auth: { anonymous: true }
http: { port: 0 }
`;

let one: RunningProxy;
let two: RunningProxy;
const clients: mqtt.MqttClient[] = [];

before(async () => {
  await createTopics([stateTopic]);
  [one, two] = await Promise.all([startProxy(config), startProxy(config)]);
  await waitFor(() => one.proxy.readiness().ready && two.proxy.readiness().ready, 30_000, 'both replicas ready');
});

after(async () => {
  await Promise.all(clients.map((c) => c.endAsync()));
  await Promise.all([one.stop(), two.stop()]);
});

async function client(proxy: RunningProxy, protocolVersion: 4 | 5, clientId: string): Promise<mqtt.MqttClient> {
  const c = await mqtt.connectAsync(proxy.url, { protocolVersion, clientId, reconnectPeriod: 0, connectTimeout: 5000 });
  clients.push(c);
  return c;
}

interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
  readonly qos: number;
  readonly expiry: number | undefined;
}

function collect(c: mqtt.MqttClient): Received[] {
  const got: Received[] = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos, expiry: packet.properties?.messageExpiryInterval }));
  return got;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('retained messages across replicas', () => {
  test('MQTT-3.3.1-8 (3.1.1) / 3.3.1.3: set through replica 1, a new subscription on replica 2 gets it with RETAIN 1 at the lower QoS', async () => {
    const device = await client(one, 4, 'rd-device-1');
    await device.publishAsync('devices/rd-1/state', 'on', { qos: 2, retain: true });
    const subscriber = await client(two, 5, 'rd-sub-1');
    const got = collect(subscriber);
    await subscriber.subscribeAsync('devices/+/state', { qos: 1 });
    await waitFor(() => got.length > 0, 10_000, 'the retained message');
    assert.deepEqual(got[0], { topic: 'devices/rd-1/state', payload: 'on', retain: true, qos: 1, expiry: undefined });
    const v4 = await client(two, 4, 'rd-sub-1-v4');
    const got4 = collect(v4);
    await v4.subscribeAsync('devices/rd-1/state', { qos: 0 });
    await waitFor(() => got4.length > 0, 10_000, 'the retained message on 3.1.1');
    assert.deepEqual(got4[0], { topic: 'devices/rd-1/state', payload: 'on', retain: true, qos: 0, expiry: undefined });
  });

  test('MQTT-3.3.1-12 / -13: replaced; a live message goes to an existing subscription with RETAIN 0, or as published with Retain As Published', async () => {
    const device = await client(one, 4, 'rd-device-2');
    await device.publishAsync('plant/line-2/mode', 'auto', { qos: 1, retain: true });
    const plain = await client(two, 5, 'rd-sub-2');
    const asPublished = await client(two, 5, 'rd-sub-2-rap');
    const gotPlain = collect(plain);
    const gotRap = collect(asPublished);
    await plain.subscribeAsync('plant/line-2/mode', { qos: 1 });
    await asPublished.subscribeAsync('plant/line-2/mode', { qos: 1, rap: true });
    await waitFor(() => gotPlain.length === 1 && gotRap.length === 1, 10_000, 'the retained message to both');
    await device.publishAsync('plant/line-2/mode', 'manual', { qos: 1, retain: true });
    await waitFor(() => gotPlain.length === 2 && gotRap.length === 2, 10_000, 'the live message to both');
    assert.equal(gotPlain[1]!.payload, 'manual');
    assert.equal(gotPlain[1]!.retain, false, 'Retain As Published 0');
    assert.equal(gotRap[1]!.retain, true, 'Retain As Published 1');
    const late = await client(two, 5, 'rd-sub-2-late');
    const gotLate = collect(late);
    await late.subscribeAsync('plant/+/mode', { qos: 1 });
    await waitFor(() => gotLate.length > 0, 10_000, 'the replaced retained message');
    assert.deepEqual(gotLate.map((r) => r.payload), ['manual']);
  });

  test('MQTT-3.3.1-10/11 (3.1.1): an empty retained payload clears: a later subscription gets nothing', async () => {
    const device = await client(one, 4, 'rd-device-3');
    await device.publishAsync('devices/rd-3/state', 'here', { qos: 1, retain: true });
    await device.publishAsync('devices/rd-3/state', '', { qos: 1, retain: true });
    const subscriber = await client(two, 4, 'rd-sub-3');
    const got = collect(subscriber);
    await subscriber.subscribeAsync('devices/rd-3/state', { qos: 1 });
    await sleep(1500);
    // A replica whose reader of the topic lags may still hand the PUBLISHes written just before the
    // SUBSCRIBE to it as live messages (RETAIN 0; docs/semantics.md "Which records"); no retained one.
    assert.deepEqual(got.filter((message) => message.retain), []);
  });

  test('MQTT-3.3.1-9/10/11: Retain Handling 0 sends at every SUBSCRIBE, 1 only for a new subscription, 2 never', async () => {
    const device = await client(one, 4, 'rd-device-4');
    await device.publishAsync('devices/rd-4/state', 'x', { qos: 1, retain: true });
    await sleep(500);
    const count = async (rh: 0 | 1 | 2, clientId: string, twice: boolean): Promise<number> => {
      const c = await client(two, 5, clientId);
      const got = collect(c);
      await c.subscribeAsync('devices/rd-4/state', { qos: 1, rh });
      if (twice) {
        await sleep(700);
        await c.subscribeAsync('devices/rd-4/state', { qos: 1, rh });
      }
      await sleep(1500);
      return got.filter((r) => r.retain).length;
    };
    assert.equal(await count(0, 'rd-rh0', true), 2);
    assert.equal(await count(1, 'rd-rh1', true), 1);
    assert.equal(await count(2, 'rd-rh2', false), 0);
  });

  test('MQTT-3.3.2-5/6: an expired retained message is not sent; one still alive is sent with what is left of its interval', async () => {
    const device = await client(one, 5, 'rd-device-5');
    await device.publishAsync('devices/rd-5/state', 'short', { qos: 1, retain: true, properties: { messageExpiryInterval: 2 } });
    await device.publishAsync('devices/rd-6/state', 'long', { qos: 1, retain: true, properties: { messageExpiryInterval: 600 } });
    await sleep(2500);
    const subscriber = await client(two, 5, 'rd-sub-5');
    const got = collect(subscriber);
    await subscriber.subscribeAsync('devices/+/state', { qos: 1 });
    await waitFor(() => got.some((r) => r.payload === 'long'), 10_000, 'the message still alive');
    await sleep(500);
    assert.ok(!got.some((r) => r.payload === 'short'), 'the expired one is not sent');
    const long = got.find((r) => r.payload === 'long')!;
    assert.ok(long.expiry !== undefined && long.expiry <= 598 && long.expiry > 500, `remaining interval ${long.expiry}`);
  });
});
