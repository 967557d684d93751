// Kafka -> device on one proxy against the real Kafka: records written by a backend reach the
// MQTT clients subscribed to their topic (MQTT.js 5 and 3.1.1, mosquitto_sub), and only them;
// wildcards and Subscription Identifiers, QoS 2 exactly once, No Local, Message Expiry,
// Retain As Published, subscribe ACLs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { hashPassword } from '../../src/auth/password-hash.js';
import { CommandProducer, subscriber } from '../helpers/commands.js';
import { createTopics, testBrokers, uniqueName } from '../helpers/kafka.js';
import { counterValue } from '../helpers/mqtt-connect.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { sleep, until } from '../helpers/reader.js';

const brokers = testBrokers();
const commands = uniqueName('delivery-commands');
const events = uniqueName('delivery-events');
// A sessions topic of this file's own: client ids are reused across the suite's files.
const sessionsTopic = uniqueName('delivery-sessions');
const producer = new CommandProducer(brokers);
const clients: mqtt.MqttClient[] = [];
let proxy: RunningProxy;

const FAST = { N: 1024, r: 8, p: 1 };

async function usersFile(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'mkp-delivery-'));
  const file = join(dir, 'users.yaml');
  writeFileSync(
    file,
    `users:
  - username: dev-1
    password: '${await hashPassword('pw', FAST)}'
acl:
  authenticated:
    - { allow: 'devices/%u/#', access: subscribe }
    - { allow: 'chat/#', access: both }
  anonymous:
    - { allow: '#', access: both }
`,
  );
  return file;
}

const track = <T extends { client: mqtt.MqttClient }>(s: T): T => {
  clients.push(s.client);
  return s;
};

before(async () => {
  await createTopics([commands, events], brokers, 2);
  proxy = await startProxy(`
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: 0 }
mappings:
  - { name: chat, match: '^chat/.+$', topic: ${events}, key: '\${clientId}' }
delivery:
  - { name: commands, kafka: ${commands}, mqttTopic: 'devices/\${key}/commands' }
  - { name: events, kafka: ${events} }
retained: { enabled: false }
sessions: { topic: ${sessionsTopic} }
auth: { anonymous: true, usersFile: ${await usersFile()} }
limits: { maxConnectionsPerAddress: 0 }
http: { port: 0 }
`, { logLevel: 'info' });
});

after(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
  await proxy?.stop();
  await producer.close();
});

describe('commands from Kafka', () => {
  test('one command reaches the one device among 1,000 subscribed (MQTT.js 5 and 3.1.1, mosquitto_sub)', { timeout: 180_000 }, async () => {
    const devices: Array<Awaited<ReturnType<typeof subscriber>>> = [];
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          subscriber(proxy.url, { [`devices/dev-${i + j}/commands`]: { qos: 1 } }, { clientId: `dev-${i + j}`, protocolVersion: (i + j) % 2 === 0 ? 5 : 4 }),
        ),
      );
      devices.push(...batch.map(track));
    }
    assert.ok(devices.every((d) => d.granted[0]!.qos === 1), 'every subscription granted QoS 1');
    const mosquitto = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(proxy.port), '-V', 'mqttv5', '-t', 'devices/dev-mosquitto/commands', '-q', '1', '-C', '1', '-v']);
    let printed = '';
    mosquitto.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => mosquitto.once('exit', resolve));
    await until(() => proxy.proxy.metrics !== undefined && devices.length === 1000, 1000, 'devices');
    await sleep(1500); // mosquitto_sub connects and subscribes

    await producer.send(commands, [
      { key: 'dev-517', value: 'reboot' },
      { key: 'dev-42', value: 'open', headers: { 'mqtt.content_type': 'text/plain', trace: 't-1' } },
      { key: 'dev-mosquitto', value: 'hello mosquitto' },
    ]);
    await until(() => devices[517]!.received.length === 1 && devices[42]!.received.length === 1, 15_000, 'the two commands');
    assert.equal(await exited, 0, 'mosquitto_sub got its one message and exited');
    assert.equal(printed.trim(), 'devices/dev-mosquitto/commands hello mosquitto');
    await sleep(500);
    const others = devices.filter((_, i) => i !== 517 && i !== 42).reduce((n, d) => n + d.received.length, 0);
    assert.equal(others, 0, 'no other device got anything');
    const [reboot] = devices[517]!.received; // MQTT.js 3.1.1
    assert.equal(reboot!.topic, 'devices/dev-517/commands');
    assert.equal(reboot!.payload, 'reboot');
    assert.equal(reboot!.packet.qos, 1);
    const [open] = devices[42]!.received; // MQTT 5: content type and the other header as a user property
    assert.equal(open!.packet.properties?.contentType, 'text/plain');
    assert.deepEqual({ ...open!.packet.properties?.userProperties }, { trace: 't-1' });
    assert.ok((await counterValue(proxy.proxy.metrics.deliveries, { outcome: 'sent' })) >= 3);
  });

  test('wildcards, overlapping subscriptions and their Subscription Identifiers [MQTT-3.3.4-3]', async () => {
    const plus = track(await subscriber(proxy.url, { 'devices/+/commands': { qos: 0 } }, { protocolVersion: 5 }, { properties: { subscriptionIdentifier: 7 } }));
    await plus.client.subscribeAsync({ 'devices/#': { qos: 1 } }, { properties: { subscriptionIdentifier: 9 } });
    const other = track(await subscriber(proxy.url, { 'devices/+/status': { qos: 1 } }, { protocolVersion: 5 }));
    await producer.send(commands, [{ key: 'w-1', value: 'one' }, { key: 'w-2', value: 'two' }]);
    await until(() => plus.received.length >= 2, 10_000, 'both commands');
    await sleep(300);
    assert.deepEqual(plus.received.map((r) => r.topic).sort(), ['devices/w-1/commands', 'devices/w-2/commands']);
    for (const r of plus.received) {
      assert.deepEqual([r.packet.properties?.subscriptionIdentifier].flat().sort(), [7, 9]);
      assert.equal(r.packet.qos, 1, 'the highest QoS of the matching subscriptions');
    }
    assert.equal(other.received.length, 0);
  });

  test('QoS 2: each record delivered exactly once on one connection', async () => {
    const device = track(await subscriber(proxy.url, { 'devices/q2/commands': { qos: 2 } }, { protocolVersion: 5, clientId: 'q2' }));
    assert.equal(device.granted[0]!.qos, 2);
    const count = 300;
    await producer.send(commands, Array.from({ length: count }, (_, i) => ({ key: 'q2', value: `m-${i}` })));
    await until(() => device.received.length >= count, 20_000, `${count} QoS 2 messages`);
    await sleep(1000);
    assert.equal(device.received.length, count, 'none twice');
    assert.deepEqual(device.received.map((r) => r.payload), Array.from({ length: count }, (_, i) => `m-${i}`), 'in Kafka order');
    assert.ok(device.received.every((r) => r.packet.qos === 2 && r.packet.dup !== true));
  });
});

describe('device to device through Kafka', () => {
  test('No Local: a subscriber does not get its own messages back [MQTT-3.8.3-3]', async () => {
    const talker = track(await subscriber(proxy.url, { 'chat/room': { qos: 1, nl: true } }, { protocolVersion: 5, clientId: 'talker' }));
    const listener = track(await subscriber(proxy.url, { 'chat/+': { qos: 1 } }, { protocolVersion: 5, clientId: 'listener' }));
    await talker.client.publishAsync('chat/room', 'hi all', { qos: 1, properties: { userProperties: { lang: 'en' } } });
    await listener.client.publishAsync('chat/room', 'hi talker', { qos: 1 });
    await until(() => listener.received.length >= 1 && talker.received.length >= 1, 10_000, 'messages');
    await sleep(500);
    assert.deepEqual(talker.received.map((r) => r.payload), ['hi talker']);
    // No Local is per subscription: the listener's has none, so it gets its own as well.
    assert.deepEqual(listener.received.map((r) => r.payload).sort(), ['hi all', 'hi talker']);
    const fromTalker = listener.received.find((r) => r.payload === 'hi all')!;
    assert.equal(fromTalker.topic, 'chat/room', 'the MQTT topic the device published on');
    assert.deepEqual({ ...fromTalker.packet.properties?.userProperties }, { lang: 'en' });
  });

  test('Retain As Published keeps RETAIN from the record, otherwise it is 0 [MQTT-3.3.1-12, MQTT-3.3.1-13]', async () => {
    const keeps = track(await subscriber(proxy.url, { 'devices/rap/commands': { qos: 0, rap: true } }, { protocolVersion: 5 }));
    const plain = track(await subscriber(proxy.url, { 'devices/rap/commands': { qos: 0 } }, { protocolVersion: 5 }));
    await producer.send(commands, [{ key: 'rap', value: 'r', headers: { 'mqtt.retain': 'true' } }]);
    await until(() => keeps.received.length === 1 && plain.received.length === 1, 10_000, 'both');
    assert.equal(keeps.received[0]!.packet.retain, true);
    assert.equal(plain.received[0]!.packet.retain, false);
  });

  test('Message Expiry: an expired record is not sent, the rest carry what remains [MQTT-3.3.2-5, MQTT-3.3.2-6]', async () => {
    const device = track(await subscriber(proxy.url, { 'devices/exp/commands': { qos: 1 } }, { protocolVersion: 5 }));
    const now = Date.now();
    await producer.send(commands, [
      { key: 'exp', value: 'stale', timestamp: now - 120_000, headers: { 'mqtt.message_expiry_interval': '60' } },
      { key: 'exp', value: 'fresh', timestamp: now - 20_000, headers: { 'mqtt.message_expiry_interval': '60' } },
      { key: 'exp', value: 'forever' },
    ]);
    await until(() => device.received.length >= 2, 10_000, 'the live ones');
    await sleep(500);
    assert.deepEqual(device.received.map((r) => r.payload), ['fresh', 'forever']);
    const interval = device.received[0]!.packet.properties?.messageExpiryInterval ?? 0;
    assert.ok(interval >= 38 && interval <= 41, `remaining interval ${interval}`);
    assert.equal(device.received[1]!.packet.properties?.messageExpiryInterval, undefined);
    assert.ok((await counterValue(proxy.proxy.metrics.deliveries, { outcome: 'expired' })) >= 1);
  });
});

describe('subscribe ACLs', () => {
  test('a filter the ACL does not cover is refused: 0x87 on MQTT 5, 0x80 on 3.1.1; nothing denied is delivered', async () => {
    for (const protocolVersion of [5, 4] as const) {
      const device = track(
        await subscriber(
          proxy.url,
          { 'devices/dev-1/commands': { qos: 1 }, 'devices/dev-2/commands': { qos: 1 }, 'devices/+/commands': { qos: 1 } },
          { protocolVersion, username: 'dev-1', password: 'pw', clientId: `acl-${protocolVersion}` },
        ),
      );
      const refused = protocolVersion === 5 ? 0x87 : 0x80;
      assert.deepEqual(device.granted.map((g) => g.qos), [1, refused, refused], `protocol ${protocolVersion}`);
      await producer.send(commands, [{ key: 'dev-2', value: 'not yours' }, { key: 'dev-1', value: 'yours' }]);
      await until(() => device.received.length >= 1, 10_000, 'the allowed one');
      await sleep(300);
      assert.deepEqual(device.received.map((r) => r.payload), ['yours']);
      assert.equal(device.client.connected, true, 'the client stays connected');
    }
  });
});
