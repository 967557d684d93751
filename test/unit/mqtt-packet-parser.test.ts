// patches/mqtt-packet+9.0.2.patch reads bytes, 16-bit numbers and strings in place when they lie in
// the first chunk received, and through BufferList when a packet spans chunks. Either way the
// packets parsed must be the same.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqttPacket, { type Packet } from 'mqtt-packet';

const packets: Array<[string, Packet, 4 | 5]> = [
  ['CONNECT with will and credentials', { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'dévice-1', keepalive: 60, username: 'ü', password: Buffer.from('pw'), will: { topic: 'wills/ü', payload: Buffer.from('bye'), qos: 1, retain: false } }, 4],
  ['CONNECT, MQTT 5, with properties', { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: 'c5', keepalive: 30, properties: { sessionExpiryInterval: 120, receiveMaximum: 300, userProperties: { a: 'b' } } }, 5],
  ['PUBLISH QoS 0', { cmd: 'publish', topic: 'devices/a/telemetry', payload: Buffer.alloc(100, 0x61), qos: 0, retain: false, dup: false }, 4],
  ['PUBLISH QoS 1, multi-byte length and message id', { cmd: 'publish', topic: 'devices/ключ/telemetry', payload: Buffer.alloc(70_000, 0x62), qos: 1, messageId: 65535, retain: true, dup: false }, 4],
  ['PUBLISH QoS 2, MQTT 5 properties', { cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, messageId: 258, retain: false, dup: true, properties: { contentType: 'text/plain', responseTopic: 'r/ü', correlationData: Buffer.from([0, 1, 2]), userProperties: { k: ['v1', 'v2'] }, messageExpiryInterval: 7, payloadFormatIndicator: true } }, 5],
  ['PUBLISH with an empty topic and payload', { cmd: 'publish', topic: '', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false }, 5],
  ['SUBSCRIBE', { cmd: 'subscribe', messageId: 9, subscriptions: [{ topic: 'a/+', qos: 1 }, { topic: 'b/#', qos: 0 }] }, 4],
  ['PUBREL', { cmd: 'pubrel', messageId: 1000 }, 4],
  ['PINGREQ', { cmd: 'pingreq' }, 4],
  ['DISCONNECT, MQTT 5, reason', { cmd: 'disconnect', reasonCode: 0x8b, properties: { reasonString: 'shutting down' } }, 5],
];

function parse(chunks: Buffer[], protocolVersion: 4 | 5): unknown[] {
  const parser = mqttPacket.parser({ protocolVersion });
  const out: unknown[] = [];
  parser.on('packet', (p: Packet) => out.push(JSON.parse(JSON.stringify(p))));
  parser.on('error', (e: Error) => out.push(`error: ${e.message}`));
  for (const chunk of chunks) parser.parse(chunk);
  return out;
}

/** Splits `bytes` at pseudo-random points (deterministic per seed). */
function split(bytes: Buffer, seed: number): Buffer[] {
  const chunks: Buffer[] = [];
  let x = seed;
  for (let at = 0; at < bytes.length; ) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const size = 1 + (x % 7);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

for (const [name, packet, version] of packets) {
  test(`parsed the same whole, byte by byte and split anywhere: ${name}`, () => {
    const bytes = mqttPacket.generate(packet, { protocolVersion: version });
    const whole = parse([bytes, bytes], version);
    assert.equal(whole.length, 2);
    assert.ok(typeof whole[0] === 'object', String(whole[0]));
    const bytewise = [...bytes].map((b) => Buffer.from([b]));
    assert.deepEqual(parse([...bytewise, bytes], version), whole, 'byte by byte');
    for (let seed = 1; seed <= 5; seed++) assert.deepEqual(parse(split(Buffer.concat([bytes, bytes]), seed), version), whole, `split, seed ${seed}`);
  });
}

test('a string or number cut off by the end of the packet is still an error, in place or not', () => {
  // PUBLISH whose remaining length (3) ends inside the topic's length-prefixed string.
  const truncated = Buffer.from([0x30, 0x03, 0x00, 0x05, 0x61]);
  const whole = parse([truncated], 4);
  assert.deepEqual(whole, ['error: Cannot parse topic']);
  assert.deepEqual(parse([...truncated].map((b) => Buffer.from([b])), 4), whole);
});
