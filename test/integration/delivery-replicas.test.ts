// Two proxy processes (replicas) on one Kafka: a device's PUBLISH on one reaches a subscriber on
// the other through Kafka, both behind HAProxy; a shared subscription with a member on each gets
// each record exactly once.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { CommandProducer, subscriber } from '../helpers/commands.js';
import { createTopics, testBrokers, uniqueName } from '../helpers/kafka.js';
import { HaProxy, ProxyProcess } from '../helpers/processes.js';
import { parsePrometheusText, sampleSum } from '../helpers/prometheus.js';
import { sleep, until } from '../helpers/reader.js';

const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((path) => existsSync(path));
const skip = HAPROXY === undefined && !process.env.CI ? 'haproxy is not installed (apt-get install haproxy); CI installs it' : false;

// Fixed ports in the range the suite keeps for this file (below the ephemeral range).
const BASE = Number(process.env.DELIVERY_REPLICAS_PORT ?? 23100);
const ports = { haproxy: BASE, mqtt: [BASE + 1, BASE + 2], http: [BASE + 11, BASE + 12] };
const brokers = testBrokers();
const commands = uniqueName('replicas-commands');
const events = uniqueName('replicas-events');
const retainedTopic = uniqueName('replicas-retained');
// A sessions topic of this file's own: client ids are reused across the suite's files.
const sessionsTopic = uniqueName('delivery-replicas-sessions');
const clients: mqtt.MqttClient[] = [];
const replicas: ProxyProcess[] = [];
let haproxy: HaProxy | undefined;
const producer = new CommandProducer(brokers);

const yaml = (httpPort: number): string => `
mappings:
  - { name: chat, match: '^(chat|status)/.+$', topic: ${events}, key: '\${clientId}' }
delivery:
  - { name: commands, kafka: ${commands}, mqttTopic: 'devices/\${key}/commands' }
  - { name: events, kafka: ${events} }
retained: { topic: ${retainedTopic} }
sessions: { topic: ${sessionsTopic} }
auth: { anonymous: true }
kafka: { clientId: replicas-test }
http: { host: 127.0.0.1, port: ${httpPort} }
`;

async function connections(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return sampleSum(parsePrometheusText(text), 'mqtt_kafka_proxy_connections');
}

describe('two replicas', { skip }, () => {
  before(async () => {
    await createTopics([commands, events], brokers, 4);
    for (const [i, port] of ports.mqtt.entries()) {
      replicas.push(await ProxyProcess.start({ yaml: yaml(ports.http[i]!), port, brokers: brokers.join(','), name: `replica-${i}` }));
    }
    haproxy = new HaProxy(ports.haproxy, ports.mqtt);
    await haproxy.ready();
    await sleep(1500); // both backends healthy
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
    await haproxy?.stop();
    await Promise.all(replicas.map((replica) => replica.dispose()));
    await producer.close();
  });

  test('device to device behind HAProxy: a PUBLISH on one replica reaches a subscriber on the other', async () => {
    const url = `mqtt://127.0.0.1:${ports.haproxy}`;
    // Round robin: the two connections land on different replicas, checked below.
    const listener = await subscriber(url, { 'chat/+/hello': { qos: 1 } }, { protocolVersion: 5, clientId: 'd2d-listener' });
    clients.push(listener.client);
    const talker = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: 'd2d-talker', reconnectPeriod: 0 });
    clients.push(talker);
    const perReplica = await Promise.all(ports.http.map(connections));
    assert.deepEqual(perReplica, [1, 1], 'one connection on each replica');
    await talker.publishAsync('chat/kitchen/hello', 'hello from the other replica', { qos: 1 });
    await until(() => listener.received.length === 1, 15_000, 'the message through Kafka');
    assert.equal(listener.received[0]!.topic, 'chat/kitchen/hello');
    assert.equal(listener.received[0]!.payload, 'hello from the other replica');
    assert.equal(listener.received[0]!.packet.qos, 1);
  });

  test('a retained message set on one replica is sent to a new subscription on the other, per Retain Handling [MQTT-3.3.1-9, MQTT-3.3.1-11]', async () => {
    const lamp = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt[0]}`, { protocolVersion: 5, clientId: 'lamp', reconnectPeriod: 0 });
    clients.push(lamp);
    await lamp.publishAsync('status/lamp', 'on', { qos: 1, retain: true });
    const fresh = await subscriber(`mqtt://127.0.0.1:${ports.mqtt[1]}`, { 'status/#': { qos: 1 } }, { protocolVersion: 5, clientId: 'fresh' });
    const never = await subscriber(`mqtt://127.0.0.1:${ports.mqtt[1]}`, { 'status/#': { qos: 1, rh: 2 } }, { protocolVersion: 5, clientId: 'never' });
    const old = await subscriber(`mqtt://127.0.0.1:${ports.mqtt[1]}`, { 'status/#': { qos: 0 } }, { protocolVersion: 4, clientId: 'old' });
    clients.push(fresh.client, never.client, old.client);
    await until(() => fresh.received.length === 1 && old.received.length === 1, 15_000, 'the retained message');
    assert.equal(fresh.received[0]!.payload, 'on');
    assert.equal(fresh.received[0]!.packet.retain, true, 'sent because of the subscription: RETAIN 1');
    assert.equal(old.received[0]!.packet.retain, true);
    await sleep(500);
    assert.equal(never.received.length, 0, 'Retain Handling 2: none');
  });

  test('a shared subscription with a member on each replica gets each record exactly once', { timeout: 120_000 }, async () => {
    const members = await Promise.all(
      ports.mqtt.map(async (port, i) => {
        const member = await subscriber(`mqtt://127.0.0.1:${port}`, { '$share/workers/devices/+/commands': { qos: 1 } }, { protocolVersion: 5, clientId: `worker-${i}` });
        clients.push(member.client);
        return member;
      }),
    );
    // A plain subscriber beside the group gets everything.
    const watcher = await subscriber(`mqtt://127.0.0.1:${ports.mqtt[0]}`, { 'devices/+/commands': { qos: 1 } }, { protocolVersion: 5, clientId: 'watcher' });
    clients.push(watcher.client);
    await sleep(6000); // the group settles with both members
    const count = 400;
    await producer.send(commands, Array.from({ length: count }, (_, i) => ({ key: `unit-${i % 40}`, value: `job-${i}` })));
    await until(() => members[0]!.received.length + members[1]!.received.length >= count && watcher.received.length >= count, 30_000, 'every job');
    await sleep(1500);
    const got = members.flatMap((m) => m.received.map((r) => r.payload));
    assert.equal(got.length, count, 'no job twice');
    assert.deepEqual(new Set(got), new Set(Array.from({ length: count }, (_, i) => `job-${i}`)), 'every job once');
    assert.ok(members.every((m) => m.received.length > 0), `both members got jobs (${members.map((m) => m.received.length).join(' + ')})`);
    assert.equal(watcher.received.length, count);
  });
});
