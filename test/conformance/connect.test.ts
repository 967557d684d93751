// CONNECT and CONNACK, MQTT 3.1.1 and 5, in raw bytes against a running proxy. Each test is named
// after the normative statement it checks (MQTT 3.1.1 and MQTT 5.0 number some of them apart).
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  Code,
  ConformanceClient,
  ReturnCode,
  VERSIONS,
  assertClosedAfter,
  clientIdFor,
  connackCode,
  connected,
  connectPacket,
  versionName,
  type ConnackPacket,
  type RefusalExpectation,
  type Version,
} from '../helpers/conformance.js';
import { KafkaProbe, MAX_CLIENT_ID_LENGTH, MAX_PACKET_SIZE, assertNoCrash, serverConnack, startConformanceProxy } from '../helpers/conformance-proxy.js';
import * as bytes from '../helpers/mqtt-bytes.js';
import type { RunningProxy } from '../helpers/proxy.js';

let proxy: RunningProxy;
before(async () => {
  proxy = await startConformanceProxy();
});
after(() => proxy?.stop());
afterEach(assertNoCrash);

/** Sends `packet` on a new connection and checks that the server closes it as `expected` allows. */
async function refusedConnect(version: Version, packet: Buffer, expected: RefusalExpectation, what: string): Promise<ConformanceClient> {
  const client = await ConformanceClient.open(proxy.port, version);
  try {
    client.send(packet);
    await assertClosedAfter(client, expected, what);
    return client;
  } finally {
    client.destroy();
  }
}

/** A CONNECT error: 3.1.1 closes without a CONNACK [MQTT-3.1.4-1]; MQTT 5 may send CONNACK with `v5Codes` first. */
const malformedConnect = (version: Version, v5Codes: readonly number[] = [Code.malformed, Code.protocolError]): RefusalExpectation =>
  version === 5 ? { connackCodes: v5Codes } : {};

const level = (version: Version): number => version;

describe('first packet and second CONNECT', () => {
  for (const version of VERSIONS) {
    test(`MQTT-3.1.0-1 ${versionName(version)}: a first packet other than CONNECT is closed, unanswered${version === 5 ? ' (no DISCONNECT before CONNACK, MQTT-3.14.0-1)' : ''}`, async () => {
      const firsts: Array<[string, Buffer]> = [
        ['PUBLISH QoS 1', bytes.publish({ topic: 'first/publish', qos: 1, packetId: 1 }, version)],
        ['PINGREQ', bytes.PINGREQ],
        ['SUBSCRIBE', bytes.subscribe({ packetId: 1, entries: [{ filter: 'first/sub', options: 0 }] }, version)],
        ['DISCONNECT', bytes.disconnect(version)],
      ];
      if (version === 5) firsts.push(['AUTH', bytes.packet(0xf0, Buffer.concat([Buffer.from([0x19]), bytes.properties(bytes.prop.string(bytes.Property.authenticationMethod, 'x'))]))]);
      for (const [name, packet] of firsts) await refusedConnect(version, packet, {}, `${name} before CONNECT`);
    });

    test(`MQTT-3.1.0-2 ${versionName(version)}: a second CONNECT is a protocol error: closed${version === 5 ? ', at most DISCONNECT 0x82 first' : ''}, never a second CONNACK`, async () => {
      const { client } = await connected(proxy.port, version, clientIdFor('second'));
      try {
        const from = client.received.length;
        client.send(connectPacket(clientIdFor('second2'), version));
        await assertClosedAfter(client, { disconnectCodes: [Code.protocolError], from }, 'second CONNECT');
      } finally {
        client.destroy();
      }
    });
  }
});

describe('protocol name, level and flags', () => {
  for (const version of VERSIONS) {
    test(`MQTT-3.1.2-1 ${versionName(version)}: a protocol name other than "MQTT" is refused: closed${version === 5 ? ', at most CONNACK 0x84 first' : ''}`, async () => {
      for (const name of ['MQTX', 'mqtt', 'MQTTT', '']) {
        const packet = bytes.connect({ protocolName: name, level: level(version), clientId: clientIdFor('name') });
        // 3.1.1 lets the server simply disconnect; MQTT 5 allows CONNACK 0x84 before the close.
        const client = await refusedConnect(version, packet, version === 5 ? { connackCodes: [Code.unsupportedProtocolVersion] } : { connackCodes: [ReturnCode.unacceptableProtocolVersion] }, `protocol name "${name}"`);
        assert.equal(client.of('connack').filter((c) => connackCode(c) === 0).length, 0);
      }
    });

    test(`MQTT-3.1.2-3 ${versionName(version)}: the reserved Connect Flag set to 1 is malformed: closed${version === 5 ? ', at most CONNACK 0x81 first' : ' without CONNACK (MQTT-3.1.4-1)'}`, async () => {
      const packet = bytes.connect({ level: level(version), flags: 0x03, clientId: clientIdFor('reserved') });
      await refusedConnect(version, packet, malformedConnect(version, [Code.malformed]), 'reserved flag 1');
    });
  }

  // Not 0x83-0x85: some servers read bit 7 as Mosquitto's bridge flag on levels 3-5.
  test('MQTT-3.1.2-2: an unsupported protocol level gets CONNACK 0x01 (3.1.1 form) or 0x84 (MQTT 5 form), then the connection is closed', async () => {
    for (const unsupported of [0, 1, 2, 6, 7, 8, 0x40, 255]) {
      const client = await ConformanceClient.open(proxy.port, 4);
      try {
        client.send(bytes.connect({ level: unsupported, clientId: clientIdFor('level') }));
        const closed = await client.waitClosed();
        const what = `protocol level ${unsupported}: received ${client.describe()}`;
        assert.ok(closed, `${what}: the connection must be closed`);
        assert.equal(client.received.length, 1, `${what}: exactly one packet, a CONNACK`);
        const raw = client.received[0]!.raw;
        assert.equal(raw[0], 0x20, `${what}: the packet is a CONNACK (${raw.toString('hex')})`);
        assert.equal(raw[2], 0, `${what}: Session Present 0 with a refusal (MQTT-3.2.2-4 / MQTT-3.2.2-6)`);
        const threeOneOne = raw[1] === 2 && raw[3] === ReturnCode.unacceptableProtocolVersion;
        const five = raw[1]! >= 3 && raw[3] === Code.unsupportedProtocolVersion;
        assert.ok(threeOneOne || five, `${what}: CONNACK must say unsupported protocol version (${raw.toString('hex')})`);
      } finally {
        client.destroy();
      }
    }
  });
});

describe('will flags', () => {
  const willCases: Array<{ id: string; version: Version; what: string; flags: number; withWill: boolean }> = [
    { id: 'MQTT-3.1.2-13', version: 4, what: 'Will QoS 1 without the Will Flag', flags: 0x02 | 0x08, withWill: false },
    { id: 'MQTT-3.1.2-14', version: 4, what: 'Will QoS 3', flags: 0x02 | 0x04 | 0x18, withWill: true },
    { id: 'MQTT-3.1.2-15', version: 4, what: 'Will Retain without the Will Flag', flags: 0x02 | 0x20, withWill: false },
    { id: 'MQTT-3.1.2-11', version: 5, what: 'Will QoS 1 without the Will Flag', flags: 0x02 | 0x08, withWill: false },
    { id: 'MQTT-3.1.2-12', version: 5, what: 'Will QoS 3', flags: 0x02 | 0x04 | 0x18, withWill: true },
    { id: 'MQTT-3.1.2-13', version: 5, what: 'Will Retain without the Will Flag', flags: 0x02 | 0x20, withWill: false },
  ];
  for (const c of willCases) {
    test(`${c.id} ${versionName(c.version)}: ${c.what} is malformed: closed${c.version === 5 ? ', at most CONNACK 0x81 first' : ' without CONNACK (MQTT-3.1.4-1)'}`, async () => {
      const packet = bytes.connect({ level: c.version, flags: c.flags, clientId: clientIdFor('will'), ...(c.withWill && { will: { topic: 'will/topic' } }) });
      await refusedConnect(c.version, packet, malformedConnect(c.version), c.what);
    });
  }

  test('MQTT-3.1.2-22 v3.1.1: the Password Flag without the User Name Flag is malformed: closed without CONNACK', async () => {
    const packet = bytes.connect({ level: 4, flags: 0x02 | 0x40, clientId: clientIdFor('pw'), password: 'secret' });
    await refusedConnect(4, packet, {}, 'password without user name');
  });

  test('MQTT-3.1.2.9 v5: a Password without a User Name is legal in MQTT 5: answered with a CONNACK, not closed as malformed', async () => {
    const client = await ConformanceClient.open(proxy.port, 5);
    try {
      client.send(bytes.connect({ level: 5, flags: 0x02 | 0x40, clientId: clientIdFor('pw5'), password: 'secret' }));
      const connack = (await client.waitFor('connack')) as ConnackPacket;
      assert.ok(![Code.malformed, Code.protocolError].includes(connackCode(connack) as 0x81), `CONNACK 0x${connackCode(connack).toString(16)} calls a legal CONNECT malformed`);
    } finally {
      client.destroy();
    }
  });
});

describe('keep alive', () => {
  for (const version of VERSIONS) {
    const id = version === 5 ? 'MQTT-3.1.2-22' : 'MQTT-3.1.2-24';
    test(`${id} ${versionName(version)}: no packet within one and a half times the Keep Alive: the server closes the connection${version === 5 ? ' (at most DISCONNECT 0x8D first)' : ''}`, async () => {
      const { client, connack } = await connected(proxy.port, version, clientIdFor('ka'), { keepalive: 2 });
      try {
        // MQTT-3.2.2-21: a Server Keep Alive replaces the client's.
        const keepAlive = connack.properties?.serverKeepAlive ?? 2;
        assert.ok(keepAlive > 0 && keepAlive <= 10, `keep alive in force: ${keepAlive}`);
        const connackAt = client.received[0]!.at;
        const from = client.received.length;
        await assertClosedAfter(client, { disconnectCodes: [Code.keepAliveTimeout], from, timeoutMs: keepAlive * 1500 + 2000 }, 'silent client');
        const after = client.closedAt! - connackAt;
        assert.ok(after >= keepAlive * 1000, `closed after ${after} ms: not before the Keep Alive of ${keepAlive} s has passed`);
        assert.ok(after <= keepAlive * 1500 + 1000, `closed after ${after} ms: one and a half times the Keep Alive is ${keepAlive * 1500} ms`);
      } finally {
        client.destroy();
      }
    });

    test(`${id} ${versionName(version)}: a client that sends a packet within every Keep Alive period stays connected, each PINGREQ answered (MQTT-3.12.4-1)`, async () => {
      const { client } = await connected(proxy.port, version, clientIdFor('kaok'), { keepalive: 1 });
      try {
        for (let i = 0; i < 5; i++) {
          await new Promise((resolve) => setTimeout(resolve, 700));
          assert.ok(await client.answersPing(), `PINGREQ ${i + 1} answered; received ${client.describe()}`);
        }
        assert.ok(!client.closed, 'still connected after 3.5 s with a Keep Alive of 1 s');
      } finally {
        client.destroy();
      }
    });
  }
});

describe('client identifier', () => {
  for (const version of VERSIONS) {
    test(`MQTT-3.1.3-5 ${versionName(version)}: client ids of 1 to 23 characters 0-9a-zA-Z are accepted`, async () => {
      const suffix = clientIdFor('x').slice(1);
      for (const id of ['0', 'Z', `A${suffix}`.padEnd(23, 'z').slice(0, 23), `0123456789abcdefghijklm`]) {
        const { client, connack } = await connected(proxy.port, version, id);
        assert.equal(connackCode(connack), 0);
        client.destroy();
      }
    });

    test(`${version === 5 ? 'MQTT-3.1.3-8' : 'MQTT-3.1.3-9'} ${versionName(version)}: a client id the server rejects (longer than limits.maxClientIdLength) gets CONNACK ${version === 5 ? '0x85 (or none)' : '0x02'}, then the connection is closed`, async () => {
      const packet = connectPacket('x'.repeat(MAX_CLIENT_ID_LENGTH + 1), version);
      const client = await refusedConnect(version, packet, { connackCodes: [version === 5 ? Code.clientIdentifierNotValid : ReturnCode.identifierRejected] }, 'client id too long');
      if (version === 4) assert.equal(client.of('connack').length, 1, 'MQTT 3.1.1 requires the CONNACK 0x02');
    });

    test(`${version === 5 ? 'MQTT-3.1.4-6' : 'MQTT-3.1.4-5'} ${versionName(version)}: after a refused CONNECT nothing the client sent is processed`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'refused');
      const client = await ConformanceClient.open(proxy.port, version);
      try {
        client.send(
          connectPacket('y'.repeat(MAX_CLIENT_ID_LENGTH + 1), version),
          bytes.publish({ topic: probe.topic(), qos: 1, packetId: 1 }, version),
          bytes.subscribe({ packetId: 2, entries: [{ filter: 'refused/sub', options: 0 }] }, version),
          bytes.PINGREQ,
        );
        await assertClosedAfter(client, { connackCodes: [version === 5 ? Code.clientIdentifierNotValid : ReturnCode.identifierRejected] }, 'refused CONNECT followed by packets');
      } finally {
        client.destroy();
      }
      assert.equal((await probe.records(0)).length, 0, 'the PUBLISH after the refused CONNECT reached Kafka');
    });
  }

  test('MQTT-3.1.3-6 v3.1.1: an empty client id with Clean Session 1 is accepted (the server assigns one) or refused with CONNACK 0x02 and closed', async () => {
    const client = await ConformanceClient.open(proxy.port, 4);
    try {
      client.send(connectPacket('', 4));
      const connack = (await client.waitFor('connack')) as ConnackPacket;
      if (connackCode(connack) === 0) assert.ok(await client.answersPing(), 'accepted: the connection is served');
      else {
        assert.equal(connackCode(connack), ReturnCode.identifierRejected);
        assert.ok(await client.waitClosed(), 'refused: closed');
      }
    } finally {
      client.destroy();
    }
  });

  test('MQTT-3.1.3-8 v3.1.1: an empty client id with Clean Session 0 gets CONNACK 0x02, then the connection is closed', async () => {
    const client = await refusedConnect(4, bytes.connect({ level: 4, clean: false, clientId: '' }), { connackCodes: [ReturnCode.identifierRejected] }, 'empty id, clean session 0');
    assert.equal(client.of('connack').length, 1, 'the CONNACK 0x02 is required');
  });

  test('MQTT-3.1.3-7 v5: an empty client id is given an Assigned Client Identifier in CONNACK, a new one per connection (MQTT-3.2.2-16)', async () => {
    const assigned: string[] = [];
    for (let i = 0; i < 2; i++) {
      const client = await ConformanceClient.open(proxy.port, 5);
      try {
        client.send(connectPacket('', 5));
        const connack = (await client.waitFor('connack')) as ConnackPacket;
        if (connackCode(connack) !== 0) {
          // MQTT-3.1.3-8: a server may refuse it, with 0x85, and must close.
          assert.equal(connackCode(connack), Code.clientIdentifierNotValid);
          assert.ok(await client.waitClosed());
          return;
        }
        const id = connack.properties?.assignedClientIdentifier;
        assert.ok(typeof id === 'string' && id.length > 0, `CONNACK carries an Assigned Client Identifier (got ${JSON.stringify(connack.properties)})`);
        assigned.push(id);
        assert.ok(await client.answersPing());
      } finally {
        client.destroy();
      }
    }
    assert.notEqual(assigned[0], assigned[1], 'each connection gets an identifier no other session uses');
  });
});

describe('takeover', () => {
  for (const version of VERSIONS) {
    test(`${version === 5 ? 'MQTT-3.1.4-3' : 'MQTT-3.1.4-2'} ${versionName(version)}: a CONNECT with the id of a connected client closes the existing connection${version === 5 ? ' after DISCONNECT 0x8E' : ''}; the new one is served`, async () => {
      const id = clientIdFor('takeover');
      const { client: first } = await connected(proxy.port, version, id);
      const { client: second } = await connected(proxy.port, version, id);
      try {
        await assertClosedAfter(first, { disconnectCodes: [Code.sessionTakenOver], from: 1 }, 'the connection taken over');
        if (version === 5) assert.equal(first.of('disconnect').length, 1, 'the existing client is told: DISCONNECT 0x8E');
        assert.ok(await second.answersPing(), 'the new connection is served');
      } finally {
        first.destroy();
        second.destroy();
      }
    });
  }
});

describe('CONNACK', () => {
  for (const version of VERSIONS) {
    test(`MQTT-3.2.2-1${version === 5 ? '/-2' : ''} ${versionName(version)}: CONNACK to a Clean ${version === 5 ? 'Start' : 'Session'} 1 CONNECT: ${version === 5 ? 'reserved flag bits 0 and ' : ''}Session Present 0, code 0 (MQTT-3.1.4-${version === 5 ? 5 : 4})`, async () => {
      const { client } = await connected(proxy.port, version, clientIdFor('connack'));
      try {
        const raw = client.received[0]!.raw;
        assert.equal(raw[0], 0x20, 'first packet is the CONNACK (MQTT-3.2.0-1)');
        assert.equal(raw[2], 0x00, `Connect Acknowledge Flags must be 0 (got 0x${raw[2]!.toString(16)})`);
        assert.equal(raw[3], 0x00);
        if (version === 4) assert.equal(raw.length, 4, 'a 3.1.1 CONNACK has two bytes after the fixed header');
      } finally {
        client.destroy();
      }
    });

    test(`MQTT-3.2.2-3 ${versionName(version)}: Clean ${version === 5 ? 'Start' : 'Session'} 0 with no stored session: Session Present 0`, async () => {
      const { client, connack } = await connected(proxy.port, version, clientIdFor('nosession'), { clean: false });
      client.destroy();
      assert.equal(connack.sessionPresent, false);
    });

    test(`MQTT-3.1.4-1 ${versionName(version)}: bytes after the last CONNECT field are malformed: closed${version === 5 ? ', at most CONNACK 0x81 first' : ' without CONNACK'}`, async () => {
      for (const extra of [{ username: 'u', password: 'p' }, {}]) {
        const packet = bytes.connect({ level: version, clientId: clientIdFor('trailing'), ...extra, trailing: [0x00, 0x01, 0x41] });
        await refusedConnect(version, packet, malformedConnect(version, [Code.malformed]), `CONNECT with 3 trailing bytes (${Object.keys(extra).join('+') || 'no credentials'})`);
      }
    });
  }

  test('MQTT-3.2.2.3 v5: CONNACK advertises Retain Available 1 (the retained store is on by default) and Wildcard Subscription Available, Subscription Identifier Available and Shared Subscription Available as 0 while no delivery rule exists', async () => {
    const connack = await serverConnack(proxy.port);
    const p = connack.properties ?? {};
    assert.notEqual(p.retainAvailable, false, `Retain Available must be 1 or absent (got ${JSON.stringify(p)})`);
    assert.equal(p.wildcardSubscriptionAvailable, false, 'Wildcard Subscription Available must be sent as 0');
    assert.equal(p.subscriptionIdentifiersAvailable, false, 'Subscription Identifier Available must be sent as 0');
    assert.equal(p.sharedSubscriptionAvailable, false, 'Shared Subscription Available must be sent as 0');
  });

  test('MQTT-3.2.2.3 v5: CONNACK states the limits the server enforces: Maximum Packet Size (limits.maxPacketSize), a Receive Maximum of 1..65535, no Maximum QoS (QoS 2 is supported)', async () => {
    const connack = await serverConnack(proxy.port);
    const p = connack.properties ?? {};
    assert.equal(p.maximumPacketSize, MAX_PACKET_SIZE, `Maximum Packet Size (got ${JSON.stringify(p)})`);
    assert.equal(typeof p.receiveMaximum, 'number', 'Receive Maximum is stated, so clients keep to the bound the server enforces');
    assert.ok(p.receiveMaximum! >= 1 && p.receiveMaximum! <= 65535, `Receive Maximum ${p.receiveMaximum}: 0 is a protocol error`);
    assert.equal(p.maximumQoS, undefined, 'Maximum QoS may only be sent as 0 or 1; this server supports QoS 2');
    if (p.topicAliasMaximum !== undefined) assert.ok(p.topicAliasMaximum >= 0 && p.topicAliasMaximum <= 65535);
  });

  test('MQTT-4.12.0-6 v5: no Authentication Method in CONNACK when CONNECT had none; MQTT-3.1.2-28: no Response Information unless requested', async () => {
    for (const requestResponseInformation of [undefined, false] as const) {
      const { client, connack } = await connected(proxy.port, 5, clientIdFor('noauth'), requestResponseInformation === undefined ? {} : { properties: { requestResponseInformation } });
      client.destroy();
      assert.equal(connack.properties?.authenticationMethod, undefined);
      assert.equal(connack.properties?.authenticationData, undefined);
      assert.equal(connack.properties?.responseInformation, undefined);
    }
  });

  test('MQTT-4.12.0-1 v5: an Authentication Method the server does not support gets CONNACK 0x8C (or 0x87), then the connection is closed', async () => {
    const packet = connectPacket(clientIdFor('enhanced'), 5, { properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: Buffer.from('client-first') } });
    const client = await refusedConnect(5, packet, { connackCodes: [Code.badAuthenticationMethod, Code.notAuthorized] }, 'enhanced authentication');
    assert.equal(client.of('auth').length, 0, 'no AUTH exchange is started');
  });

  test('MQTT-3.1.2.11 v5: property errors in CONNECT (Receive Maximum 0, Maximum Packet Size 0, a property twice, a PUBLISH property, an unknown one) are refused: closed, at most CONNACK 0x81/0x82 first', async () => {
    const { Property, prop, properties } = bytes;
    const cases: Array<[string, Buffer]> = [
      ['Receive Maximum 0', properties(prop.u16(Property.receiveMaximum, 0))],
      ['Maximum Packet Size 0', properties(prop.u32(Property.maximumPacketSize, 0))],
      ['Session Expiry Interval twice', properties(prop.u32(Property.sessionExpiryInterval, 10), prop.u32(Property.sessionExpiryInterval, 20))],
      ['Request Problem Information 2', properties(prop.byte(Property.requestProblemInformation, 2))],
      ['Request Response Information 2', properties(prop.byte(Property.requestResponseInformation, 2))],
      ['Topic Alias (a PUBLISH property)', properties(prop.u16(Property.topicAlias, 1))],
      ['unknown property 0x7F', properties(Buffer.from([0x7f, 0x01]))],
      ['property length beyond the packet', Buffer.from([0x40, 0x11, 0, 0, 0, 1])],
    ];
    for (const [what, props] of cases) {
      await refusedConnect(5, bytes.connect({ level: 5, clientId: clientIdFor('props'), properties: props }), { connackCodes: [Code.malformed, Code.protocolError] }, what);
    }
  });

  test('MQTT-3.1.2-24 v5: the server sends nothing bigger than the client\'s Maximum Packet Size (a SUBACK with a reason string would not fit)', async () => {
    // Room for the CONNACK this server sends (measured first) and for a SUBACK without properties.
    const { client: measure } = await connected(proxy.port, 5, clientIdFor('measure'));
    measure.destroy();
    const limit = Math.max(measure.received[0]!.raw.length, 16);
    const { client } = await connected(proxy.port, 5, clientIdFor('maxsize'), { properties: { maximumPacketSize: limit } });
    try {
      client.send(
        bytes.subscribe({ packetId: 3, entries: [{ filter: 'max/size/a', options: 1 }, { filter: 'max/size/b', options: 1 }] }, 5),
        bytes.publish({ topic: 'unmapped/x', qos: 1, packetId: 4 }, 5),
      );
      await client.waitFor('suback');
      await client.waitFor((p) => p.cmd === 'puback' || p.cmd === 'disconnect', 'PUBACK of the refused PUBLISH');
      for (const r of client.received) assert.ok(r.raw.length <= limit, `${r.packet?.cmd ?? 'packet'} of ${r.raw.length} bytes over the client's Maximum Packet Size ${limit}`);
    } finally {
      client.destroy();
    }
  });
});

describe('without a retained store (retained.enabled: false)', () => {
  let bare: RunningProxy;
  before(async () => {
    bare = await startConformanceProxy('retained: { enabled: false }');
  });
  after(() => bare?.stop());

  test('MQTT-3.2.2.3 v5: CONNACK advertises Retain Available 0', async () => {
    const p = (await serverConnack(bare.port)).properties ?? {};
    assert.equal(p.retainAvailable, false, `Retain Available must be sent as 0 (got ${JSON.stringify(p)})`);
  });

  test('MQTT-3.2.2-13 v5: a Will with Will Retain 1 while Retain Available is 0 is refused (CONNACK 0x9A) and closed', async () => {
    const client = await ConformanceClient.open(bare.port, 5);
    try {
      client.send(willRetainConnect());
      await assertClosedAfter(client, { connackCodes: [Code.retainNotSupported] }, 'will retain without retain support');
    } finally {
      client.destroy();
    }
  });
});

test('MQTT-3.2.2-13 v5: a Will with Will Retain 1 is accepted where Retain Available is 1', async () => {
  const client = await ConformanceClient.open(proxy.port, 5);
  client.send(willRetainConnect());
  const connack = (await client.waitFor('connack')) as ConnackPacket;
  client.send(bytes.disconnect(5, 0));
  client.destroy();
  assert.equal(connackCode(connack), 0);
});

function willRetainConnect(): Buffer {
  return connectPacket(clientIdFor('willretain'), 5, { will: { topic: 'will/retained', payload: Buffer.from('bye'), qos: 1, retain: true } });
}
