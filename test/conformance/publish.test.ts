// PUBLISH and its acknowledgements from client to server, MQTT 3.1.1 and 5, in raw bytes against a
// running proxy, with Kafka read back to see what was produced. Each test is named after the
// normative statement it checks.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  Code,
  VERSIONS,
  assertClosedAfter,
  clientIdFor,
  connected,
  hexList,
  reasonCodeOf,
  versionName,
  type ConformanceClient,
  type Packet,
  type Version,
} from '../helpers/conformance.js';
import { KafkaProbe, MAX_PACKET_SIZE, assertNoCrash, serverConnack, startConformanceProxy } from '../helpers/conformance-proxy.js';
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
const PUBACK_FAILURES = [0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];

const isAck = (p: Packet): boolean => p.cmd === 'puback' || p.cmd === 'pubrec';
const ackId = (p: Packet): number | undefined => (p as { messageId?: number }).messageId;

interface PublishRefusal {
  /** MQTT 5: reason codes a DISCONNECT before the close may carry. */
  readonly disconnectCodes: readonly number[];
  /** MQTT 5: the server may instead answer with a PUBACK/PUBREC carrying one of these and keep the connection. */
  readonly negativeAckCodes?: readonly number[];
}

/**
 * Connects, sends `packets`, and checks the refusal: the connection closed (MQTT 5: at most a
 * DISCONNECT with one of the codes first) or, where allowed, a negative acknowledgement; never a
 * positive one.
 */
async function assertPublishRefused(version: Version, packets: Buffer[], refusal: PublishRefusal, what: string, connectExtra = {}): Promise<ConformanceClient> {
  const { client } = await connected(proxy.port, version, clientIdFor('refused'), connectExtra);
  try {
    const from = client.received.length;
    client.send(...packets);
    const negative = version === 5 ? (refusal.negativeAckCodes ?? []) : [];
    if (negative.length > 0) {
      await Promise.race([client.waitClosed(), client.waitFor(isAck, 'acknowledgement').catch(() => undefined)]);
      const acks = client.packetsSince(from).filter(isAck);
      if (acks.length > 0 && !client.closed) {
        for (const ack of acks) assert.ok(negative.includes(reasonCodeOf(ack)), `${what}: acknowledged with 0x${reasonCodeOf(ack).toString(16)}; only ${hexList(negative)} refuse it`);
        return client;
      }
    }
    await assertClosedAfter(client, { disconnectCodes: refusal.disconnectCodes, from }, what);
    return client;
  } finally {
    client.destroy();
  }
}

describe('fixed header and packet identifier', () => {
  for (const version of VERSIONS) {
    const v = versionName(version);
    test(`MQTT-3.3.1-4 ${v}: a PUBLISH with both QoS bits set is malformed: closed${version === 5 ? ', at most DISCONNECT 0x81 first' : ''}; nothing produced`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'qos3');
      await assertPublishRefused(version, [bytes.publish({ topic: probe.topic(), firstByte: 0x36, packetId: 5 }, version)], { disconnectCodes: [Code.malformed] }, 'QoS 3');
      assert.equal((await probe.records(0)).length, 0);
    });

    test(`MQTT-3.3.1-2 ${v}: a QoS 0 PUBLISH with DUP 1 breaks the protocol: closed${version === 5 ? ', at most DISCONNECT 0x81/0x82 first' : ''}; nothing produced`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'dup0');
      await assertPublishRefused(version, [bytes.publish({ topic: probe.topic(), qos: 0, dup: true }, version)], { disconnectCodes: [Code.malformed, Code.protocolError] }, 'QoS 0 with DUP');
      assert.equal((await probe.records(0)).length, 0);
    });

    test(`${version === 5 ? 'MQTT-2.2.1-3' : 'MQTT-2.3.1-1'} ${v}: a QoS 1 or QoS 2 PUBLISH with packet identifier 0 breaks the protocol: closed${version === 5 ? ', at most DISCONNECT 0x81/0x82 first' : ''}; nothing produced or acknowledged`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'id0');
      for (const qos of [1, 2]) {
        await assertPublishRefused(version, [bytes.publish({ topic: probe.topic(`q${qos}`), qos, packetId: 0 }, version)], { disconnectCodes: [Code.malformed, Code.protocolError] }, `QoS ${qos} with packet id 0`);
      }
      assert.equal((await probe.records(0)).length, 0);
    });

    test(`MQTT-3.3.4-1 ${v}: QoS 0 gets no acknowledgement, QoS 1 a PUBACK and QoS 2 a PUBREC with the PUBLISH's packet id (${version === 5 ? 'MQTT-4.3.2-4, MQTT-4.3.3-8' : 'MQTT-2.3.1-6'}); each produced once`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'qos');
      const { client } = await connected(proxy.port, version, clientIdFor('qos'));
      try {
        client.send(
          bytes.publish({ topic: probe.topic('q0'), qos: 0 }, version),
          bytes.publish({ topic: probe.topic('q1'), qos: 1, packetId: 0x1234 }, version),
          bytes.publish({ topic: probe.topic('q2'), qos: 2, packetId: 0xfffe }, version),
        );
        await client.waitFor((p) => p.cmd === 'pubrec', 'PUBREC');
        await client.waitFor((p) => p.cmd === 'puback', 'PUBACK');
        assert.deepEqual(client.of('puback').map(ackId), [0x1234]);
        assert.deepEqual(client.of('pubrec').map(ackId), [0xfffe]);
        for (const ack of [...client.of('puback'), ...client.of('pubrec')]) assert.ok(reasonCodeOf(ack) < 0x80, 'a success code');
        assert.ok(await client.answersPing());
        assert.equal(client.packets.filter((p) => p.cmd !== 'connack' && p.cmd !== 'pingresp' && !isAck(p)).length, 0, `nothing else is sent: ${client.describe()}`);
      } finally {
        client.destroy();
      }
      const records = await probe.records(3);
      assert.deepEqual(records.map((r) => headerText(r.headers, 'mqtt.topic')).sort(), [probe.topic('q0'), probe.topic('q1'), probe.topic('q2')]);
    });

    test(`MQTT-4.6.0-2/-3 ${v}: PUBACKs and PUBRECs leave in the order the PUBLISHes arrived, whatever order Kafka answers in`, async () => {
      const [slow, fast] = await Promise.all([KafkaProbe.create(proxy.port, 'order-a'), KafkaProbe.create(proxy.port, 'order-b')]);
      const { client } = await connected(proxy.port, version, clientIdFor('order'));
      try {
        const ids: number[] = [];
        const packets: Buffer[] = [];
        for (let i = 0; i < 60; i++) {
          const id = 1 + ((i * 7919) % 60000);
          ids.push(id);
          // Large records to one topic, small to another: Kafka answers per partition, not in send order.
          const toSlow = i % 5 === 0;
          packets.push(bytes.publish({ topic: (toSlow ? slow : fast).topic(String(i)), qos: 1 + (i % 2), packetId: id, payload: Buffer.alloc(toSlow ? 3000 : 10, 0x61) }, version));
        }
        client.send(...packets);
        await client.waitForCount(isAck, ids.length, `${ids.length} acknowledgements`, 10000);
        // The statements order PUBACKs among themselves and PUBRECs among themselves.
        assert.deepEqual(client.of('puback').map(ackId), ids.filter((_, i) => i % 2 === 0), 'PUBACKs in the order of the QoS 1 PUBLISHes');
        assert.deepEqual(client.of('pubrec').map(ackId), ids.filter((_, i) => i % 2 === 1), 'PUBRECs in the order of the QoS 2 PUBLISHes');
      } finally {
        client.destroy();
      }
    });
  }
});

describe('topic names', () => {
  for (const version of VERSIONS) {
    const v = versionName(version);
    test(`${version === 5 ? 'MQTT-1.5.4-2' : 'MQTT-1.5.3-2'} / MQTT-4.7.3-2 ${v}: a topic name containing U+0000 is malformed: closed${version === 5 ? ', at most DISCONNECT 0x81 first' : ''}; nothing produced`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'nul');
      for (const suffix of ['a\u0000b', '\u0000', 'end\u0000']) {
        for (const qos of [0, 1]) {
          await assertPublishRefused(version, [bytes.publish({ topic: probe.topic(suffix), qos, packetId: 3 }, version)], { disconnectCodes: [Code.malformed] }, `topic ${JSON.stringify(suffix)} QoS ${qos}`);
        }
      }
      assert.equal((await probe.records(0)).length, 0, 'a PUBLISH with U+0000 in its topic reached Kafka');
    });

    test(`MQTT-3.3.2-2 (${version === 5 ? 'MQTT-4.7.0-1' : 'MQTT-4.7.1-1'}) ${v}: a topic name with a wildcard character is refused: closed${version === 5 ? ' (at most DISCONNECT 0x81/0x82/0x90 first) or a PUBACK 0x90' : ''}; nothing produced`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'wild');
      for (const suffix of ['+', '#', 'a/+/b', 'x#', 'a+']) {
        await assertPublishRefused(
          version,
          [bytes.publish({ topic: probe.topic(suffix), qos: 1, packetId: 9 }, version)],
          { disconnectCodes: [Code.malformed, Code.protocolError, Code.topicNameInvalid], negativeAckCodes: [Code.topicNameInvalid] },
          `topic name ${probe.topic(suffix)}`,
        );
      }
      assert.equal((await probe.records(0)).length, 0, 'a PUBLISH with a wildcard in its topic name reached Kafka');
    });

    test(`MQTT-4.7.3-1 ${v}: an empty topic name${version === 5 ? ' without a Topic Alias is a protocol error: closed, at most DISCONNECT 0x82 first' : ' breaks the protocol: closed'}; never acknowledged`, async () => {
      await assertPublishRefused(version, [bytes.publish({ topic: '', qos: 1, packetId: 4 }, version)], { disconnectCodes: [Code.protocolError, Code.malformed] }, 'empty topic name');
    });
  }

  test('MQTT-3.3.5-2 v3.1.1: a PUBLISH the server does not take (no mapping) is acknowledged positively or the connection is closed', async () => {
    const { client } = await connected(proxy.port, 4, clientIdFor('unmapped'));
    try {
      client.send(bytes.publish({ topic: 'unmapped/x', qos: 1, packetId: 2 }, 4));
      await Promise.race([client.waitClosed(), client.waitFor('puback').catch(() => undefined)]);
      assert.ok(client.closed || client.of('puback').length === 1, `received ${client.describe()}`);
    } finally {
      client.destroy();
    }
  });

  test('MQTT-3.4.2-1 v5: a PUBLISH the server refuses gets a PUBACK/PUBREC with a failure reason code of the PUBACK table', async () => {
    const { client } = await connected(proxy.port, 5, clientIdFor('refusedv5'));
    try {
      client.send(bytes.publish({ topic: 'unmapped/a', qos: 1, packetId: 2 }, 5), bytes.publish({ topic: 'unmapped/b', qos: 2, packetId: 3 }, 5));
      const acks = await client.waitForCount(isAck, 2, 'PUBACK and PUBREC');
      for (const ack of acks) assert.ok(PUBACK_FAILURES.includes(reasonCodeOf(ack)), `${ack.cmd} 0x${reasonCodeOf(ack).toString(16)}`);
    } finally {
      client.destroy();
    }
  });

  test('MQTT-3.1.2-29 v5: with Request Problem Information 0, a negative PUBACK/PUBREC carries no Reason String or User Property', async () => {
    const { client } = await connected(proxy.port, 5, clientIdFor('noproblem'), { properties: { requestProblemInformation: false } });
    try {
      client.send(bytes.publish({ topic: 'unmapped/a', qos: 1, packetId: 2 }, 5), bytes.publish({ topic: 'unmapped/b', qos: 2, packetId: 3 }, 5));
      const acks = await client.waitForCount(isAck, 2, 'PUBACK and PUBREC');
      for (const ack of acks as Array<Packet & { properties?: { reasonString?: string; userProperties?: unknown } }>) {
        assert.equal(ack.properties?.reasonString, undefined, `${ack.cmd} has a Reason String`);
        assert.equal(ack.properties?.userProperties, undefined, `${ack.cmd} has User Properties`);
      }
    } finally {
      client.destroy();
    }
  });
});

describe('QoS 2 receive', () => {
  for (const version of VERSIONS) {
    const v = versionName(version);
    const id = (v5: string): string => (version === 5 ? v5 : 'MQTT-4.3.3-2');
    test(`${id('MQTT-4.3.3-10')} ${v}: a QoS 2 PUBLISH sent again (DUP 1) before PUBREL gets PUBREC again and is not produced twice`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'dupq2');
      const { client } = await connected(proxy.port, version, clientIdFor('dup'));
      try {
        // Again after the PUBREC ...
        client.send(bytes.publish({ topic: probe.topic('after'), qos: 2, packetId: 7, payload: 'one' }, version));
        await client.waitFor((p) => p.cmd === 'pubrec' && ackId(p) === 7, 'PUBREC 7');
        client.send(bytes.publish({ topic: probe.topic('after'), qos: 2, dup: true, packetId: 7, payload: 'one' }, version));
        await client.waitForCount((p) => p.cmd === 'pubrec' && ackId(p) === 7, 2, 'second PUBREC 7');
        // ... and in the same segment, while the first is still on its way to Kafka.
        const first = bytes.publish({ topic: probe.topic('pipelined'), qos: 2, packetId: 8, payload: 'two' }, version);
        const again = bytes.publish({ topic: probe.topic('pipelined'), qos: 2, dup: true, packetId: 8, payload: 'two' }, version);
        client.send(first, again, again);
        await client.waitForCount((p) => p.cmd === 'pubrec' && ackId(p) === 8, 3, 'three PUBRECs 8');
        for (const rec of client.of('pubrec')) assert.ok(reasonCodeOf(rec) < 0x80);
      } finally {
        client.destroy();
      }
      const records = await probe.records(2);
      assert.equal(records.length, 2, `each message once in Kafka, got ${records.map((r) => headerText(r.headers, 'mqtt.topic')).join(', ')}`);
    });

    test(`${id('MQTT-4.3.3-11')} ${v}: PUBREL is answered with a PUBCOMP with the same packet id${version === 5 ? ' and a success code' : ''}`, async () => {
      const { client } = await connected(proxy.port, version, clientIdFor('pubrel'));
      try {
        client.send(bytes.publish({ topic: 'qos2/pubrel', qos: 2, packetId: 300 }, version));
        await client.waitFor('pubrec');
        client.send(bytes.ack(0x62, 300));
        const pubcomp = await client.waitFor('pubcomp');
        assert.equal(ackId(pubcomp), 300);
        assert.equal(reasonCodeOf(pubcomp), 0);
      } finally {
        client.destroy();
      }
    });

    test(`${id('MQTT-4.3.3-12')} ${v}: after PUBCOMP, a PUBLISH with the same packet id is a new message (produced again)`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'reuse');
      const { client } = await connected(proxy.port, version, clientIdFor('reuse'));
      try {
        for (let round = 1; round <= 2; round++) {
          client.send(bytes.publish({ topic: probe.topic(`r${round}`), qos: 2, packetId: 11 }, version));
          await client.waitForCount((p) => p.cmd === 'pubrec', round, `PUBREC ${round}`);
          client.send(bytes.ack(0x62, 11));
          await client.waitForCount((p) => p.cmd === 'pubcomp', round, `PUBCOMP ${round}`);
        }
      } finally {
        client.destroy();
      }
      assert.equal((await probe.records(2)).length, 2);
    });

    test(`${id('MQTT-4.3.3-11')} ${v}: a PUBREL for a packet id with no QoS 2 message gets a PUBCOMP${version === 5 ? ' with 0x92 Packet Identifier not found' : ''}`, async () => {
      const { client } = await connected(proxy.port, version, clientIdFor('unknown'));
      try {
        client.send(bytes.ack(0x62, 4242, version === 5 ? 0 : undefined));
        const pubcomp = await client.waitFor('pubcomp');
        assert.equal(ackId(pubcomp), 4242);
        if (version === 5) assert.equal(reasonCodeOf(pubcomp), Code.packetIdentifierNotFound);
        assert.ok(await client.answersPing());
      } finally {
        client.destroy();
      }
    });

    test(`MQTT-3.6.1-1 ${v}: a PUBREL with fixed-header flags other than 0010 is malformed: closed${version === 5 ? ', at most DISCONNECT 0x81 first' : ''}`, async () => {
      for (const firstByte of [0x60, 0x63, 0x6a]) {
        const { client } = await connected(proxy.port, version, clientIdFor('pubrelflags'));
        try {
          client.send(bytes.publish({ topic: 'qos2/flags', qos: 2, packetId: 5 }, version));
          await client.waitFor('pubrec');
          const from = client.received.length;
          client.send(bytes.ack(firstByte, 5));
          await assertClosedAfter(client, { disconnectCodes: [Code.malformed], from }, `PUBREL first byte 0x${firstByte.toString(16)}`);
        } finally {
          client.destroy();
        }
      }
    });
  }
});

describe('MQTT 5 flow control, packet size and properties', () => {
  test('MQTT-3.3.4-7 v5: more unacknowledged QoS 2 PUBLISHes than the server\'s Receive Maximum: DISCONNECT 0x93, then closed', async (t) => {
    const receiveMaximum = (await serverConnack(proxy.port)).properties?.receiveMaximum ?? 65535;
    if (receiveMaximum >= 65535) {
      t.skip('the server states no Receive Maximum below 65535: a client cannot have more QoS 2 ids in flight');
      return;
    }
    const { client } = await connected(proxy.port, 5, clientIdFor('recvmax'));
    try {
      const flood = Array.from({ length: receiveMaximum + 1 }, (_, i) => bytes.publish({ topic: 'flow/recvmax', qos: 2, packetId: i + 1 }, 5));
      client.send(...flood);
      await assertClosedAfter(client, { disconnectCodes: [Code.receiveMaximumExceeded], allow: ['pubrec'], from: 1, timeoutMs: 10000 }, `${receiveMaximum + 1} QoS 2 PUBLISHes without PUBREL`);
      assert.equal(client.of('disconnect').length, 1, 'the DISCONNECT names the reason: 0x93');
      assert.ok(client.of('pubrec').length <= receiveMaximum, `${client.of('pubrec').length} PUBRECs for a Receive Maximum of ${receiveMaximum}`);
    } finally {
      client.destroy();
    }
  });

  test('MQTT-3.3.4-7 v5: exactly Receive Maximum unacknowledged QoS 2 PUBLISHes are accepted; after PUBRELs the client may send as many again', async () => {
    const receiveMaximum = Math.min((await serverConnack(proxy.port)).properties?.receiveMaximum ?? 65535, 5000);
    const { client } = await connected(proxy.port, 5, clientIdFor('recvok'));
    try {
      for (let round = 0; round < 2; round++) {
        client.send(...Array.from({ length: receiveMaximum }, (_, i) => bytes.publish({ topic: 'flow/ok', qos: 2, packetId: i + 1 }, 5)));
        await client.waitForCount((p) => p.cmd === 'pubrec', receiveMaximum * (round + 1), `${receiveMaximum} PUBRECs`, 20000);
        client.send(...Array.from({ length: receiveMaximum }, (_, i) => bytes.ack(0x62, i + 1)));
        await client.waitForCount((p) => p.cmd === 'pubcomp', receiveMaximum * (round + 1), `${receiveMaximum} PUBCOMPs`, 20000);
      }
      assert.equal(client.of('disconnect').length, 0);
      assert.ok(await client.answersPing());
    } finally {
      client.destroy();
    }
  });

  for (const version of VERSIONS) {
    const name = version === 5 ? 'MQTT-3.2.2-15 v5: a packet bigger than the server\'s Maximum Packet Size gets DISCONNECT 0x95, then closed' : 'v3.1.1 (no Maximum Packet Size in 3.1.1): a packet bigger than limits.maxPacketSize closes the connection';
    test(`${name}; nothing produced. A packet of exactly the maximum is accepted`, async () => {
      const probe = await KafkaProbe.create(proxy.port, 'size');
      const sized = (total: number, suffix: string): Buffer => {
        let payload = total - 40;
        for (;;) {
          const packet = bytes.publish({ topic: probe.topic(suffix), qos: 1, packetId: 1, payload: Buffer.alloc(payload, 0x62) }, version);
          if (packet.length === total) return packet;
          payload += total - packet.length;
        }
      };
      const { client } = await connected(proxy.port, version, clientIdFor('fits'));
      client.send(sized(MAX_PACKET_SIZE, 'fits'));
      await client.waitFor('puback');
      client.destroy();
      await assertPublishRefused(version, [sized(MAX_PACKET_SIZE + 1, 'over')], { disconnectCodes: [Code.packetTooLarge] }, `PUBLISH of ${MAX_PACKET_SIZE + 1} bytes`);
      const records = await probe.records(1);
      assert.deepEqual(records.map((r) => headerText(r.headers, 'mqtt.topic')), [probe.topic('fits')]);
    });
  }

  test('MQTT-3.3.2-8 v5: Topic Alias 0 is a protocol error: DISCONNECT 0x94, then closed; nothing produced', async () => {
    const probe = await KafkaProbe.create(proxy.port, 'alias0');
    const packet = bytes.publish({ topic: probe.topic(), qos: 1, packetId: 1, properties: properties(prop.u16(Property.topicAlias, 0)) }, 5);
    await assertPublishRefused(5, [packet], { disconnectCodes: [Code.topicAliasInvalid, Code.protocolError] }, 'Topic Alias 0');
    assert.equal((await probe.records(0)).length, 0);
  });

  test('MQTT-3.3.2-9 (MQTT-3.2.2-17/-18) v5: a Topic Alias above the server\'s Topic Alias Maximum gets DISCONNECT 0x94, then closed; nothing produced', async () => {
    const maximum = (await serverConnack(proxy.port)).properties?.topicAliasMaximum ?? 0;
    const probe = await KafkaProbe.create(proxy.port, 'aliasmax');
    for (const alias of [maximum + 1, 65535]) {
      const packet = bytes.publish({ topic: probe.topic(), qos: 1, packetId: 1, properties: properties(prop.u16(Property.topicAlias, alias)) }, 5);
      await assertPublishRefused(5, [packet], { disconnectCodes: [Code.topicAliasInvalid] }, `Topic Alias ${alias} over the maximum ${maximum}`);
    }
    assert.equal((await probe.records(0)).length, 0);
  });

  test('MQTT-3.3.2-12 v5: Topic Aliases 1..Topic Alias Maximum are accepted: set with a topic, then used with an empty one, each record carrying the full topic', async (t) => {
    const maximum = (await serverConnack(proxy.port)).properties?.topicAliasMaximum ?? 0;
    if (maximum === 0) {
      t.skip('the server takes no Topic Aliases (Topic Alias Maximum 0)');
      return;
    }
    const probe = await KafkaProbe.create(proxy.port, 'alias');
    const { client } = await connected(proxy.port, 5, clientIdFor('alias'));
    try {
      const aliases = [...new Set([1, maximum])];
      let id = 1;
      for (const alias of aliases) {
        const aliasProps = properties(prop.u16(Property.topicAlias, alias));
        client.send(
          bytes.publish({ topic: probe.topic(`alias${alias}`), qos: 1, packetId: id++, properties: aliasProps }, 5),
          bytes.publish({ topic: '', qos: 1, packetId: id++, properties: aliasProps }, 5),
        );
      }
      const acks = await client.waitForCount(isAck, aliases.length * 2, 'PUBACKs');
      for (const ack of acks) assert.equal(reasonCodeOf(ack), 0);
    } finally {
      client.destroy();
    }
    const records = await probe.records(4);
    assert.deepEqual(records.map((r) => headerText(r.headers, 'mqtt.topic')).sort(), [1, maximum].flatMap((a) => [probe.topic(`alias${a}`), probe.topic(`alias${a}`)]).sort());
  });

  test('MQTT-3.3.2-7 v5: a Topic Alias set on an earlier connection means nothing on a new one: an empty topic with it is a protocol error (DISCONNECT 0x82); nothing produced', async (t) => {
    const maximum = (await serverConnack(proxy.port)).properties?.topicAliasMaximum ?? 0;
    if (maximum === 0) {
      t.skip('the server takes no Topic Aliases (Topic Alias Maximum 0)');
      return;
    }
    const probe = await KafkaProbe.create(proxy.port, 'aliasconn');
    const id = clientIdFor('aliasconn');
    const aliasProps = properties(prop.u16(Property.topicAlias, 1));
    const { client } = await connected(proxy.port, 5, id);
    client.send(bytes.publish({ topic: probe.topic('set'), qos: 1, packetId: 1, properties: aliasProps }, 5));
    await client.waitFor('puback');
    client.destroy();
    await assertPublishRefused(5, [bytes.publish({ topic: '', qos: 1, packetId: 2, properties: aliasProps }, 5)], { disconnectCodes: [Code.protocolError, Code.topicAliasInvalid] }, 'alias of an earlier connection');
    const records = await probe.records(1);
    assert.equal(records.length, 1, 'only the PUBLISH that set the alias');
  });

  test('MQTT-3.3.1.3 v5: a PUBLISH with RETAIN 1 while Retain Available is 0 gets DISCONNECT 0x9A, then closed; nothing produced (accepted when retain is available)', async () => {
    const retainAvailable = (await serverConnack(proxy.port)).properties?.retainAvailable ?? true;
    const probe = await KafkaProbe.create(proxy.port, 'retain');
    const packet = bytes.publish({ topic: probe.topic(), qos: 1, packetId: 1, retain: true }, 5);
    if (retainAvailable) {
      const { client } = await connected(proxy.port, 5, clientIdFor('retainok'));
      client.send(packet);
      assert.equal(reasonCodeOf(await client.waitFor('puback')), 0);
      client.destroy();
      assert.equal((await probe.records(1)).length, 1);
      return;
    }
    await assertPublishRefused(5, [packet], { disconnectCodes: [Code.retainNotSupported] }, 'RETAIN 1 without retain support');
    assert.equal((await probe.records(0)).length, 0);
  });

  test('MQTT-3.3.4-6 v5: a PUBLISH from a client carrying a Subscription Identifier is a protocol error: closed, at most DISCONNECT 0x82/0x81 first; nothing produced', async () => {
    const probe = await KafkaProbe.create(proxy.port, 'subid');
    const packet = bytes.publish({ topic: probe.topic(), qos: 1, packetId: 1, properties: properties(prop.varint(Property.subscriptionIdentifier, 3)) }, 5);
    await assertPublishRefused(5, [packet], { disconnectCodes: [Code.protocolError, Code.malformed] }, 'Subscription Identifier in PUBLISH');
    assert.equal((await probe.records(0)).length, 0);
  });

  test('MQTT-3.3.2-14 v5: a Response Topic with a wildcard is refused: closed (at most DISCONNECT 0x81/0x82 first) or a negative PUBACK; nothing produced', async () => {
    const probe = await KafkaProbe.create(proxy.port, 'response');
    for (const responseTopic of ['reply/+', 'reply/#']) {
      const packet = bytes.publish({ topic: probe.topic(), qos: 1, packetId: 1, properties: properties(prop.string(Property.responseTopic, responseTopic)) }, 5);
      await assertPublishRefused(5, [packet], { disconnectCodes: [Code.protocolError, Code.malformed], negativeAckCodes: PUBACK_FAILURES }, `Response Topic ${responseTopic}`);
    }
    assert.equal((await probe.records(0)).length, 0);
  });
});
