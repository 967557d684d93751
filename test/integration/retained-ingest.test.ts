// A retained PUBLISH from MQTT.js through the proxy, against a real Kafka: acknowledged once it is
// in the retained topic and in its mapped topic; replaced; cleared by an empty payload (a
// tombstone, and still produced as a message); seen by another replica's store; a retained record
// Kafka refuses gets no acknowledgement; a retained topic without compaction stops the start;
// retained messages off changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { decodeRetained } from '../../src/state/retained-codec.js';
import { KafkaRetainedStore } from '../../src/state/retained-store.js';
import { createTopics, headerText, readRecords, readRecordsUntil, testBrokers, uniqueName, withAdmin } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';
import { quietLogger, until } from '../helpers/reader.js';

const telemetryTopic = uniqueName('retained-ingest.telemetry');
const retainedTopic = uniqueName('retained-ingest.retained');

const config = (retained: string) => `
mappings:
  - name: state
    match: '^devices/(?<deviceId>[^/]+)/(state|big)$'
    topic: ${telemetryTopic}
    key: '\${deviceId}'
unmapped: reject
auth: { anonymous: true }
http: { port: 0 }
${retained}
`;

let proxy: RunningProxy;
const otherReplica = new KafkaRetainedStore({ topic: retainedTopic, connection: { clientId: 'mkp-test-replica', brokers: testBrokers() }, logger: quietLogger(), maxWaitMs: 100 });

before(async () => {
  await createTopics([telemetryTopic]);
  proxy = await startProxy(config(`retained: { topic: ${retainedTopic} }`));
  await waitFor(() => proxy.proxy.readiness().ready, 20000, 'ready (Kafka connected, retained topic read)');
  void otherReplica.start();
  await otherReplica.ready;
});

after(async () => {
  await otherReplica.close();
  await proxy.stop();
});

function connect(clientId: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(proxy.url, { protocolVersion: 4, clientId, reconnectPeriod: 0, connectTimeout: 5000 });
}

describe('retained PUBLISH', () => {
  test('MQTT-3.3.1-5: QoS 1 and 2 are acknowledged once in the retained topic and the mapped topic; replaced; another replica sees it', async () => {
    const client = await connect('retained-set');
    await client.publishAsync('devices/dev-1/state', 'on', { qos: 1, retain: true });
    // Acknowledged: the record must be readable in both topics now, not eventually.
    const [stored] = await readRecords(retainedTopic, 1, { timeoutMs: 5000, settleMs: 0 });
    assert.equal(stored?.key?.toString(), 'devices/dev-1/state');
    const decoded = decodeRetained(stored!.value!, 'devices/dev-1/state');
    assert.equal(decoded.payload.toString(), 'on');
    assert.equal(decoded.qos, 1);
    const [mapped] = await readRecords(telemetryTopic, 1, { timeoutMs: 5000, settleMs: 0 });
    assert.equal(mapped?.value?.toString(), 'on');
    assert.equal(headerText(mapped!.headers, 'mqtt.retain'), 'true');

    await client.publishAsync('devices/dev-1/state', 'off', { qos: 2, retain: true });
    await until(() => otherReplica.matching('devices/dev-1/state', Date.now())[0]?.payload.toString() === 'off', 10_000, 'the other replica sees the replacement');
    assert.equal(otherReplica.matching('devices/+/state', Date.now())[0]?.qos, 2);
    await client.endAsync();
  });

  test('MQTT 5 without delivery rules: CONNACK says Retain Available 1 and a retained PUBLISH is stored, as for 3.1.1', async () => {
    const client = await mqtt.connectAsync(proxy.url, { protocolVersion: 5, clientId: 'retained-v5', reconnectPeriod: 0, connectTimeout: 5000 });
    const connack = (client as unknown as { connackPacket?: { properties?: { retainAvailable?: boolean } } }).connackPacket;
    assert.equal(connack?.properties?.retainAvailable, true);
    await client.publishAsync('devices/dev-5/state', 'v5', { qos: 1, retain: true });
    await until(() => otherReplica.matching('devices/dev-5/state', Date.now())[0]?.payload.toString() === 'v5', 10_000, 'stored and seen by the other replica');
    await client.endAsync();
  });

  test('MQTT-3.3.1-10/11: an empty retained payload is delivered as any PUBLISH, clears with a tombstone and is not stored', async () => {
    const client = await connect('retained-clear');
    await client.publishAsync('devices/dev-2/state', 'here', { qos: 1, retain: true });
    await until(() => otherReplica.matching('devices/dev-2/state', Date.now()).length === 1, 10_000, 'set');
    await client.publishAsync('devices/dev-2/state', '', { qos: 1, retain: true });
    const records = await readRecordsUntil(retainedTopic, (r) => r.some((x) => x.key?.toString() === 'devices/dev-2/state' && x.value === null), { timeoutMs: 5000, settleMs: 0 });
    assert.ok(records.some((x) => x.key?.toString() === 'devices/dev-2/state' && x.value === null), 'a tombstone');
    await until(() => otherReplica.matching('devices/dev-2/state', Date.now()).length === 0, 10_000, 'cleared on the other replica');
    const mapped = await readRecordsUntil(telemetryTopic, (r) => r.some((x) => x.key?.toString() === 'dev-2' && x.value?.length === 0), { timeoutMs: 5000, settleMs: 0 });
    assert.ok(mapped.some((x) => x.key?.toString() === 'dev-2' && x.value?.length === 0), 'the empty message is produced to its mapped topic too');
    await client.endAsync();
  });

  test('a RETAIN 0 PUBLISH does not touch the retained message', async () => {
    const client = await connect('retained-untouched');
    await client.publishAsync('devices/dev-3/state', 'kept', { qos: 1, retain: true });
    await client.publishAsync('devices/dev-3/state', 'not retained', { qos: 1, retain: false });
    await client.publishAsync('devices/dev-3/state', '', { qos: 1, retain: false });
    await sleep(500);
    assert.equal(otherReplica.matching('devices/dev-3/state', Date.now())[0]?.payload.toString(), 'kept');
    await client.endAsync();
  });
});

describe('a retained write that fails', () => {
  const smallRetained = uniqueName('retained-ingest.small');
  let small: RunningProxy;

  before(async () => {
    // Kafka takes at most 400 bytes per record batch in this retained topic; the mapped topic takes 1 MiB.
    await createTopics([smallRetained], undefined, 1, { 'cleanup.policy': 'compact', 'max.message.bytes': '400' });
    small = await startProxy(config(`retained: { topic: ${smallRetained} }`));
    await waitFor(() => small.proxy.readiness().ready, 20000, 'ready');
  });

  after(() => small.stop());

  test('is not acknowledged, though the mapped record was written (3.1.1: the client is disconnected)', async () => {
    const client = await mqtt.connectAsync(small.url, { protocolVersion: 4, clientId: 'retained-too-big', reconnectPeriod: 0 });
    const acks: string[] = [];
    client.on('packetreceive', (packet) => acks.push(packet.cmd));
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('devices/dev-big/big', Buffer.alloc(2000, 0x61), { qos: 1, retain: true });
    await closed;
    assert.ok(!acks.includes('puback'), `no PUBACK: ${acks.join(',')}`);
    const mapped = await readRecordsUntil(telemetryTopic, (r) => r.some((x) => x.key?.toString() === 'dev-big'), { timeoutMs: 5000, settleMs: 0 });
    assert.ok(mapped.some((x) => x.key?.toString() === 'dev-big'), 'the mapped record is in Kafka: a retransmission may write it again, as for any QoS 1 failure');
    assert.ok(small.logs.some((l) => l.msg === 'publish rejected by Kafka' && l.reason === 'record-too-large'), 'logged with the reason');
    client.end(true);
  });
});

describe('the retained topic at start', () => {
  test('a retained topic without compaction stops the proxy from starting, with the reason', async () => {
    const plain = uniqueName('retained-ingest.plain');
    await createTopics([plain], undefined, 1, { 'cleanup.policy': 'delete' });
    await assert.rejects(startProxy(config(`retained: { topic: ${plain} }`)), (error: Error) => /retained\.topic.*cleanup\.policy=delete/s.test(error.message));
  });

  test('retained messages off: RETAIN 1 is produced and acknowledged as before, no retained topic is made', async () => {
    const never = uniqueName('retained-ingest.never');
    const off = await startProxy(config(`retained: { topic: ${never}, enabled: false }`));
    try {
      await waitFor(() => off.proxy.readiness().ready, 20000, 'ready');
      const client = await mqtt.connectAsync(off.url, { protocolVersion: 4, clientId: 'retained-off', reconnectPeriod: 0 });
      await client.publishAsync('devices/dev-off/state', 'x', { qos: 1, retain: true });
      await client.endAsync();
      const topics = await withAdmin((admin) => admin.listTopics());
      assert.ok(!topics.includes(never));
    } finally {
      await off.stop();
    }
  });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
