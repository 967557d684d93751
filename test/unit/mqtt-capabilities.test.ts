// CONNACK capability properties (MQTT 5.0 section 3.2.2.3), checked on the bytes mqtt-packet
// writes and on what a client's parser reads back from them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket, { type IConnackPacket, type Packet } from 'mqtt-packet';
import { connackProperties, INGEST_ONLY_CAPABILITIES, type ServerCapabilities } from '../../src/mqtt/capabilities.js';

const FULL: ServerCapabilities = {
  retainAvailable: true,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: true,
  sharedSubscriptionAvailable: true,
  maximumQoS: 2,
};

/** CONNACK bytes as the server writes them, and the packet a client parses from them. */
function roundTrip(properties: IConnackPacket['properties']): { bytes: Buffer; parsed: IConnackPacket } {
  const bytes = mqttPacket.generate({ cmd: 'connack', sessionPresent: false, reasonCode: 0, properties }, { protocolVersion: 5 });
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const packets: Packet[] = [];
  parser.on('packet', (p: Packet) => packets.push(p));
  parser.on('error', (e: Error) => assert.fail(e.message));
  parser.parse(bytes);
  assert.equal(packets.length, 1);
  assert.equal(packets[0]!.cmd, 'connack');
  return { bytes, parsed: packets[0] as IConnackPacket };
}

/** Property identifier -> value byte(s) as found in the CONNACK's property section. */
function propertyIds(bytes: Buffer): number[] {
  // Fixed header (2 bytes for these small packets), flags, reason code, property length (1 byte here).
  const start = 5;
  const ids: number[] = [];
  const width: Record<number, number> = { 0x11: 4, 0x12: -1, 0x13: 2, 0x21: 2, 0x22: 2, 0x24: 1, 0x25: 1, 0x27: 4, 0x28: 1, 0x29: 1, 0x2a: 1 };
  for (let at = start; at < bytes.length; ) {
    const id = bytes[at]!;
    ids.push(id);
    const w = width[id];
    assert.ok(w !== undefined, `unexpected property 0x${id.toString(16)}`);
    at += 1 + (w === -1 ? 2 + bytes.readUInt16BE(at + 1) : w);
  }
  return ids;
}

describe('CONNACK capabilities', () => {
  test('3.2.2.3.5, 3.2.2.3.11-13: all four availability flags are stated explicitly, also when available', () => {
    const { bytes, parsed } = roundTrip(connackProperties(FULL));
    assert.deepEqual(propertyIds(bytes).sort(), [0x25, 0x28, 0x29, 0x2a]);
    assert.equal(parsed.properties?.retainAvailable, true);
    assert.equal(parsed.properties?.wildcardSubscriptionAvailable, true);
    assert.equal(parsed.properties?.subscriptionIdentifiersAvailable, true);
    assert.equal(parsed.properties?.sharedSubscriptionAvailable, true);
  });

  test('issue 11: the ingest-only proxy states that it has no retain, wildcards, subscription ids or shared subscriptions', () => {
    assert.ok(Object.isFrozen(INGEST_ONLY_CAPABILITIES));
    const { bytes, parsed } = roundTrip(connackProperties(INGEST_ONLY_CAPABILITIES));
    assert.deepEqual(propertyIds(bytes).sort(), [0x25, 0x28, 0x29, 0x2a]);
    assert.deepEqual(
      { ...parsed.properties },
      { retainAvailable: false, wildcardSubscriptionAvailable: false, subscriptionIdentifiersAvailable: false, sharedSubscriptionAvailable: false },
    );
    // The value bytes are 0, not merely absent.
    for (const id of [0x25, 0x28, 0x29, 0x2a]) assert.equal(bytes[bytes.indexOf(id, 5) + 1], 0);
  });

  test('MQTT-3.2.2-9: Maximum QoS is sent when the server supports less than QoS 2', () => {
    for (const maximumQoS of [0, 1] as const) {
      const { bytes, parsed } = roundTrip(connackProperties({ ...FULL, maximumQoS }));
      assert.ok(propertyIds(bytes).includes(0x24));
      assert.equal(parsed.properties?.maximumQoS, maximumQoS);
    }
  });

  test('3.2.2.3.4: Maximum QoS 2 is not sent (the property may only be 0 or 1; absent means 2)', () => {
    const { bytes, parsed } = roundTrip(connackProperties(FULL));
    assert.ok(!propertyIds(bytes).includes(0x24));
    assert.equal(parsed.properties?.maximumQoS, undefined);
  });

  test('extras are sent as given: Receive Maximum, Maximum Packet Size, Topic Alias Maximum, Server Keep Alive, Assigned Client Identifier, Session Expiry Interval', () => {
    const extras = {
      receiveMaximum: 100,
      maximumPacketSize: 1_048_576,
      topicAliasMaximum: 10,
      serverKeepAlive: 30,
      assignedClientIdentifier: 'auto-3f2a',
      sessionExpiryInterval: 3600,
    };
    const { bytes, parsed } = roundTrip(connackProperties(INGEST_ONLY_CAPABILITIES, extras));
    assert.deepEqual(propertyIds(bytes).sort((a, b) => a - b), [0x11, 0x12, 0x13, 0x21, 0x22, 0x25, 0x27, 0x28, 0x29, 0x2a]);
    for (const [key, value] of Object.entries(extras)) assert.equal(parsed.properties?.[key as keyof typeof extras], value, key);
  });

  test('MQTT-3.2.2-21/22: Server Keep Alive is sent only when given (0 is a value: no keep-alive)', () => {
    assert.equal(connackProperties(FULL).serverKeepAlive, undefined);
    assert.equal(roundTrip(connackProperties(FULL, { serverKeepAlive: 0 })).parsed.properties?.serverKeepAlive, 0);
  });

  test('3.2.2.3.8: Topic Alias Maximum 0 is left out (absent means the client may send no aliases)', () => {
    const { bytes } = roundTrip(connackProperties(FULL, { topicAliasMaximum: 0 }));
    assert.ok(!propertyIds(bytes).includes(0x22));
  });

  test('values the protocol does not allow are refused: Receive Maximum 0, Maximum Packet Size 0, out of range', () => {
    assert.throws(() => connackProperties(FULL, { receiveMaximum: 0 }), RangeError);
    assert.throws(() => connackProperties(FULL, { receiveMaximum: 65_536 }), RangeError);
    assert.throws(() => connackProperties(FULL, { maximumPacketSize: 0 }), RangeError);
    assert.throws(() => connackProperties(FULL, { maximumPacketSize: 268_435_456 }), RangeError);
    assert.throws(() => connackProperties(FULL, { topicAliasMaximum: 65_536 }), RangeError);
    assert.throws(() => connackProperties(FULL, { serverKeepAlive: -1 }), RangeError);
    assert.throws(() => connackProperties(FULL, { serverKeepAlive: 1.5 }), RangeError);
    assert.throws(() => connackProperties(FULL, { sessionExpiryInterval: 2 ** 32 }), RangeError);
    assert.doesNotThrow(() => connackProperties(FULL, { receiveMaximum: 65_535, maximumPacketSize: 268_435_455, sessionExpiryInterval: 0xffff_ffff }));
  });

  test('a fresh object each call: the caller may add to it', () => {
    const a = connackProperties(FULL);
    const b = connackProperties(FULL);
    assert.notEqual(a, b);
    a.reasonString = 'x';
    assert.equal(b.reasonString, undefined);
  });
});
