// Subscribers that stop reading their socket: the others still get every record at once, the
// proxy's memory stays bounded (limits.maxQueuedDeliveries per connection), a QoS 0 subscriber
// loses what does not fit, a QoS 1 subscriber that cannot keep up is sent away.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { ISubackPacket } from 'mqtt-packet';
import { CommandProducer } from '../helpers/commands.js';
import { createTopics, testBrokers, uniqueName } from '../helpers/kafka.js';
import { InspectorSession } from '../helpers/inspector.js';
import { ProxyProcess } from '../helpers/processes.js';
import { parsePrometheusText, sampleSum } from '../helpers/prometheus.js';
import { encode, rawConnect, type RawClient } from '../helpers/raw-mqtt.js';
import { until } from '../helpers/reader.js';

const BASE = Number(process.env.DELIVERY_SLOW_PORT ?? 23130);
const brokers = testBrokers();
const commands = uniqueName('slow-commands');
// A sessions topic of this file's own: client ids are reused across the suite's files.
const sessionsTopic = uniqueName('delivery-slow-sessions');
const producer = new CommandProducer(brokers);
let proxy: ProxyProcess;
let inspector: InspectorSession | undefined;
const raws: RawClient[] = [];

before(async () => {
  await createTopics([commands], brokers, 2);
  proxy = await ProxyProcess.start({
    port: BASE,
    brokers: brokers.join(','),
    // The inspector lets the test force a full GC in the proxy and read what it really holds.
    inspect: true,
    yaml: `
mappings:
  - { name: fleet, match: '^fleet/.+$', topic: ${commands} }
delivery:
  - { name: commands, kafka: ${commands}, mqttTopic: 'fleet/\${key}' }
retained: { enabled: false }
sessions: { topic: ${sessionsTopic} }
auth: { anonymous: true }
limits: { maxQueuedDeliveries: 2000 }
http: { host: 127.0.0.1, port: ${BASE + 1} }
`,
  });
  inspector = await InspectorSession.connect(proxy.inspectorUrl());
});

after(async () => {
  inspector?.close();
  for (const raw of raws) raw.destroy();
  await proxy?.dispose();
  await producer.close();
});

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${BASE + 1}/metrics`)).text();
  return sampleSum(parsePrometheusText(text), name, labels);
}

/** Subscribes, then stops reading its socket: the kernel buffers fill, then the proxy's queue. */
async function stalled(clientId: string, qos: 0 | 1): Promise<RawClient> {
  const raw = await rawConnect(BASE, clientId, 5, { properties: { receiveMaximum: 10 } });
  raws.push(raw);
  raw.send(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fleet/#', qos }] }, 5));
  const suback = (await raw.waitFor((p) => p.cmd === 'suback', 'SUBACK')) as ISubackPacket;
  assert.equal(suback.granted[0], qos);
  raw.socket.pause();
  return raw;
}

test('two subscribers that do not read hold up no one; memory stays bounded; QoS 0 dropped, QoS 1 sent away (0x97)', { timeout: 180_000 }, async () => {
  const slowQos0 = await stalled('slow-qos0', 0);
  const slowQos1 = await stalled('slow-qos1', 1);
  const count = 20_000; // 80 MB through the proxy, each record to three subscribers
  // The subscriber that keeps up: mosquitto_sub in its own process, printing each topic.
  const fast = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(BASE), '-V', 'mqttv5', '-i', 'fast', '-D', 'connect', 'receive-maximum', '2000', '-q', '1', '-t', 'fleet/#', '-C', String(count), '-F', '%t']);
  let fastLines = 0;
  fast.stdout.setEncoding('utf8').on('data', (chunk: string) => (fastLines += chunk.split('\n').length - 1));
  const fastExited = new Promise<number | null>((resolve) => fast.once('exit', resolve));
  for (let deadline = Date.now() + 10_000; (await metric('mqtt_kafka_proxy_subscriptions', { kind: 'direct' })) < 3; ) {
    assert.ok(Date.now() < deadline, 'mosquitto_sub subscribed');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const heldBefore = await inspector!.memoryAfterGc();
  const rssBefore = proxy.rss();
  const payload = Buffer.alloc(4096, 'p');
  let maxRss = rssBefore;
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, proxy.rss())), 100);
  const started = Date.now();
  for (let i = 0; i < count; i += 2000) {
    await producer.send(commands, Array.from({ length: 2000 }, (_, j) => ({ key: `unit-${(i + j) % 16}`, value: payload })));
  }
  await until(() => fastLines >= count, 120_000, 'every record at the fast subscriber').catch(async (error: unknown) => {
    const outcomes = ['sent', 'queued', 'dropped', 'disconnected', 'gone'].map(async (outcome) => `${outcome} ${await metric('mqtt_kafka_proxy_deliveries_total', { outcome })}`);
    throw new Error(`${String(error)}: the fast one got ${fastLines}; deliveries ${(await Promise.all(outcomes)).join(', ')}`);
  });
  clearInterval(sampler);
  const seconds = (Date.now() - started) / 1000;
  assert.equal(await fastExited, 0, 'mosquitto_sub got its 20,000 and exited');
  assert.equal(fastLines, count);
  let disconnected = 0;
  for (let deadline = Date.now() + 20_000; disconnected === 0 && Date.now() < deadline; ) {
    disconnected = await metric('mqtt_kafka_proxy_disconnects_total', { reason: 'quota-exceeded' });
    if (disconnected === 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Reading again, the stalled one finds what was written to it, then DISCONNECT 0x97 Quota exceeded.
  slowQos1.socket.resume();
  const disconnect = await slowQos1.waitFor((p) => p.cmd === 'disconnect', 'DISCONNECT', 20_000);
  assert.equal((disconnect as { reasonCode?: number }).reasonCode, 0x97);
  assert.ok(await slowQos1.waitClosed(10_000), 'and the connection closed');
  assert.ok(await metric('mqtt_kafka_proxy_deliveries_total', { outcome: 'dropped' }) > 0, 'QoS 0 messages over the bound were dropped');
  assert.equal(await metric('mqtt_kafka_proxy_deliveries_total', { outcome: 'disconnected' }), 1);
  assert.equal(await metric('mqtt_kafka_proxy_disconnects_total', { reason: 'quota-exceeded' }), 1);
  assert.ok(await metric('mqtt_kafka_proxy_queued_deliveries') <= 2000, 'at most one connection queue left');
  // The stalled QoS 0 subscriber is still connected with a full queue: what the proxy holds now.
  const held = (await inspector!.memoryAfterGc()) - heldBefore;
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
  console.log(`# ${count} records of 4 KiB in ${seconds.toFixed(1)} s; proxy RSS ${mib(rssBefore)} -> max ${mib(maxRss)} MiB; held after GC: +${mib(held)} MiB`);
  // Kept for the stalled one, everything would be 80 MB; its queue holds 2,000 messages (8 MB),
  // its socket buffers a few more.
  assert.ok(held < 32 * 2 ** 20, `the proxy holds ${mib(held)} MiB more than before`);
  assert.equal(slowQos0.closedByPeer, false, 'the QoS 0 subscriber stays connected');
});
