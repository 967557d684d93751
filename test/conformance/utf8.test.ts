// UTF-8 Encoded Strings (MQTT 5 section 1.5.4, 3.1.1 section 1.5.3) in every field the server
// reads: ill-formed UTF-8 and U+0000 close the connection, U+FEFF and well-formed characters of
// every length are kept as sent. Raw bytes, since no client library sends ill-formed UTF-8.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  Code,
  ConformanceClient,
  VERSIONS,
  assertClosedAfter,
  clientIdFor,
  connected,
  versionName,
  type Version,
} from '../helpers/conformance.js';
import { KafkaProbe, assertNoCrash, startConformanceProxy } from '../helpers/conformance-proxy.js';
import { headerText } from '../helpers/kafka.js';
import * as bytes from '../helpers/mqtt-bytes.js';
import { ILL_FORMED_UTF8, withBytes } from '../helpers/mqtt-bytes.js';
import type { RunningProxy } from '../helpers/proxy.js';

let proxy: RunningProxy;
before(async () => {
  proxy = await startConformanceProxy();
});
after(() => proxy?.stop());
afterEach(assertNoCrash);

const { Property, prop, properties } = bytes;
const illFormedId = (version: Version): string => (version === 5 ? 'MQTT-1.5.4-1' : 'MQTT-1.5.3-1');
const nulId = (version: Version): string => (version === 5 ? 'MQTT-1.5.4-2' : 'MQTT-1.5.3-2');
const bomId = (version: Version): string => (version === 5 ? 'MQTT-1.5.4-3' : 'MQTT-1.5.3-3');

/** A CONNECT that must be refused: closed; 3.1.1 without CONNACK (MQTT-3.1.4-1), MQTT 5 at most CONNACK 0x81/0x85 (client id). */
async function assertConnectRefused(version: Version, packet: Buffer, what: string): Promise<void> {
  const client = await ConformanceClient.open(proxy.port, version);
  try {
    client.send(packet);
    await assertClosedAfter(client, version === 5 ? { connackCodes: [Code.malformed, Code.clientIdentifierNotValid] } : {}, what);
  } finally {
    client.destroy();
  }
}

async function assertPacketClosed(version: Version, packet: Buffer, what: string): Promise<void> {
  const { client } = await connected(proxy.port, version, clientIdFor('utf8'));
  try {
    client.send(packet);
    await assertClosedAfter(client, { disconnectCodes: [Code.malformed], from: 1 }, what);
  } finally {
    client.destroy();
  }
}

describe('ill-formed UTF-8', () => {
  for (const version of VERSIONS) {
    const v = versionName(version);
    test(`${illFormedId(version)} (MQTT-3.3.2-1) ${v}: ill-formed UTF-8 in a topic name is malformed: closed${version === 5 ? ', at most DISCONNECT 0x81 first' : ''}; nothing produced`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'badtopic');
      for (const bad of ILL_FORMED_UTF8) {
        for (const qos of [0, 1]) {
          await assertPacketClosed(version, bytes.publish({ topic: withBytes(probe.topic('t'), bad.bytes), qos, packetId: 2 }, version), `topic with ${bad.name}, QoS ${qos}`);
        }
      }
      assert.equal((await probe.records(0)).length, 0, 'a PUBLISH with an ill-formed topic reached Kafka');
    });

    test(`${illFormedId(version)} (MQTT-3.8.3-1, MQTT-3.10.3-1) ${v}: ill-formed UTF-8 in a Topic Filter is malformed: closed${version === 5 ? ', at most DISCONNECT 0x81 first' : ''} (SUBSCRIBE and UNSUBSCRIBE)`, async () => {
      for (const bad of ILL_FORMED_UTF8) {
        await assertPacketClosed(version, bytes.subscribe({ packetId: 1, entries: [{ filter: withBytes('a/', bad.bytes, '/b'), options: 0 }] }, version), `SUBSCRIBE filter with ${bad.name}`);
        await assertPacketClosed(version, bytes.unsubscribe({ packetId: 1, filters: [withBytes('a/', bad.bytes)] }, version), `UNSUBSCRIBE filter with ${bad.name}`);
      }
    });

    test(`${illFormedId(version)} (${version === 5 ? 'MQTT-3.1.3-4, MQTT-3.1.3-11, MQTT-3.1.3-12' : 'MQTT-3.1.3-4, MQTT-3.1.3-10, MQTT-3.1.3-11'}) ${v}: ill-formed UTF-8 in the client id, Will Topic or User Name: closed${version === 5 ? ', at most CONNACK 0x81/0x85 first' : ' without CONNACK'}`, async () => {
      for (const bad of ILL_FORMED_UTF8) {
        await assertConnectRefused(version, bytes.connect({ level: version, clientId: withBytes('id', bad.bytes) }), `client id with ${bad.name}`);
        await assertConnectRefused(version, bytes.connect({ level: version, clientId: clientIdFor('willutf'), will: { topic: withBytes('will/', bad.bytes) } }), `Will Topic with ${bad.name}`);
        await assertConnectRefused(version, bytes.connect({ level: version, clientId: clientIdFor('userutf'), username: withBytes('user', bad.bytes), password: 'p' }), `User Name with ${bad.name}`);
      }
    });

    test(`${nulId(version)} ${v}: U+0000 in the client id, Will Topic or User Name: closed${version === 5 ? ', at most CONNACK 0x81/0x85 first' : ' without CONNACK'}`, async () => {
      await assertConnectRefused(version, bytes.connect({ level: version, clientId: 'id\u0000x' }), 'client id with U+0000');
      await assertConnectRefused(version, bytes.connect({ level: version, clientId: clientIdFor('willnul'), will: { topic: 'will/\u0000' } }), 'Will Topic with U+0000');
      await assertConnectRefused(version, bytes.connect({ level: version, clientId: clientIdFor('usernul'), username: 'us\u0000er', password: 'p' }), 'User Name with U+0000');
    });
  }

  test('MQTT-1.5.7-1, MQTT-3.3.2-13, MQTT-3.3.2-19 v5: ill-formed UTF-8 in a User Property, Response Topic or Content Type of a PUBLISH: closed, at most DISCONNECT 0x81 first; nothing produced', async () => {
    const probe = await KafkaProbe.create(proxy.port, 'badprops');
    for (const bad of ILL_FORMED_UTF8.slice(0, 3)) {
      const cases: Array<[string, Buffer]> = [
        ['User Property name', prop.pair(Property.userProperty, withBytes('k', bad.bytes), 'v')],
        ['User Property value', prop.pair(Property.userProperty, 'k', withBytes('v', bad.bytes))],
        ['Response Topic', prop.string(Property.responseTopic, withBytes('reply/', bad.bytes))],
        ['Content Type', prop.string(Property.contentType, withBytes('text/', bad.bytes))],
      ];
      for (const [what, property] of cases) {
        await assertPacketClosed(5, bytes.publish({ topic: probe.topic(), qos: 1, packetId: 1, properties: properties(property) }, 5), `${what} with ${bad.name}`);
      }
    }
    assert.equal((await probe.records(0)).length, 0);
  });
});

describe('kept as sent', () => {
  for (const version of VERSIONS) {
    const v = versionName(version);
    test(`${bomId(version)} ${v}: U+FEFF (bytes EF BB BF) in a topic name is neither skipped nor stripped: Kafka gets the topic as sent`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'bom');
      const topics = [probe.topic('\uFEFFstart'), probe.topic('mid\uFEFFdle'), probe.topic('end\uFEFF')];
      const { client } = await connected(proxy.port, version, clientIdFor('bom'));
      try {
        topics.forEach((topic, i) => client.send(bytes.publish({ topic, qos: 1, packetId: i + 1 }, version)));
        await client.waitForCount((p) => p.cmd === 'puback', topics.length, 'PUBACKs');
      } finally {
        client.destroy();
      }
      const records = await probe.records(topics.length);
      assert.deepEqual(records.map((r) => headerText(r.headers, 'mqtt.topic')).sort(), [...topics].sort());
    });

    test(`${illFormedId(version)} ${v}: well-formed UTF-8 of two, three and four bytes is accepted and kept`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'wellformed');
      const topics = [probe.topic('é'), probe.topic('€'), probe.topic('𝄞'), probe.topic('\uFFFD')];
      const { client } = await connected(proxy.port, version, clientIdFor('wellformed'));
      try {
        topics.forEach((topic, i) => client.send(bytes.publish({ topic, qos: 1, packetId: i + 1 }, version)));
        const acks = await client.waitForCount((p) => p.cmd === 'puback', topics.length, 'PUBACKs');
        for (const ack of acks) assert.equal((ack as { reasonCode?: number }).reasonCode ?? 0, 0);
      } finally {
        client.destroy();
      }
      const records = await probe.records(topics.length);
      assert.deepEqual(records.map((r) => headerText(r.headers, 'mqtt.topic')).sort(), [...topics].sort());
    });
  }
});
