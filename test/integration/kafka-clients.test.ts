// Publishes through the proxy on its Kafka client library (kafka.client), read back from Kafka:
// the records a consumer sees, and where keys land, set beside another Kafka client's (kcat, on
// librdkafka, with the Java client's partitioner).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { javaPartition } from '../../src/kafka/murmur2.js';
import { createTopics, headerText, readRecords, testBrokers, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const CLIENTS = ['platformatic'] as const;
type Client = (typeof CLIENTS)[number];
const PARTITIONS = 6;

/** Produces `key:value` lines with kcat, partitioned as the Java client does (murmur2_random). */
function kcatProduce(topic: string, lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'kcat',
      ['-P', '-b', testBrokers().join(','), '-t', topic, '-K', ':', '-X', 'partitioner=murmur2_random'],
      { timeout: 20000 },
      (error, _stdout, stderr) => (error === null ? resolve() : reject(new Error(`kcat failed: ${stderr}`))),
    );
    child.stdin!.end(`${lines.join('\n')}\n`);
  });
}

const topics = {
  records: uniqueName('clients.records'),
  keyed: uniqueName('clients.keyed'),
  small: uniqueName('clients.small'),
};

const config = (client: Client): string => `
kafka: { client: ${client}, lingerMs: 2 }
mappings:
  - name: records
    match: '^rec/(?<device>[^/]+)$'
    topic: ${topics.records}
    key: '${client}-\${device}'
  - name: keyed
    match: '^keyed/(.+)$'
    topic: ${topics.keyed}
    key: '$1'
  - name: small
    match: '^small$'
    topic: ${topics.small}
auth: { anonymous: true }
http: { port: 0 }
`;

const proxies = new Map<Client, RunningProxy>();

before(async () => {
  await createTopics([topics.records]);
  await createTopics([topics.keyed], undefined, PARTITIONS);
  await createTopics([topics.small], undefined, 1, { 'max.message.bytes': '1000' });
  for (const client of CLIENTS) {
    // Each proxy on its own client whatever TEST_KAFKA_CLIENT says.
    const proxy = await startProxy(config(client), { kafkaClient: client });
    proxies.set(client, proxy);
    await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, `${client} Kafka connection`);
  }
});

after(async () => {
  await Promise.all([...proxies.values()].map((proxy) => proxy.stop()));
});

function connect(client: Client, protocolVersion: 4 | 5, clientId: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(proxies.get(client)!.url, { protocolVersion, clientId, reconnectPeriod: 0, connectTimeout: 5000 });
}

describe('kafka.client: the records, and where keys land, are those of any Kafka client', () => {
  test('QoS 0, 1 and 2 over MQTT 5: key, headers, payload and timestamp', async () => {
    const started = Date.now();
    const sent: Array<{ client: Client; device: string; qos: 0 | 1 | 2; payload: Buffer }> = [];
    for (const client of CLIENTS) {
      const device = await connect(client, 5, `clients-${client}`);
      for (const qos of [0, 1, 2] as const) {
        const payload = Buffer.from([0x00, 0xff, qos, 0xc3, 0x28, ...Buffer.from(client)]);
        await device.publishAsync(`rec/d${qos}`, payload, {
          qos,
          properties: { contentType: 'application/octet-stream', userProperties: { site: 'plant-7', tag: ['a', 'b'] } },
        });
        sent.push({ client, device: `d${qos}`, qos, payload });
      }
      await device.endAsync();
    }
    const records = await readRecords(topics.records, sent.length);
    assert.equal(records.length, sent.length, 'one record per publish, no more');
    for (const expected of sent) {
      const key = `${expected.client}-${expected.device}`;
      const record = records.find((r) => r.key?.toString() === key);
      assert.ok(record, `record ${key}`);
      assert.deepEqual(record.value, expected.payload, key);
      assert.equal(headerText(record.headers, 'mqtt.topic'), `rec/${expected.device}`);
      assert.equal(headerText(record.headers, 'mqtt.qos'), String(expected.qos));
      assert.equal(headerText(record.headers, 'mqtt.retain'), 'false');
      assert.equal(headerText(record.headers, 'mqtt.client_id'), `clients-${expected.client}`);
      assert.equal(headerText(record.headers, 'mqtt.content_type'), 'application/octet-stream');
      assert.equal(headerText(record.headers, 'site'), 'plant-7');
      assert.deepEqual(headerText(record.headers, 'tag'), ['a', 'b'], `${key}: a repeated header keeps every value, in order`);
      const timestamp = Number(record.timestamp);
      assert.ok(timestamp >= started - 1000 && timestamp <= Date.now(), `${key}: timestamp ${timestamp} is the publish time`);
    }
  });

  test('a key lands on the partition the Java client picks, where kcat (librdkafka, murmur2) puts it too', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `device-${i * 7919}`);
    for (const client of CLIENTS) {
      const device = await connect(client, 4, `clients-keyed-${client}`);
      await Promise.all(keys.map((key) => device.publishAsync(`keyed/${key}`, client, { qos: 1 })));
      await device.endAsync();
    }
    await kcatProduce(topics.keyed, keys.map((key) => `${key}:kcat`));
    const writers = [...CLIENTS, 'kcat'];
    const records = await readRecords(topics.keyed, keys.length * writers.length);
    assert.equal(records.length, keys.length * writers.length);
    const partitions = new Set<number>();
    for (const key of keys) {
      const expected = javaPartition(Buffer.from(key), PARTITIONS);
      partitions.add(expected);
      for (const writer of writers) {
        const record = records.find((r) => r.key?.toString() === key && r.value?.toString() === writer);
        assert.ok(record, `${writer} record of ${key}`);
        assert.equal(record.partition, expected, `${writer}: ${key} on partition ${record.partition}, Java's murmur2 says ${expected}`);
      }
    }
    assert.ok(partitions.size > 1, 'the keys spread over several partitions');
  });

  test('Kafka refusing a record is a negative PUBACK for that record only', async () => {
    for (const client of CLIENTS) {
      const small = await connect(client, 5, `clients-small-${client}`);
      const big = await connect(client, 5, `clients-big-${client}`);
      const [smallResult, bigResult] = await Promise.all([
        small.publishAsync('small', `small-${client}`, { qos: 1 }).then(() => 'acked'),
        big.publishAsync('small', Buffer.alloc(4000, 7), { qos: 1 }).then(
          () => 'acked',
          (error: Error & { code?: number }) => error.code,
        ),
      ]);
      assert.equal(smallResult, 'acked', client);
      assert.equal(bigResult, 0x83, `${client}: implementation specific error for a record Kafka refuses as too large`);
      await Promise.all([small.endAsync(), big.endAsync()]);
      assert.ok(proxies.get(client)!.logs.some((l) => l.reason === 'record-too-large'), `${client} logs the reason`);
    }
    const records = await readRecords(topics.small, CLIENTS.length, { timeoutMs: 5000 });
    assert.deepEqual(records.map((r) => r.value?.toString()).sort(), CLIENTS.map((c) => `small-${c}`));
  });
});
