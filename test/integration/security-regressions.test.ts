// Raw-byte attacks that once crashed or wore down the MQTT side (the aedes security fixes the
// project carried, and what the conformance suite found since), run against the proxy itself as a
// child process. Each test checks that
//   (a) the proxy process is still alive,
//   (b) well-behaved MQTT.js clients (v5 and v3.1.1) can still connect and get a PUBACK for a QoS 1
//       PUBLISH, its record in Kafka, and
//   (c) the attacker got the answer the protocol gives (reason code, or the connection closed).
import assert from 'node:assert/strict';
import { afterEach, before, beforeEach, test } from 'node:test';
import mqtt from 'mqtt';
import {
  ConformanceClient,
  clientIdFor,
  connectPacket,
  connected,
  encode,
  reasonCodeOf,
  type Packet,
  type Version,
} from '../helpers/conformance.js';
import { createTopics, headerText, readRecordsUntil, uniqueName, type ReadRecord } from '../helpers/kafka.js';
import * as bytes from '../helpers/mqtt-bytes.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';

const TOPIC_NAME_INVALID = 0x90;
const RECEIVE_MAXIMUM_EXCEEDED = 0x93;
// A failing test must fail, not hang (MQTT.js leaves a publish pending forever when the server drops the connection).
const TEST_TIMEOUT = { timeout: 60000 };

const kafkaTopic = uniqueName('security');
let proxy: ProxyProcess;

before(() => createTopics([kafkaTopic]));
// A process of its own per test: one attack that kills it must not fail the tests after it.
beforeEach(async () => {
  proxy = await startProxyProcess(`
mappings:
  - name: all
    match: '^(?!unmapped/)'
    topic: ${kafkaTopic}
unmapped: reject
auth: { anonymous: true }
limits: { maxPacketSize: 1048576 }
`);
});
afterEach(() => proxy?.stop());

/** Runs `promise`, but fails with the proxy's output if the process dies first (or right after `promise` failed). */
async function orCrash<T>(promise: Promise<T>): Promise<T> {
  const died = proxy.run.exited.then(() => {
    throw new Error(proxy.deathReport());
  });
  try {
    return await Promise.race([promise, died]);
  } catch (error) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    if (!proxy.isAlive()) throw new Error(proxy.deathReport());
    throw error;
  }
}

async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** (a) the process did not exit (gives a crash a moment to happen first). */
async function assertAlive(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(proxy.isAlive(), proxy.deathReport());
}

/** (b) a well-behaved MQTT.js client connects and gets a PUBACK for QoS 1; returns the topic it used. */
async function assertHealthy(protocolVersion: Version): Promise<string> {
  const topic = `healthy/v${protocolVersion}/${uniqueName('ping')}`;
  const client = await orCrash(mqtt.connectAsync(`mqtt://127.0.0.1:${proxy.port}`, { protocolVersion, clientId: clientIdFor(`healthy${protocolVersion}`), reconnectPeriod: 0, connectTimeout: 3000 }));
  try {
    const pubacks: Packet[] = [];
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'puback') pubacks.push(packet as Packet);
    });
    await orCrash(within(5000, `v${protocolVersion} QoS 1 publish`, client.publishAsync(topic, 'ok', { qos: 1 })));
    assert.equal(pubacks.length, 1, `v${protocolVersion} client gets a PUBACK`);
    assert.equal(reasonCodeOf(pubacks[0]!), 0, 'PUBACK is a success');
  } finally {
    await client.endAsync(true);
  }
  return topic;
}

async function assertAliveAndHealthy(): Promise<void> {
  await assertAlive();
  const topics = [await assertHealthy(5), await assertHealthy(4)];
  assert.ok(proxy.isAlive(), 'proxy still alive after the health checks');
  const all = await mqttTopicsInKafka(topics);
  for (const topic of topics) assert.ok(all.includes(topic), `the healthy client's record for ${topic} is in Kafka`);
}

/**
 * The mqtt.topic headers of the records in Kafka, read until each of `topics` is among them as
 * often as it is listed (or for 20 s), and a little longer so a record produced twice shows.
 */
async function mqttTopicsInKafka(topics: readonly string[]): Promise<string[]> {
  const topicOf = (r: ReadRecord): string => String(headerText(r.headers, 'mqtt.topic'));
  const count = (list: readonly string[], t: string): number => list.filter((x) => x === t).length;
  const records = await readRecordsUntil(kafkaTopic, (read) => {
    const seen = read.map(topicOf);
    return topics.every((t) => count(seen, t) >= count(topics, t));
  });
  return records.map(topicOf);
}

async function attacker(version: Version, clientId = clientIdFor('attacker'), extra = {}): Promise<ConformanceClient> {
  return (await orCrash(connected(proxy.port, version, clientId, extra))).client;
}

const isAck = (cmd: Packet['cmd'], id?: number) => (p: Packet): boolean => p.cmd === cmd && (id === undefined || (p as { messageId?: number }).messageId === id);

// aedes 1.1.3: the PUBREL handler's `.finally()` re-threw the rejection of the second
// incomingDelPacket as an unhandled rejection, which kills Node.
test('double PUBREL for one packet id in one segment does not crash the proxy (aedes 1.1.3)', TEST_TIMEOUT, async () => {
  for (const version of [4, 5] as const) {
    const client = await attacker(version);
    try {
      client.send(bytes.publish({ topic: 'pubrel/race', qos: 2, packetId: 42 }, version));
      await orCrash(client.waitFor(isAck('pubrec', 42), 'PUBREC 42'));
      client.send(bytes.ack(0x62, 42), bytes.ack(0x62, 42));
      // (c) both PUBRELs are answered with a PUBCOMP [MQTT-4.3.3-11]
      const pubcomps = await orCrash(client.waitForCount(isAck('pubcomp', 42), 2, 'two PUBCOMPs for 42'));
      assert.equal(pubcomps.length, 2);
    } finally {
      client.destroy();
    }
    await assertAlive();
  }
  await assertAliveAndHealthy();
});

// GHSA-52qw-whmv-87c5: wire strings used as keys of plain objects (clients by id, subscriptions,
// the SUBSCRIBE dedupe map, QoS 2 ids) hit Object.prototype members.
test('prototype-named client ids and topics neither crash nor misroute (GHSA-52qw-whmv-87c5)', TEST_TIMEOUT, async () => {
  const names = ['__proto__', 'constructor', 'hasOwnProperty', 'toString'];
  const published: string[] = [];
  for (const [i, name] of names.entries()) {
    const version: Version = i % 2 === 0 ? 4 : 5;
    const other = names[(i + 1) % names.length]!;
    // CONNECT with a prototype-named client id
    const first = await attacker(version, name);
    try {
      // SUBSCRIBE to a prototype-named filter, alone and with another (the dedupe map): a SUBACK with one code per filter
      first.send(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: name, qos: 1 }] }, version));
      const suback = await orCrash(first.waitFor(isAck('suback', 1), `SUBACK for ${name}`));
      assert.equal((suback as { granted: number[] }).granted.length, 1);
      first.send(encode({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: other, qos: 1 }, { topic: 'plain/topic', qos: 0 }, { topic: other, qos: 0 }] }, version));
      const suback2 = await orCrash(first.waitFor(isAck('suback', 2), `SUBACK for ${other}, plain, ${other}`));
      assert.equal((suback2 as { granted: number[] }).granted.length, 3, 'one code per filter, a repeated one included (MQTT-3.8.4-5 3.1.1, MQTT-3.8.4-6 5)');

      // PUBLISH to it at QoS 1 and 2 (the QoS 2 ids by packet id), produced under its own name
      first.send(bytes.publish({ topic: name, qos: 1, packetId: 3, payload: 'hello' }, version), bytes.publish({ topic: name, qos: 2, packetId: 4, payload: 'hello2' }, version));
      await orCrash(first.waitFor(isAck('puback', 3), `PUBACK for the publish to ${name}`));
      await orCrash(first.waitFor(isAck('pubrec', 4), `PUBREC for the publish to ${name}`));
      first.send(bytes.ack(0x62, 4));
      await orCrash(first.waitFor(isAck('pubcomp', 4), 'PUBCOMP'));
      published.push(name, name);

      // UNSUBSCRIBE a prototype-named filter this client never subscribed to
      first.send(encode({ cmd: 'unsubscribe', messageId: 5, unsubscriptions: [names[(i + 2) % names.length]!] }, version));
      await orCrash(first.waitFor(isAck('unsuback', 5), 'UNSUBACK'));

      // a second CONNECT with the same prototype-named id takes the connection over
      const successor = await attacker(version, name);
      try {
        assert.ok(await first.waitClosed(), `the first "${name}" connection is closed by the takeover`);
        assert.ok(await orCrash(successor.answersPing()), 'the successor is served');
      } finally {
        successor.destroy();
      }
    } finally {
      first.destroy();
    }
  }
  const seen = await mqttTopicsInKafka(published);
  for (const name of names) assert.equal(seen.filter((t) => t === name).length, 2, `both records published to "${name}" carry that topic`);
  await assertAliveAndHealthy();
});

// GHSA-xxqp-5qx8-gj5q: a topic matcher threw synchronously past 100 topic levels; every path that
// hands a wire topic on must refuse it first (or cope with it), never throw.
test('deeply nested topics on every path are refused without crashing (GHSA-xxqp-5qx8-gj5q)', TEST_TIMEOUT, async () => {
  const deep = 'a/'.repeat(5000) + 'b'; // 5001 levels
  const deepFilter = '+/'.repeat(5000) + '#';
  const attacks: Array<{ name: string; version: Version; packets: Buffer[] }> = [
    { name: 'PUBLISH QoS 1', version: 4, packets: [bytes.publish({ topic: deep, qos: 1, packetId: 1 }, 4)] },
    { name: 'PUBLISH QoS 0 retained', version: 4, packets: [bytes.publish({ topic: deep, retain: true }, 4)] },
    { name: 'PUBLISH QoS 2 v5', version: 5, packets: [bytes.publish({ topic: deep, qos: 2, packetId: 1 }, 5)] },
    {
      name: 'PUBLISH v5 registering a topic alias, then using it',
      version: 5,
      packets: [
        bytes.publish({ topic: deep, properties: bytes.properties(bytes.prop.u16(bytes.Property.topicAlias, 1)) }, 5),
        bytes.publish({ topic: '', qos: 1, packetId: 2, properties: bytes.properties(bytes.prop.u16(bytes.Property.topicAlias, 1)) }, 5),
      ],
    },
    { name: 'SUBSCRIBE', version: 4, packets: [bytes.subscribe({ packetId: 1, entries: [{ filter: deep, options: 1 }] }, 4)] },
    { name: 'SUBSCRIBE wildcard filter v5', version: 5, packets: [bytes.subscribe({ packetId: 1, entries: [{ filter: deepFilter, options: 0 }] }, 5)] },
    { name: 'UNSUBSCRIBE', version: 4, packets: [bytes.unsubscribe({ packetId: 1, filters: [deep] }, 4)] },
  ];
  for (const attack of attacks) {
    const client = await attacker(attack.version);
    try {
      client.send(...attack.packets);
      // (c) refused: never a positive ack, and the connection closed (or, for v5, a negative ack)
      const closed = await orCrash(client.waitClosed());
      await assertAlive();
      const acks = client.packets.filter((p) => ['puback', 'pubrec', 'suback', 'unsuback'].includes(p.cmd));
      const refused = (p: Packet): boolean => (p.cmd === 'suback' ? (p as { granted: number[] }).granted.every((g) => g >= 0x80) : p.cmd === 'unsuback' || reasonCodeOf(p) >= 0x80);
      assert.ok((closed || acks.length > 0) && acks.every(refused), `${attack.name}: refused (closed=${closed}, received ${client.describe()})`);
    } finally {
      client.destroy();
    }
  }
  // A will topic in CONNECT: kept at CONNECT, published when the socket drops.
  for (const version of [4, 5] as const) {
    const client = await ConformanceClient.open(proxy.port, version);
    client.send(connectPacket(clientIdFor('deepwill'), version, { will: { topic: deep, payload: Buffer.from('bye'), qos: 1, retain: false } }));
    await client.waitFor((p) => p.cmd === 'connack' || p.cmd === 'disconnect', 'CONNACK').catch(() => undefined);
    client.destroy(); // ungraceful close: the will is published
    await assertAlive();
  }
  await assertAliveAndHealthy();
});

// Found by the conformance suite: a Will with QoS 3 (malformed, MQTT-3.1.2-14) was accepted, and
// publishing it when the connection dropped threw inside the pipeline, killing the process.
test('a CONNECT with Will QoS 3, then a dropped connection, does not crash the proxy', TEST_TIMEOUT, async () => {
  for (const version of [4, 5] as const) {
    const client = await ConformanceClient.open(proxy.port, version);
    client.send(bytes.connect({ level: version, flags: 0x02 | 0x04 | 0x18, clientId: clientIdFor('will3'), will: { topic: 'will/qos3', payload: 'bye' } }));
    await Promise.race([client.waitClosed(1000), client.waitFor('connack', 'CONNACK', 1000).catch(() => undefined)]);
    client.destroy();
    await assertAlive();
    // (c) the CONNECT is malformed: refused, never accepted
    assert.ok(client.of('connack').every((c) => (c.reasonCode ?? c.returnCode) !== 0), `Will QoS 3 accepted: ${client.describe()}`);
  }
  await assertAliveAndHealthy();
});

/** QoS 2 PUBLISHes with ids first..first+count-1, never a PUBREL. */
function qos2Flood(first: number, count: number, version: Version, topic = 'flood'): Buffer[] {
  return Array.from({ length: count }, (_, i) => bytes.publish({ topic: `${topic}/${first + i}`, qos: 2, packetId: first + i, payload: 'payload' }, version));
}

// GHSA-p8r9-qf8w-p73r / GHSA-5jvp-3p2v-5qgf: inbound QoS 2 PUBLISHes awaiting PUBREL were stored
// without bound and survived a clean-session reconnect.
test('inbound QoS 2 awaiting PUBREL is bounded by Receive Maximum and dropped with a clean session (GHSA-5jvp-3p2v-5qgf, GHSA-p8r9-qf8w-p73r)', TEST_TIMEOUT, async (t) => {
  const probe = await ConformanceClient.open(proxy.port, 5);
  probe.send(connectPacket(clientIdFor('caps'), 5));
  const connack = (await orCrash(probe.waitFor('connack'))) as { properties?: { receiveMaximum?: number } };
  probe.destroy();
  const receiveMaximum = connack.properties?.receiveMaximum ?? 65535;

  if (receiveMaximum < 65535) {
    // v5: over the bound => DISCONNECT 0x93. The flood follows the CONNACK at once, as an
    // attacker's would (a few rounds: packets handled before the client counts as connected used
    // to lose the DISCONNECT).
    for (let round = 0; round < 5; round++) {
      const client = await ConformanceClient.open(proxy.port, 5);
      try {
        client.send(connectPacket(clientIdFor(`flood${round}`), 5), ...qos2Flood(1, receiveMaximum + 50, 5));
        const disconnect = await orCrash(client.waitFor('disconnect', 'DISCONNECT 0x93', 10000));
        assert.equal(reasonCodeOf(disconnect), RECEIVE_MAXIMUM_EXCEEDED);
        assert.ok(await client.waitClosed(), 'v5 flooder is disconnected');
        assert.ok(client.of('pubrec').length <= receiveMaximum, `at most ${receiveMaximum} PUBRECs, got ${client.of('pubrec').length}`);
      } finally {
        client.destroy();
      }
    }
  } else {
    t.diagnostic('the server states no Receive Maximum below 65535: the v5 bound is the packet id space (see the QoS 2 flood test)');
  }

  // The QoS 2 state is dropped with the session: packet id 1 is fresh again after a clean
  // reconnect, so a new QoS 2 PUBLISH with that id is produced rather than taken for a duplicate
  // [MQTT-3.1.2-6 (3.1.1), MQTT-3.1.2-4 (5)].
  const topicOf = (version: Version, round: number): string => `fresh/v${version}/${round}/${kafkaTopic}`;
  for (const version of [4, 5] as const) {
    const clientId = clientIdFor(`fresh${version}`);
    for (let round = 0; round < 2; round++) {
      const client = await attacker(version, clientId, { clean: true });
      try {
        client.send(bytes.publish({ topic: topicOf(version, round), qos: 2, packetId: 1, payload: `round ${round}` }, version), ...qos2Flood(2, 60, version));
        await orCrash(client.waitForCount(isAck('pubrec'), 61, '61 PUBRECs'));
      } finally {
        client.destroy();
      }
    }
  }
  const seen = await mqttTopicsInKafka([4, 5].flatMap((v) => [topicOf(v as Version, 0), topicOf(v as Version, 1)]));
  for (const version of [4, 5] as const) {
    for (const round of [0, 1]) assert.ok(seen.includes(topicOf(version, round)), `v${version}: packet id 1 after a clean reconnect is a new message (round ${round})`);
  }

  await assertAliveAndHealthy();

  // PUBREL frees the slot: a well-behaved v5 client can send more QoS 2 messages over one connection than the bound.
  const bound = Math.min(receiveMaximum, 2000);
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${proxy.port}`, { protocolVersion: 5, clientId: clientIdFor('sequential'), reconnectPeriod: 0, connectTimeout: 3000 });
  try {
    await orCrash(within(30000, `${bound + 20} QoS 2 publishes, one at a time`, (async () => {
      for (let i = 0; i < bound + 20; i++) await client.publishAsync('sequential/qos2', String(i), { qos: 2 });
    })()));
  } finally {
    await client.endAsync(true);
  }
});

// The proxy's refusal of a PUBLISH carries its reason code in the v5 PUBACK/PUBREC; 3.1.1, which has
// no negative acknowledgement, is disconnected [MQTT-3.3.5-2].
test('a refused PUBLISH gets its reason code in the v5 PUBACK/PUBREC; 3.1.1 is disconnected', TEST_TIMEOUT, async () => {
  const client = await orCrash(mqtt.connectAsync(`mqtt://127.0.0.1:${proxy.port}`, { protocolVersion: 5, clientId: clientIdFor('reason'), reconnectPeriod: 0, connectTimeout: 3000 }));
  try {
    for (const qos of [1, 2] as const) {
      await assert.rejects(orCrash(within(5000, 'publish to unmapped/x', client.publishAsync('unmapped/x', 'no', { qos }))), (err: { code?: number }) => err.code === TOPIC_NAME_INVALID, `QoS ${qos}: negative ack carries 0x90`);
    }
    await orCrash(within(5000, 'publish to allowed/x', client.publishAsync('allowed/x', 'yes', { qos: 1 })));
  } finally {
    await client.endAsync(true);
  }

  // raw view of the same: the PUBACK byte on the wire
  const raw = await attacker(5);
  try {
    raw.send(bytes.publish({ topic: 'unmapped/raw', qos: 1, packetId: 7 }, 5));
    assert.equal(reasonCodeOf(await orCrash(raw.waitFor(isAck('puback', 7), 'PUBACK 7'))), TOPIC_NAME_INVALID);
  } finally {
    raw.destroy();
  }
  const v4 = await attacker(4);
  try {
    v4.send(bytes.publish({ topic: 'unmapped/v4', qos: 1, packetId: 8 }, 4));
    assert.ok(await v4.waitClosed(), '3.1.1: the connection is closed');
    assert.equal(v4.of('puback').length, 0, '3.1.1: no PUBACK for a refused PUBLISH');
  } finally {
    v4.destroy();
  }
  await assertAliveAndHealthy();
});
