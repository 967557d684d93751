import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { createTopics, readRecords, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

// This test stops and starts Kafka, so it runs a broker of its own rather than the shared one.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const kafkaDev = path.join(root, 'scripts', 'kafka-dev');
const port = process.env.OUTAGE_KAFKA_PORT ?? '29192';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mkp-outage-kafka-'));
const kafkaEnv = { ...process.env, KAFKA_PORT: port, KAFKA_DATA_DIR: dataDir };
const brokers = [`127.0.0.1:${port}`];
const topic = uniqueName('outage');

function kafka(command: 'start' | 'stop'): void {
  execFileSync(kafkaDev, [command], { env: kafkaEnv, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120000 });
}

// A 3 s produce timeout, so the tests see devices told to retransmit without waiting long.
const proxyConfig = `
mappings:
  - name: all
    match: '^outage/(?<id>.+)$'
    topic: ${topic}
    key: '\${id}'
kafka:
  requestTimeoutMs: 3000
  connectionTimeoutMs: 1000
auth: { anonymous: true }
http: { port: 0 }
`;

let proxy: RunningProxy;

before(async () => {
  kafka('start');
  await createTopics([topic], brokers);
  proxy = await startProxy(proxyConfig, { brokers });
  await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
});

after(async () => {
  await proxy?.stop();
  execFileSync(kafkaDev, ['stop', '--clean'], { env: kafkaEnv, stdio: 'ignore' });
  rmSync(dataDir, { recursive: true, force: true });
});

test('QoS 1 is not acknowledged while Kafka is down, and lands once it is back and the client retried', { timeout: 180000 }, async () => {
  const options = { reconnectPeriod: 500, connectTimeout: 5000 };
  const v5 = await mqtt.connectAsync(proxy.url, { ...options, protocolVersion: 5, clientId: 'outage-v5' });
  const v4 = await mqtt.connectAsync(proxy.url, { ...options, protocolVersion: 4, clientId: 'outage-v4' });
  await v5.publishAsync('outage/before', 'before', { qos: 1 });

  const disconnectCodes: number[] = [];
  v5.on('disconnect', (packet) => disconnectCodes.push(packet.reasonCode ?? 0));
  let v4Closed = false;
  v4.on('close', () => {
    v4Closed = true;
  });

  kafka('stop');
  const stoppedAt = Date.now();
  const acked: Record<string, number> = {};
  for (const [client, id] of [
    [v5, 'during-v5'],
    [v4, 'during-v4'],
  ] as const) {
    client.publish(`outage/${id}`, id, { qos: 1 }, (error) => {
      if (!error) acked[id] = Date.now();
    });
  }

  // Well past the 3 s produce timeout: no acknowledgement, and both clients were told to go away.
  await new Promise((resolve) => setTimeout(resolve, 6000));
  assert.deepEqual(acked, {}, 'nothing is acknowledged while Kafka is down');
  assert.ok(disconnectCodes.includes(0x89), `MQTT 5 client got DISCONNECT 0x89 (got ${disconnectCodes.join(',')})`);
  assert.ok(v4Closed, 'MQTT 3.1.1 client was disconnected');
  assert.ok(
    proxy.logs.some((l) => l.outcome === 'failed' && l.clientId === 'outage-v5'),
    'the failure is in the log with the client id',
  );

  kafka('start');
  const restartedAt = Date.now();
  await waitFor(() => acked['during-v5'] !== undefined && acked['during-v4'] !== undefined, 90000, 'PUBACKs after Kafka came back');
  assert.ok(acked['during-v5']! > restartedAt && acked['during-v4']! > restartedAt, 'acknowledged only after Kafka returned');
  await Promise.all([v5.endAsync(), v4.endAsync()]);

  const records = await readRecords(topic, 3, { brokers });
  const keys = records.map((r) => r.key?.toString());
  for (const id of ['before', 'during-v5', 'during-v4']) {
    assert.ok(keys.includes(id), `${id} is in Kafka (keys: ${keys.join(',')})`);
  }
  assert.ok(stoppedAt < restartedAt);
});

test('a proxy started while Kafka is down accepts clients, acknowledges nothing, and delivers once Kafka is up', { timeout: 180000 }, async () => {
  kafka('stop');
  const early = await startProxy(proxyConfig, { brokers });
  try {
    assert.ok(early.logs.some((l) => l.msg === 'Kafka not reachable, retrying'), 'the proxy says Kafka is not reachable');
    const client = await mqtt.connectAsync(early.url, { protocolVersion: 5, clientId: 'early-v5', reconnectPeriod: 500 });
    let ackedAt: number | undefined;
    client.publish('outage/early', 'early', { qos: 1 }, (error) => {
      if (!error) ackedAt = Date.now();
    });
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.equal(ackedAt, undefined, 'no PUBACK without Kafka');

    kafka('start');
    const startedAt = Date.now();
    await waitFor(() => ackedAt !== undefined, 90000, 'PUBACK once Kafka is up');
    assert.ok(ackedAt! > startedAt);
    await waitFor(() => early.logs.some((l) => l.msg === 'connected to Kafka'), 60000, 'the connection log line');
    await client.endAsync();
    const records = await readRecords(topic, 4, { brokers });
    assert.ok(records.some((r) => r.key?.toString() === 'early'), 'the message is in Kafka');
  } finally {
    await early.stop();
  }
});

