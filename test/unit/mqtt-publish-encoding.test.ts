// The outbound window decides "too large" from a computed size: it must equal what mqtt-packet
// writes, byte for byte, or a PUBLISH could exceed the client's Maximum Packet Size [MQTT-3.1.2-24].
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import {
  MAX_PACKET_SIZE,
  packetProperties,
  propertiesSize,
  publishSize,
  TOPIC_ALIAS_SIZE,
  varIntSize,
  type OutboundProperties,
} from '../../src/mqtt/publish-encoding.js';
import type { QoS } from '../../src/mqtt/types.js';
import { Prng } from '../fuzz/prng.js';

function encodedLength(topic: string, payload: Buffer, qos: QoS, version: 4 | 5, properties: OutboundProperties | undefined, alias?: number): number {
  const packet = {
    cmd: 'publish' as const,
    topic,
    payload,
    qos,
    dup: false,
    retain: false,
    messageId: qos > 0 ? 1 : undefined,
    properties: version === 5 ? packetProperties(properties, alias) : undefined,
  };
  return mqttPacket.generate(packet, { protocolVersion: version }).length;
}

function computed(topic: string, payload: Buffer, qos: QoS, version: 4 | 5, properties: OutboundProperties | undefined, alias?: number): number {
  const props = version === 5 ? propertiesSize(properties) + (alias === undefined ? 0 : TOPIC_ALIAS_SIZE) : 0;
  return publishSize(Buffer.byteLength(topic), payload.length, qos, version, props);
}

function randomProperties(rng: Prng): OutboundProperties | undefined {
  if (rng.chance(0.2)) return undefined;
  const text = (): string => rng.pick(['', 'a', 'text/plain', 'ü€😀', 'x'.repeat(rng.int(0, 300))]);
  const p: Record<string, unknown> = {};
  if (rng.chance(0.4)) p.payloadFormatIndicator = rng.chance(0.5);
  if (rng.chance(0.4)) p.messageExpiryInterval = rng.pick([0, 1, 3600, 0xffff_ffff]);
  if (rng.chance(0.4)) p.contentType = text();
  if (rng.chance(0.4)) p.responseTopic = text() || 'r';
  if (rng.chance(0.4)) p.correlationData = rng.bytes(rng.int(0, 40));
  if (rng.chance(0.5)) {
    const user: Record<string, string | string[]> = {};
    for (let i = rng.int(0, 4); i > 0; i--) user[text() || `k${i}`] = rng.chance(0.5) ? text() : Array.from({ length: rng.int(0, 3) }, text);
    p.userProperties = user;
  }
  if (rng.chance(0.5)) {
    p.subscriptionIdentifiers = Array.from({ length: rng.int(0, 4) }, () => rng.pick([1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455]));
  }
  return p as OutboundProperties;
}

describe('PUBLISH size', () => {
  test('varIntSize at the boundaries of 1, 2, 3 and 4 bytes (MQTT 5.0 1.5.5 / 3.1.1 2.2.3)', () => {
    for (const [n, size] of [[0, 1], [127, 1], [128, 2], [16_383, 2], [16_384, 3], [2_097_151, 3], [2_097_152, 4], [268_435_455, 4]]) {
      assert.equal(varIntSize(n!), size, String(n));
    }
  });

  test('equals mqtt-packet output for 3,000 random PUBLISHes, 3.1.1 and 5, with and without alias (seeded)', () => {
    const seed = 0x5123;
    for (let n = 0; n < 3000; n++) {
      const rng = Prng.forItem(seed, n);
      const version = rng.pick([4, 5] as const);
      const qos = rng.pick([0, 1, 2] as const);
      const topic = rng.pick(['a', 'devices/ключ/commands', '$SYS/x', 't'.repeat(rng.int(1, 200)), '😀/+x']);
      // Payload sizes around where the Remaining Length grows by one byte.
      const payload = Buffer.alloc(rng.pick([0, 1, rng.int(100, 140), rng.int(16_300, 16_400), rng.int(0, 1000)]));
      const properties = randomProperties(rng);
      const alias = version === 5 && rng.chance(0.3) ? rng.int(1, 65_535) : undefined;
      const useTopic = alias !== undefined && rng.chance(0.5) ? '' : topic;
      assert.equal(
        computed(useTopic, payload, qos, version, properties, alias),
        encodedLength(useTopic, payload, qos, version, properties, alias),
        `seed ${seed} item ${n}`,
      );
    }
  });

  test('equals mqtt-packet output across the 2,097,152-byte Remaining Length boundary', () => {
    for (const length of [2_097_140, 2_097_147, 2_097_148, 2_097_149, 2_097_160]) {
      const payload = Buffer.alloc(length);
      for (const version of [4, 5] as const) assert.equal(computed('a/b', payload, 1, version, undefined), encodedLength('a/b', payload, 1, version, undefined));
    }
  });

  test('past the largest Remaining Length the size is Infinity: no client can take it', () => {
    assert.equal(publishSize(1, 268_435_453, 0, 4, 0), Infinity);
    assert.equal(publishSize(1, 268_435_452, 0, 4, 0), MAX_PACKET_SIZE);
  });

  test('3.1.1 has no properties: they do not count', () => {
    const props: OutboundProperties = { contentType: 'text/plain', userProperties: { a: 'b' } };
    assert.equal(computed('t', Buffer.alloc(5), 0, 4, props), encodedLength('t', Buffer.alloc(5), 0, 4, undefined));
  });
});

describe('PUBLISH properties for mqtt-packet', () => {
  test('MQTT-3.3.4-3: subscription identifiers travel as one property each', () => {
    assert.deepEqual(packetProperties({ subscriptionIdentifiers: [7] }, undefined), { subscriptionIdentifier: 7 });
    assert.deepEqual(packetProperties({ subscriptionIdentifiers: [7, 9] }, undefined), { subscriptionIdentifier: [7, 9] });
    const bytes = mqttPacket.generate(
      { cmd: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 0, dup: false, retain: false, properties: packetProperties({ subscriptionIdentifiers: [7, 9] }, undefined) },
      { protocolVersion: 5 },
    );
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    let parsed: unknown;
    parser.on('packet', (p) => (parsed = p));
    parser.parse(bytes);
    assert.deepEqual((parsed as { properties: unknown }).properties, { subscriptionIdentifier: [7, 9] });
  });

  test('empty user properties and an empty identifier list are left out (mqtt-packet refuses zero-length properties)', () => {
    assert.equal(packetProperties(undefined, undefined), undefined);
    assert.deepEqual(packetProperties({ userProperties: {}, subscriptionIdentifiers: [] }, undefined), {});
    assert.deepEqual(packetProperties({ userProperties: { a: [] } }, undefined), {});
    assert.deepEqual(packetProperties(undefined, 3), { topicAlias: 3 });
    assert.doesNotThrow(() =>
      mqttPacket.generate(
        { cmd: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 0, dup: false, retain: false, properties: packetProperties({ userProperties: {} }, undefined) },
        { protocolVersion: 5 },
      ),
    );
  });

  test('MQTT-3.3.2-4, 3.3.2-6 and the rest: every property is handed on unaltered', () => {
    const p: OutboundProperties = {
      payloadFormatIndicator: true,
      messageExpiryInterval: 42,
      contentType: 'application/json',
      responseTopic: 'replies/1',
      correlationData: Buffer.from([1, 2, 3]),
      userProperties: { a: 'b', c: ['d', 'e'] },
    };
    assert.deepEqual(packetProperties(p, 5), { ...p, topicAlias: 5 });
  });
});
