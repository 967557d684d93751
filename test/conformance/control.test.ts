// Fixed header rules, PINGREQ, DISCONNECT (with the Will it keeps or publishes) and AUTH, MQTT
// 3.1.1 and 5, in raw bytes against a running proxy. Each test is named after the normative
// statement it checks.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  Code,
  ConformanceClient,
  VERSIONS,
  assertClosedAfter,
  clientIdFor,
  connected,
  connectPacket,
  versionName,
  type Version,
} from '../helpers/conformance.js';
import { KafkaProbe, assertNoCrash, startConformanceProxy } from '../helpers/conformance-proxy.js';
import { headerText } from '../helpers/kafka.js';
import * as bytes from '../helpers/mqtt-bytes.js';
import type { RunningProxy } from '../helpers/proxy.js';

let proxy: RunningProxy;
before(async () => {
  proxy = await startConformanceProxy();
});
after(() => proxy?.stop());
afterEach(assertNoCrash);

const { Property, prop, properties } = bytes;

/** Connects, sends `packet` and checks the close (MQTT 5: at most a DISCONNECT with `codes` first). */
async function assertClosedBy(version: Version, packet: Buffer, codes: readonly number[], what: string): Promise<void> {
  const { client } = await connected(proxy.port, version, clientIdFor('ctl'));
  try {
    client.send(packet);
    await assertClosedAfter(client, { disconnectCodes: codes, from: 1 }, what);
  } finally {
    client.destroy();
  }
}

describe('fixed header', () => {
  for (const version of VERSIONS) {
    const v = versionName(version);
    test(`${version === 5 ? 'MQTT-2.1.3-1' : 'MQTT-2.2.2-1/-2'} ${v}: reserved fixed-header flags with another value are malformed: closed${version === 5 ? ', at most DISCONNECT 0x81 first' : ''}`, async () => {
      const cases: Array<[string, Buffer]> = [
        ['PUBACK 0x41', bytes.ack(0x41, 1)],
        ['PUBREC 0x58', bytes.ack(0x58, 1)],
        ['PUBCOMP 0x72', bytes.ack(0x72, 1)],
        ['PINGREQ 0xC1', bytes.packet(0xc1, Buffer.alloc(0))],
        ['PINGREQ 0xCF', bytes.packet(0xcf, Buffer.alloc(0))],
      ];
      for (const [what, packet] of cases) await assertClosedBy(version, packet, [Code.malformed], what);
    });

    test(`MQTT-2.1.2 ${v}: packet type 0${version === 4 ? ' and 15 (AUTH only exists in MQTT 5) are' : ' is'} reserved: closed${version === 5 ? ', at most DISCONNECT 0x81/0x82 first' : ''}`, async () => {
      const types = version === 4 ? [0x00, 0xf0] : [0x00];
      for (const firstByte of types) {
        for (const body of [Buffer.alloc(0), Buffer.from([0x00, 0x01])]) {
          await assertClosedBy(version, bytes.packet(firstByte, body), [Code.malformed, Code.protocolError], `packet type ${firstByte >> 4} with ${body.length} body bytes`);
        }
      }
    });

    test(`${version === 5 ? 'MQTT-1.5.5-1' : 'MQTT-2.2.3'} ${v}: a Remaining Length of more than four bytes is malformed: closed${version === 5 ? ', at most DISCONNECT 0x81 first' : ''}`, async () => {
      for (const firstByte of [0x30, 0x32, 0xc0]) {
        await assertClosedBy(version, Buffer.from([firstByte, 0xff, 0xff, 0xff, 0xff, 0x7f]), [Code.malformed], `first byte 0x${firstByte.toString(16)}, five-byte length`);
      }
    });

    test(`MQTT-3.12.4-1 ${v}: each PINGREQ gets a PINGRESP, also several in one segment`, async () => {
      const { client } = await connected(proxy.port, version, clientIdFor('ping'));
      try {
        client.send(bytes.PINGREQ, bytes.PINGREQ, bytes.PINGREQ);
        await client.waitForCount((p) => p.cmd === 'pingresp', 3, 'three PINGRESPs');
        assert.ok(client.received.slice(1).every((r) => r.raw.equals(Buffer.from([0xd0, 0x00]))), 'PINGRESP is d0 00');
      } finally {
        client.destroy();
      }
    });
  }
});

describe('DISCONNECT and the Will', () => {
  for (const version of VERSIONS) {
    const v = versionName(version);
    const will = (probe: KafkaProbe) => ({ will: { topic: probe.topic('will'), payload: Buffer.from('gone'), qos: 1 as const, retain: false } });

    test(`${version === 5 ? 'MQTT-3.14.4-3' : 'MQTT-3.14.4-3'} ${v}: after a DISCONNECT${version === 5 ? ' with reason 0x00' : ''} the Will is discarded, not published`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'nowill');
      const { client } = await connected(proxy.port, version, clientIdFor('nowill'), will(probe));
      client.send(bytes.disconnect(version, version === 5 ? 0 : undefined));
      await client.waitClosed();
      client.destroy();
      assert.equal((await probe.records(0)).length, 0, 'the Will was published after a normal DISCONNECT');
    });

    test(`MQTT-3.1.2-8 ${v}: a connection that ends without DISCONNECT publishes its Will`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'will');
      const { client } = await connected(proxy.port, version, clientIdFor('will'), will(probe));
      client.destroy();
      const records = await probe.records(1);
      assert.equal(records.length, 1);
      assert.equal(headerText(records[0]!.headers, 'mqtt.topic'), probe.topic('will'));
      assert.equal(records[0]!.value?.toString(), 'gone');
    });

    test(`MQTT-3.14.1-1 ${v}: a DISCONNECT with reserved flags set is malformed: closed${version === 5 ? ' (at most DISCONNECT 0x81 first)' : ''}, and the Will is published as for any other error`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'badwill');
      const { client } = await connected(proxy.port, version, clientIdFor('baddisc'), will(probe));
      try {
        client.send(bytes.disconnect(version, version === 5 ? 0 : undefined, undefined, 0xe1));
        await assertClosedAfter(client, { disconnectCodes: [Code.malformed], from: 1 }, 'DISCONNECT flags 0001');
      } finally {
        client.destroy();
      }
      assert.equal((await probe.records(1)).length, 1, 'the Will of a connection closed for a malformed packet is published');
    });
  }

  test('MQTT-3.1.2-8 v5: DISCONNECT with reason 0x04 (Disconnect with Will Message) publishes the Will', async () => {
    const probe = await KafkaProbe.create(proxy.port, 'will04');
    const { client } = await connected(proxy.port, 5, clientIdFor('will04'), { will: { topic: probe.topic('will'), payload: Buffer.from('asked'), qos: 1, retain: false } });
    client.send(bytes.disconnect(5, 0x04));
    await client.waitClosed();
    client.destroy();
    assert.equal((await probe.records(1)).length, 1);
  });

  test('MQTT-3.14.2.2.2 v5: a non-zero Session Expiry Interval on DISCONNECT after 0 (or none) in CONNECT is a protocol error: closed, at most DISCONNECT 0x82 first', async () => {
    for (const sessionExpiryInterval of [undefined, 0]) {
      const { client } = await connected(proxy.port, 5, clientIdFor('expiry0'), sessionExpiryInterval === undefined ? {} : { properties: { sessionExpiryInterval } });
      try {
        client.send(bytes.disconnect(5, 0, properties(prop.u32(Property.sessionExpiryInterval, 30))));
        await assertClosedAfter(client, { disconnectCodes: [Code.protocolError], from: 1 }, `Session Expiry ${sessionExpiryInterval ?? 'absent'} in CONNECT, 30 in DISCONNECT`);
      } finally {
        client.destroy();
      }
    }
  });

  test('MQTT-3.14.2.2.2 v5: after a non-zero Session Expiry Interval in CONNECT, a DISCONNECT that sets another is a normal disconnection: no error sent or logged, the Will discarded', async () => {
    const probe = await KafkaProbe.create(proxy.port, 'expiry');
    for (const onDisconnect of [0, 30, 120]) {
      const clientId = clientIdFor(`expiry${onDisconnect}`);
      const startedAt = Date.now();
      const { client } = await connected(proxy.port, 5, clientId, {
        properties: { sessionExpiryInterval: 60 },
        will: { topic: probe.topic(`will${onDisconnect}`), payload: Buffer.from('x'), qos: 1, retain: false },
      });
      client.send(bytes.disconnect(5, 0, properties(prop.u32(Property.sessionExpiryInterval, onDisconnect))));
      assert.ok(await client.waitClosed(), 'the server closes after the client\'s DISCONNECT');
      client.destroy();
      assert.equal(client.of('disconnect').length, 0, `no DISCONNECT from the server: ${client.describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const complaints = proxy.logs.filter((l) => Number(l.level) >= 40 && Number(l.time) >= startedAt && JSON.stringify(l).includes(clientId));
      assert.deepEqual(complaints, [], 'a legal DISCONNECT is not logged as a problem');
    }
    assert.equal((await probe.records(0)).length, 0, 'the Will is discarded on DISCONNECT 0x00');
  });

  test('MQTT-3.14.2-1 v5: a DISCONNECT reason code that is not in the DISCONNECT table is malformed: closed, at most DISCONNECT 0x81/0x82 first', async () => {
    for (const reasonCode of [0x05, 0x7f, 0xff]) {
      await assertClosedBy(5, bytes.disconnect(5, reasonCode), [Code.malformed, Code.protocolError], `DISCONNECT reason 0x${reasonCode.toString(16)}`);
    }
  });
});

describe('AUTH', () => {
  const auth = (reasonCode: number, firstByte = 0xf0): Buffer =>
    bytes.packet(firstByte, Buffer.concat([Buffer.from([reasonCode]), properties(prop.string(Property.authenticationMethod, 'SCRAM-SHA-256'), prop.string(Property.authenticationData, 'data'))]));

  test('MQTT-4.12.0-7 v5: an AUTH from a client whose CONNECT had no Authentication Method is a protocol error: closed, at most DISCONNECT 0x82 first', async () => {
    for (const reasonCode of [0x19, 0x18, 0x00]) await assertClosedBy(5, auth(reasonCode), [Code.protocolError], `AUTH reason 0x${reasonCode.toString(16)}`);
  });

  test('MQTT-3.15.1-1 v5: an AUTH with reserved flags set is malformed: closed, at most DISCONNECT 0x81 first', async () => {
    for (const firstByte of [0xf1, 0xf8]) await assertClosedBy(5, auth(0x19, firstByte), [Code.malformed, Code.protocolError], `AUTH first byte 0x${firstByte.toString(16)}`);
  });

  test('MQTT-3.1.2-30 / MQTT-3.1.0-1 v5: AUTH before CONNECT is closed unanswered', async () => {
    const client = await ConformanceClient.open(proxy.port, 5);
    try {
      client.send(auth(0x18));
      await assertClosedAfter(client, {}, 'AUTH as the first packet');
    } finally {
      client.destroy();
    }
  });

  test('MQTT-4.12.0-1 v5: AUTH packets pipelined after a CONNECT with an unsupported Authentication Method change nothing: CONNACK 0x8C/0x87 at most, then closed', async () => {
    const client = await ConformanceClient.open(proxy.port, 5);
    try {
      client.send(connectPacket(clientIdFor('authpipe'), 5, { properties: { authenticationMethod: 'SCRAM-SHA-256' } }), auth(0x18), auth(0x18));
      await assertClosedAfter(client, { connackCodes: [Code.badAuthenticationMethod, Code.notAuthorized] }, 'CONNECT with an Authentication Method, then AUTH');
    } finally {
      client.destroy();
    }
  });
});
