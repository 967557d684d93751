// Persistent sessions on two proxy processes (replicas) behind HAProxy and one real Kafka: a
// session made on one replica is resumed on the other with what was written meanwhile, in order;
// unacknowledged QoS 1 and QoS 2 messages come again with their packet identifiers; Clean Start
// discards, expiry deletes; a CONNECT on one replica takes over a connection on the other (0x8E).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { IPublishPacket, IPubrelPacket } from 'mqtt-packet';
import mqtt from 'mqtt';
import { CommandProducer, subscriber } from '../helpers/commands.js';
import { Code, ConformanceClient, connectPacket, type ConnackPacket, type Packet } from '../helpers/conformance.js';
import { createTopics, readRecordsUntil, testBrokers, uniqueName } from '../helpers/kafka.js';
import * as bytes from '../helpers/mqtt-bytes.js';
import { HaProxy, ProxyProcess } from '../helpers/processes.js';
import { sleep, until } from '../helpers/reader.js';

const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((path) => existsSync(path));
const skip = HAPROXY === undefined && !process.env.CI ? 'haproxy is not installed (apt-get install haproxy); CI installs it' : false;

const BASE = Number(process.env.SESSIONS_REPLICAS_PORT ?? 23200);
const ports = { haproxy: BASE, mqtt: [BASE + 1, BASE + 2], http: [BASE + 11, BASE + 12] };
const brokers = testBrokers();
const commands = uniqueName('sessions-commands');
const events = uniqueName('sessions-events');
const sessionsTopic = uniqueName('sessions-store');
const clients: mqtt.MqttClient[] = [];
const raw: ConformanceClient[] = [];
const replicas: ProxyProcess[] = [];
let haproxy: HaProxy | undefined;
const producer = new CommandProducer(brokers);
const direct = (i: number): string => `mqtt://127.0.0.1:${ports.mqtt[i]}`;

const yaml = (httpPort: number): string => `
mappings:
  - { name: wills, match: '^up/will/.+$', topic: ${events} }
  - { name: any, match: '^up/.+$', topic: ${commands} }
delivery:
  - { name: commands, kafka: ${commands}, mqttTopic: 'devices/\${key}/commands' }
  - { name: events, kafka: ${events} }
retained: { enabled: false }
sessions: { topic: ${sessionsTopic}, maxExpirySeconds: 600, leaseSeconds: 3 }
auth: { anonymous: true }
http: { host: 127.0.0.1, port: ${httpPort} }
`;

/** A raw MQTT 5 client on replica `i` with a persistent session (Clean Start 0, Session Expiry 300 s). */
async function rawSession(i: number, clientId: string, clean = false): Promise<{ client: ConformanceClient; connack: ConnackPacket }> {
  const client = await ConformanceClient.open(ports.mqtt[i]!, 5);
  raw.push(client);
  client.send(connectPacket(clientId, 5, { clean, properties: { sessionExpiryInterval: 300 } }));
  const connack = (await client.waitFor('connack', 'CONNACK', 10_000)) as ConnackPacket;
  return { client, connack };
}

const publishes = (client: ConformanceClient): IPublishPacket[] => client.received.map((r) => r.packet).filter((p): p is IPublishPacket => p?.cmd === 'publish');

describe('persistent sessions on two replicas', { skip }, () => {
  before(async () => {
    await createTopics([commands, events], brokers, 2);
    for (const [i, port] of ports.mqtt.entries()) {
      replicas.push(await ProxyProcess.start({ yaml: yaml(ports.http[i]!), port, brokers: brokers.join(','), name: `sessions-${i}` }));
    }
    haproxy = new HaProxy(ports.haproxy, ports.mqtt);
    await haproxy.ready();
    await sleep(1500);
  });

  after(async () => {
    raw.forEach((client) => client.destroy());
    await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
    await haproxy?.stop();
    await Promise.all(replicas.map((replica) => replica.dispose()));
    await producer.close();
  });

  for (const version of [5, 4] as const) {
    test(`MQTT-3.2.2-3 ${version === 5 ? 'v5' : 'v3.1.1'}: offline commands reach the device on the other replica, in order, with Session Present 1`, async () => {
      const id = `offline-${version}`;
      const session = version === 5 ? { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 } } : { protocolVersion: 4 as const, clean: false };
      const first = await subscriber(direct(0), { [`devices/${id}/commands`]: { qos: 1 } }, { ...session, clientId: id });
      await sleep(1500); // the subscription is stored
      await first.client.endAsync();
      const count = 20;
      await producer.send(commands, Array.from({ length: count }, (_, n) => ({ key: id, value: `cmd-${n}` })));
      const again = await subscriber(direct(1), {}, { ...session, clientId: id });
      clients.push(again.client);
      await until(() => again.received.length >= count, 20_000, `the ${count} commands written while away`);
      assert.deepEqual(again.received.map((r) => r.payload), Array.from({ length: count }, (_, n) => `cmd-${n}`), 'every command once, in order');
      assert.equal((again.client as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket?.sessionPresent, true);
      await producer.send(commands, [{ key: id, value: 'live' }]);
      await until(() => again.received.length === count + 1, 15_000, 'a live command after the catch-up');
      assert.equal(again.received.at(-1)!.payload, 'live');
    });
  }

  test('MQTT-4.8.2 shared subscription in a persistent session: kept on the other replica; what its group missed while away comes after the reconnect', async () => {
    const id = 'shared-session';
    const session = { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 }, clientId: id };
    const first = await subscriber(direct(0), { [`$share/workers/devices/${id}/commands`]: { qos: 1 } }, session);
    await producer.send(commands, [{ key: id, value: 'before' }]);
    await until(() => first.received.length === 1, 20_000, 'the group serves its member');
    await sleep(1500); // the session (and the group's position) stored
    await first.client.endAsync();
    await producer.send(commands, Array.from({ length: 5 }, (_, n) => ({ key: id, value: `away-${n}` })));
    const again = await subscriber(direct(1), {}, session);
    clients.push(again.client);
    await until(() => again.received.length >= 5, 30_000, 'the 5 commands written while the group had no member');
    assert.deepEqual(again.received.map((r) => r.payload), Array.from({ length: 5 }, (_, n) => `away-${n}`), 'in order, once, without subscribing again');
  });

  test('MQTT-4.4.0-1: unacknowledged QoS 1 and QoS 2 messages are sent again on the other replica with DUP and their packet identifiers; PUBREL again for a released one', async () => {
    const id = 'redeliver-5';
    const { client: first } = await rawSession(0, id, true);
    first.send(bytes.subscribe({ packetId: 1, entries: [{ filter: `devices/${id}/commands`, options: 2 }] }, 5));
    await first.waitFor('suback', 'SUBACK', 10_000);
    await producer.send(commands, [{ key: id, value: 'a' }, { key: id, value: 'b' }]);
    const sent = await first.waitForCount((p: Packet) => p.cmd === 'publish', 2, 'two QoS 2 PUBLISHes', 15_000);
    const [a, b] = sent as IPublishPacket[];
    assert.equal(a!.qos, 2);
    // a: PUBREC, so the server releases it; b: no answer at all.
    first.send(bytes.ack(0x50, a!.messageId!));
    await first.waitFor('pubrel', 'PUBREL for a', 5000);
    await sleep(1500); // stored
    first.destroy();
    await sleep(300);
    const { client: second, connack } = await rawSession(1, id);
    assert.equal(connack.sessionPresent, true);
    const pubrel = (await second.waitFor('pubrel', 'PUBREL again', 15_000)) as IPubrelPacket;
    assert.equal(pubrel.messageId, a!.messageId, 'the released message: PUBREL with its identifier');
    const again = (await second.waitFor('publish', 'b again', 15_000)) as IPublishPacket;
    assert.equal(again.messageId, b!.messageId, 'b: its packet identifier');
    assert.equal(again.dup, true, 'b: DUP 1');
    assert.equal(again.payload.toString(), 'b');
    assert.equal(publishes(second).filter((p) => p.payload.toString() === 'a').length, 0, 'a, released, is not sent again');
    second.send(bytes.ack(0x70, a!.messageId!));
    second.send(bytes.ack(0x50, b!.messageId!));
    await second.waitFor('pubrel', 'PUBREL for b', 5000);
    second.send(bytes.ack(0x70, b!.messageId!));
  });

  test('MQTT-4.3.3-10 across replicas: a QoS 2 PUBLISH repeated after reconnecting to the other replica, before its PUBREL, is answered and not produced again', async () => {
    const id = 'inbound-q2';
    const payload = `once-${Date.now()}`;
    const { client: first } = await rawSession(0, id, true);
    first.send(bytes.publish({ topic: `up/${id}`, qos: 2, packetId: 7, payload }, 5));
    await first.waitFor('pubrec', 'PUBREC', 10_000);
    first.destroy();
    // The ids awaiting PUBREL are stored when the connection ends: the other replica reads that record.
    await sleep(1500);
    const { client: second, connack } = await rawSession(1, id);
    assert.equal(connack.sessionPresent, true);
    second.send(bytes.publish({ topic: `up/${id}`, qos: 2, packetId: 7, payload, dup: true }, 5));
    await second.waitFor('pubrec', 'PUBREC for the repeat', 10_000);
    second.send(bytes.ack(0x62, 7));
    await second.waitFor('pubcomp', 'PUBCOMP', 5000);
    await sleep(1000);
    const records = await readRecordsUntil(commands, () => false, { timeoutMs: 4000 });
    assert.equal(records.filter((r) => r.value?.toString() === payload).length, 1, 'produced once');
  });

  test('MQTT-3.1.2-4: Clean Start 1 discards the stored session: Session Present 0, nothing sent from it', async () => {
    const id = 'discard-5';
    const first = await subscriber(direct(0), { [`devices/${id}/commands`]: { qos: 1 } }, { protocolVersion: 5, clean: false, clientId: id, properties: { sessionExpiryInterval: 300 } });
    await sleep(1500);
    await first.client.endAsync();
    await producer.send(commands, [{ key: id, value: 'stale' }]);
    const { client, connack } = await rawSession(1, id, true);
    assert.equal(connack.sessionPresent, false);
    await sleep(2000);
    assert.equal(publishes(client).length, 0, 'no subscription survived');
  });

  test('MQTT-3.1.2-23 v5: a session past its Session Expiry Interval is gone (Session Present 0)', async () => {
    const id = 'expiry-5';
    const first = await subscriber(direct(0), { [`devices/${id}/commands`]: { qos: 1 } }, { protocolVersion: 5, clean: false, clientId: id, properties: { sessionExpiryInterval: 2 } });
    await sleep(1200);
    await first.client.endAsync();
    await sleep(3500);
    const again = await subscriber(direct(1), {}, { protocolVersion: 5, clean: false, clientId: id, properties: { sessionExpiryInterval: 2 } });
    clients.push(again.client);
    assert.equal((again.client as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket?.sessionPresent, false);
  });

  test('MQTT-3.1.4-3: a CONNECT on one replica takes over the connection of the same client id on the other: DISCONNECT 0x8E there', async () => {
    for (const [from, to] of [[0, 1], [1, 0]] as const) {
      const id = `takeover-${from}${to}`;
      const { client: old } = await rawSession(from, id);
      await sleep(300);
      const { client: taker, connack } = await rawSession(to, id);
      assert.equal(connack.reasonCode ?? 0, 0);
      const disconnect = await old.waitFor('disconnect', 'DISCONNECT on the old connection', 10_000);
      assert.equal((disconnect as { reasonCode?: number }).reasonCode, Code.sessionTakenOver);
      await until(() => old.closedAt !== undefined, 5000, 'the old connection closed');
      taker.send(bytes.PINGREQ);
      await taker.waitFor('pingresp', 'the new connection is served', 5000);
    }
  });

  test('MQTT-3.1.4-3 on one replica: the new connection of a persistent session gets Session Present 1 and its subscriptions; the old one 0x8E', async () => {
    const id = 'takeover-same';
    const { client: old } = await rawSession(0, id, true);
    old.send(bytes.subscribe({ packetId: 1, entries: [{ filter: `devices/${id}/commands`, options: 1 }] }, 5));
    await old.waitFor('suback', 'SUBACK', 10_000);
    const { client: taker, connack } = await rawSession(0, id);
    assert.equal(connack.sessionPresent, true, 'the session the old connection had');
    const disconnect = await old.waitFor('disconnect', 'DISCONNECT on the old connection', 5000);
    assert.equal((disconnect as { reasonCode?: number }).reasonCode, Code.sessionTakenOver);
    await producer.send(commands, [{ key: id, value: 'for-the-new-one' }]);
    const publish = (await taker.waitFor('publish', 'the command on the new connection', 15_000)) as IPublishPacket;
    assert.equal(publish.payload.toString(), 'for-the-new-one');
    taker.send(bytes.ack(0x40, publish.messageId!));
  });

  test('MQTT-3.1.2-8: the will of a client whose replica is killed is published by the other replica once the lease lapses, also one already waiting out its Will Delay there; a reconnect within the Will Delay cancels it', async () => {
    const watcher = await subscriber(direct(1), { 'up/will/+': { qos: 1 } }, { protocolVersion: 5, clientId: 'will-watcher' });
    clients.push(watcher.client);
    const will = (id: string, delay: number): mqtt.IClientOptions => ({ protocolVersion: 5, clientId: id, clean: false, properties: { sessionExpiryInterval: 300 }, will: { topic: `up/will/${id}`, payload: Buffer.from(`gone-${id}`), qos: 1, retain: false, properties: { willDelayInterval: delay } } });
    const lost = await mqtt.connectAsync(direct(0), { ...will('lost', 0), reconnectPeriod: 0 });
    const back = await mqtt.connectAsync(direct(0), { ...will('back', 8), reconnectPeriod: 0 });
    // Gone without DISCONNECT before the kill: its will waits out its 4 s delay on the replica killed.
    const waiting = await mqtt.connectAsync(direct(0), { ...will('waiting', 4), reconnectPeriod: 0 });
    for (const c of [lost, back, waiting]) c.on('error', () => undefined);
    await sleep(500);
    waiting.stream.destroy();
    const droppedAt = Date.now();
    await sleep(1000);
    const killedAt = Date.now();
    replicas[0]!.kill('SIGKILL');
    await until(() => watcher.received.some((r) => r.topic === 'up/will/lost'), 20_000, 'the will of the client of the killed replica');
    const seconds = (Date.now() - killedAt) / 1000;
    assert.ok(seconds < 12, `published ${seconds.toFixed(1)} s after the kill (lease 3 s)`);
    await until(() => watcher.received.some((r) => r.topic === 'up/will/waiting'), 20_000, 'the will that was waiting out its delay on the killed replica');
    const waited = (Date.now() - droppedAt) / 1000;
    assert.ok(waited >= 4 && waited < 15, `the waiting will published ${waited.toFixed(1)} s after its client went (delay 4 s, lease 3 s)`);
    const returned = await mqtt.connectAsync(direct(1), { ...will('back', 8), reconnectPeriod: 0 });
    clients.push(returned);
    await sleep(9000);
    assert.equal(watcher.received.filter((r) => r.topic === 'up/will/back').length, 0, 'cancelled by the reconnect within its delay');
    assert.equal(watcher.received.filter((r) => r.topic === 'up/will/lost').length, 1, 'published once');
    assert.equal(watcher.received.filter((r) => r.topic === 'up/will/waiting').length, 1, 'the waiting will published once');
  });
});
