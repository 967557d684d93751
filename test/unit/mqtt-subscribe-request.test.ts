// SUBSCRIBE / UNSUBSCRIBE validation on packets that mqtt-packet 9.0.2 (with the project's patch)
// parsed from raw bytes, so the tests see what the engine sees. Where the parser itself refuses a
// packet, the test says so: that packet never reaches validateSubscribe / validateUnsubscribe.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket, { type ISubscribePacket, type IUnsubscribePacket, type Packet } from 'mqtt-packet';
import type { ServerCapabilities } from '../../src/mqtt/capabilities.js';
import { INGEST_ONLY_CAPABILITIES } from '../../src/mqtt/capabilities.js';
import {
  PacketErrorCode,
  SubackCode,
  UnsubackCode,
  validateSubscribe,
  validateUnsubscribe,
  type SubscribeRequest,
  type UnsubscribeRequest,
} from '../../src/mqtt/subscribe-request.js';

const FULL: ServerCapabilities = {
  retainAvailable: true,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: true,
  sharedSubscriptionAvailable: true,
  maximumQoS: 2,
};

// ---- raw bytes --------------------------------------------------------------------------------

function varInt(n: number): Buffer {
  const out: number[] = [];
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit |= 0x80;
    out.push(digit);
  } while (n > 0);
  return Buffer.from(out);
}

function str(s: string | Buffer): Buffer {
  const bytes = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

const prop = {
  subscriptionIdentifier: (n: number): Buffer => Buffer.concat([Buffer.from([0x0b]), varInt(n)]),
  user: (k: string, v: string): Buffer => Buffer.concat([Buffer.from([0x26]), str(k), str(v)]),
  contentType: (v: string): Buffer => Buffer.concat([Buffer.from([0x03]), str(v)]),
  reasonString: (v: string): Buffer => Buffer.concat([Buffer.from([0x1f]), str(v)]),
};

interface RawOptions {
  packetId?: number;
  version: 4 | 5;
  /** Property bytes (MQTT 5): the property length is added. */
  properties?: Buffer[];
  /** First byte of the fixed header, 0x82 for SUBSCRIBE and 0xA2 for UNSUBSCRIBE when omitted. */
  header?: number;
}

function packetBytes(type: number, options: RawOptions, payload: Buffer[]): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(options.packetId ?? 1);
  const props = options.version === 5 ? Buffer.concat(options.properties ?? []) : Buffer.alloc(0);
  const variable = options.version === 5 ? Buffer.concat([id, varInt(props.length), props]) : id;
  const body = Buffer.concat([variable, ...payload]);
  return Buffer.concat([Buffer.from([options.header ?? type]), varInt(body.length), body]);
}

function subscribeBytes(options: RawOptions, pairs: Array<[topic: string | Buffer, optionsByte: number]>): Buffer {
  return packetBytes(0x82, options, pairs.map(([topic, byte]) => Buffer.concat([str(topic), Buffer.from([byte])])));
}

function unsubscribeBytes(options: RawOptions, topics: Array<string | Buffer>): Buffer {
  return packetBytes(0xa2, options, topics.map((t) => str(t)));
}

/** Parses as the engine's parser does after a CONNECT of this protocol version. */
function parse(bytes: Buffer, version: 4 | 5): Packet | string {
  const parser = mqttPacket.parser({ protocolVersion: version });
  let result: Packet | string = 'nothing parsed';
  parser.on('packet', (p: Packet) => (result = p));
  parser.on('error', (e: Error) => (result = `error: ${e.message}`));
  parser.parse(bytes);
  return result;
}

function parsedSubscribe(bytes: Buffer, version: 4 | 5): ISubscribePacket {
  const p = parse(bytes, version);
  assert.ok(typeof p === 'object' && p.cmd === 'subscribe', `parser: ${typeof p === 'string' ? p : p.cmd}`);
  return p;
}

function parsedUnsubscribe(bytes: Buffer, version: 4 | 5): IUnsubscribePacket {
  const p = parse(bytes, version);
  assert.ok(typeof p === 'object' && p.cmd === 'unsubscribe', `parser: ${typeof p === 'string' ? p : p.cmd}`);
  return p;
}

function subscribeOk(bytes: Buffer, version: 4 | 5, capabilities = FULL): SubscribeRequest {
  const verdict = validateSubscribe(parsedSubscribe(bytes, version), version, capabilities);
  assert.ok(verdict.ok, verdict.ok ? '' : `refused: 0x${verdict.reasonCode.toString(16)} ${verdict.reason}`);
  return verdict.value;
}

function subscribeRefused(bytes: Buffer, version: 4 | 5, capabilities = FULL): { reasonCode: number; reason: string } {
  const verdict = validateSubscribe(parsedSubscribe(bytes, version), version, capabilities);
  assert.ok(!verdict.ok, 'should be refused as a whole');
  assert.ok(verdict.reason.length > 0);
  return verdict;
}

function unsubscribeOk(bytes: Buffer, version: 4 | 5): UnsubscribeRequest {
  const verdict = validateUnsubscribe(parsedUnsubscribe(bytes, version), version);
  assert.ok(verdict.ok, verdict.ok ? '' : `refused: 0x${verdict.reasonCode.toString(16)} ${verdict.reason}`);
  return verdict.value;
}

function unsubscribeRefused(bytes: Buffer, version: 4 | 5): number {
  const verdict = validateUnsubscribe(parsedUnsubscribe(bytes, version), version);
  assert.ok(!verdict.ok, 'should be refused as a whole');
  return verdict.reasonCode;
}

// ---- what the parser already refuses ----------------------------------------------------------

describe('SUBSCRIBE: refused by mqtt-packet while parsing (never reaches the validator)', () => {
  test('MQTT-3.8.1-1: fixed header flags other than 0010', () => {
    for (const header of [0x80, 0x83, 0x8a]) {
      for (const version of [4, 5] as const) {
        assert.match(String(parse(subscribeBytes({ version, header }, [['a', 0]]), version)), /^error: Invalid header flag bits/);
      }
    }
  });

  test('MQTT-3.8.3-4 (3.1.1): reserved bits of the requested QoS byte, and QoS 3', () => {
    for (const byte of [0x04, 0x08, 0x10, 0x80, 0xfc]) {
      assert.match(String(parse(subscribeBytes({ version: 4 }, [['a', byte]]), 4)), /^error: Invalid subscribe topic flag bits/);
    }
    assert.match(String(parse(subscribeBytes({ version: 4 }, [['a', 0x03]]), 4)), /^error: Invalid subscribe QoS/);
  });

  test('MQTT-3.8.3-5 (5.0): reserved bits 6 and 7 of the subscription options', () => {
    for (const byte of [0x40, 0x80, 0xc1]) {
      assert.match(String(parse(subscribeBytes({ version: 5 }, [['a', byte]]), 5)), /^error: Invalid subscribe topic flag bits/);
    }
  });

  test('3.8.3.1 (5.0): Maximum QoS 3 and Retain Handling 3 are protocol errors', () => {
    assert.match(String(parse(subscribeBytes({ version: 5 }, [['a', 0x03]]), 5)), /^error: Invalid subscribe QoS/);
    assert.match(String(parse(subscribeBytes({ version: 5 }, [['a', 0x30]]), 5)), /^error: Invalid retain handling/);
  });

  test('a filter without its options byte, and a filter cut off by the end of the packet', () => {
    const cut = packetBytes(0x82, { version: 4 }, [str('a/b')]);
    assert.match(String(parse(cut, 4)), /^error: Malformed Subscribe Payload/);
    const short = packetBytes(0x82, { version: 4 }, [Buffer.from([0x00, 0x09, 0x61])]);
    assert.match(String(parse(short, 4)), /^error: Cannot parse topic/);
  });

  test('known gap: ill-formed UTF-8 is decoded with U+FFFD, so MQTT-1.5.4-1 cannot be checked on the parsed string', () => {
    const surrogate = Buffer.from([0x61, 0x2f, 0xed, 0xa0, 0x80]); // "a/" + an encoded U+D800
    const packet = parsedSubscribe(subscribeBytes({ version: 5 }, [[surrogate, 0]]), 5);
    assert.equal(packet.subscriptions[0]!.topic, 'a/\ufffd\ufffd\ufffd');
  });
});

// ---- what the validator decides ---------------------------------------------------------------

describe('SUBSCRIBE: whole-packet errors', () => {
  test('MQTT-2.3.1-1 (3.1.1) / MQTT-2.2.1-3 (5.0): packet identifier 0 is refused', () => {
    assert.equal(subscribeRefused(subscribeBytes({ version: 4, packetId: 0 }, [['a', 0]]), 4).reasonCode, PacketErrorCode.ProtocolError);
    assert.equal(subscribeRefused(subscribeBytes({ version: 5, packetId: 0 }, [['a', 0]]), 5).reasonCode, PacketErrorCode.ProtocolError);
    assert.equal(subscribeOk(subscribeBytes({ version: 4, packetId: 65_535 }, [['a', 0]]), 4).packetId, 65_535);
  });

  test('MQTT-3.8.3-3 (3.1.1) / MQTT-3.8.3-2 (5.0): a SUBSCRIBE must contain at least one filter', () => {
    // mqtt-packet hands over an empty list when only the packet identifier (and properties) are present.
    assert.equal(parsedSubscribe(subscribeBytes({ version: 4 }, []), 4).subscriptions.length, 0);
    assert.equal(subscribeRefused(subscribeBytes({ version: 4 }, []), 4).reasonCode, PacketErrorCode.ProtocolError);
    assert.equal(subscribeRefused(subscribeBytes({ version: 5 }, []), 5).reasonCode, PacketErrorCode.ProtocolError);
    assert.equal(
      subscribeRefused(subscribeBytes({ version: 5, properties: [prop.user('k', 'v')] }, []), 5).reasonCode,
      PacketErrorCode.ProtocolError,
    );
  });

  test('2.2.2.2 (5.0): a property other than Subscription Identifier and User Property makes SUBSCRIBE malformed', () => {
    for (const p of [prop.contentType('text/plain'), prop.reasonString('why')]) {
      const refused = subscribeRefused(subscribeBytes({ version: 5, properties: [p] }, [['a', 0]]), 5);
      assert.equal(refused.reasonCode, PacketErrorCode.MalformedPacket);
      assert.match(refused.reason, /not allowed in SUBSCRIBE/);
    }
  });

  test('3.8.2.1.2 (5.0): Subscription Identifier 0, or more than once, is a protocol error', () => {
    const zero = subscribeBytes({ version: 5, properties: [prop.subscriptionIdentifier(0)] }, [['a', 0]]);
    assert.equal(subscribeRefused(zero, 5).reasonCode, PacketErrorCode.ProtocolError);
    const twice = subscribeBytes({ version: 5, properties: [prop.subscriptionIdentifier(1), prop.subscriptionIdentifier(2)] }, [['a', 0]]);
    assert.deepEqual(parsedSubscribe(twice, 5).properties?.subscriptionIdentifier, [1, 2], 'the parser collects both');
    assert.equal(subscribeRefused(twice, 5).reasonCode, PacketErrorCode.ProtocolError);
  });

  test('3.8.2.1.2 (5.0): Subscription Identifier 1..268,435,455 is handed on', () => {
    for (const id of [1, 127, 128, 16_383, 16_384, 268_435_455]) {
      const bytes = subscribeBytes({ version: 5, properties: [prop.subscriptionIdentifier(id)] }, [['a', 0]]);
      assert.equal(subscribeOk(bytes, 5).subscriptionIdentifier, id);
    }
    assert.equal(subscribeOk(subscribeBytes({ version: 5 }, [['a', 0]]), 5).subscriptionIdentifier, undefined);
  });

  test('3.2.2.3.12 (5.0): a Subscription Identifier when the server does not support them: 0xA1', () => {
    const bytes = subscribeBytes({ version: 5, properties: [prop.subscriptionIdentifier(7)] }, [['a', 0]]);
    const caps = { ...FULL, subscriptionIdentifiersAvailable: false };
    assert.equal(subscribeRefused(bytes, 5, caps).reasonCode, PacketErrorCode.SubscriptionIdentifiersNotSupported);
    assert.equal(subscribeRefused(bytes, 5, INGEST_ONLY_CAPABILITIES).reasonCode, 0xa1);
  });

  test('MQTT-1.5.4-2 (5.0) / MQTT-1.5.3-2 (3.1.1), MQTT-4.7.3-2: a filter with U+0000 makes the packet malformed', () => {
    // The parser hands U+0000 over unchanged.
    assert.equal(parsedSubscribe(subscribeBytes({ version: 4 }, [['a/\u0000', 0]]), 4).subscriptions[0]!.topic, 'a/\u0000');
    for (const version of [4, 5] as const) {
      const refused = subscribeRefused(subscribeBytes({ version }, [['ok', 0], ['a/\u0000', 0]]), version);
      assert.equal(refused.reasonCode, PacketErrorCode.MalformedPacket);
    }
  });

  test('MQTT-3.8.3-4 (5.0): No Local on a shared subscription is a protocol error', () => {
    const refused = subscribeRefused(subscribeBytes({ version: 5 }, [['$share/g/a', 0x04]]), 5);
    assert.equal(refused.reasonCode, PacketErrorCode.ProtocolError);
    assert.match(refused.reason, /MQTT-3.8.3-4/);
    // No Local on an ordinary subscription is fine.
    assert.equal(subscribeOk(subscribeBytes({ version: 5 }, [['a', 0x04]]), 5).subscriptions[0]!.noLocal, true);
  });

  test('3.2.2.3.13 (5.0): a shared subscription when the server does not support them: 0x9E', () => {
    const bytes = subscribeBytes({ version: 5 }, [['a', 0], ['$share/g/a', 1]]);
    assert.equal(subscribeRefused(bytes, 5, { ...FULL, sharedSubscriptionAvailable: false }).reasonCode, PacketErrorCode.SharedSubscriptionsNotSupported);
    assert.equal(subscribeRefused(bytes, 5, INGEST_ONLY_CAPABILITIES).reasonCode, 0x9e);
  });

  test('3.2.2.3.11 (5.0): a wildcard filter when the server does not support them: 0xA2', () => {
    for (const filter of ['a/+', '#', 'a/#', '$share/g/+']) {
      const bytes = subscribeBytes({ version: 5 }, [['plain', 0], [filter, 0]]);
      assert.equal(
        subscribeRefused(bytes, 5, { ...FULL, wildcardSubscriptionAvailable: false }).reasonCode,
        PacketErrorCode.WildcardSubscriptionsNotSupported,
        filter,
      );
    }
  });
});

describe('SUBSCRIBE: per-filter answers and the request handed on', () => {
  test('MQTT-3.8.3-2 (3.1.1): a server without wildcard support refuses wildcard filters with 0x80, the rest stands', () => {
    const caps = { ...FULL, wildcardSubscriptionAvailable: false };
    const request = subscribeOk(subscribeBytes({ version: 4 }, [['a/+', 1], ['b', 2], ['c/#', 0]]), 4, caps);
    assert.deepEqual([...request.refused], [[0, SubackCode.UnspecifiedError], [2, SubackCode.UnspecifiedError]]);
    assert.equal(request.subscriptions.length, 3);
    assert.equal(request.subscriptions[1]!.topicFilter.filter, 'b');
  });

  test('MQTT-4.7.1-2/-3 (3.1.1) / MQTT-4.7.1-1/-2 (5.0), MQTT-4.7.3-1: an invalid filter alone gets 0x8F (5.0) / 0x80 (3.1.1)', () => {
    const pairs: Array<[string, number]> = [['ok/+', 0], ['a/#/b', 1], ['', 1], ['sport+', 2], ['fine/#', 2]];
    const v5 = subscribeOk(subscribeBytes({ version: 5 }, pairs), 5);
    assert.deepEqual([...v5.refused], [[1, 0x8f], [2, 0x8f], [3, 0x8f]]);
    assert.deepEqual(v5.subscriptions[1]!.topicFilter, { filter: 'a/#/b', shareGroup: undefined, wildcard: false });
    const v4 = subscribeOk(subscribeBytes({ version: 4 }, pairs), 4);
    assert.deepEqual([...v4.refused], [[1, 0x80], [2, 0x80], [3, 0x80]]);
    assert.deepEqual(
      v4.subscriptions.map((s) => s.topicFilter.filter),
      pairs.map(([f]) => f),
    );
  });

  test('MQTT-4.8.2-1/-2 (5.0): an invalid shared subscription filter alone gets 0x8F', () => {
    const request = subscribeOk(subscribeBytes({ version: 5 }, [['$share//a', 0], ['$share/g', 0], ['$share/g+/a', 0], ['$share/g/a', 1]]), 5);
    assert.deepEqual([...request.refused], [[0, 0x8f], [1, 0x8f], [2, 0x8f]]);
    assert.deepEqual(request.subscriptions[3]!.topicFilter, { filter: 'a', shareGroup: 'g', wildcard: false });
  });

  test('MQTT-3.9.3-1: subscriptions are handed on in packet order, one per filter', () => {
    const topics = ['z', 'a', 'm/+', '#', 'b/#'];
    const request = subscribeOk(subscribeBytes({ version: 4, packetId: 4242 }, topics.map((t, i) => [t, i % 3])), 4);
    assert.equal(request.packetId, 4242);
    assert.deepEqual(request.subscriptions.map((s) => [s.topicFilter.filter, s.qos]), topics.map((t, i) => [t, i % 3]));
    assert.equal(request.refused.size, 0);
  });

  test('3.8.3.1 (5.0): No Local, Retain As Published and Retain Handling are read from the options byte', () => {
    const pairs: Array<[string, number]> = [['a', 0x2d], ['b', 0x1a], ['c', 0x00], ['d', 0x06]];
    const request = subscribeOk(subscribeBytes({ version: 5 }, pairs), 5);
    assert.deepEqual(
      request.subscriptions.map(({ qos, noLocal, retainAsPublished, retainHandling }) => ({ qos, noLocal, retainAsPublished, retainHandling })),
      [
        { qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        { qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 1 },
        { qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        { qos: 2, noLocal: true, retainAsPublished: false, retainHandling: 0 },
      ],
    );
  });

  test('3.1.1 has only the requested QoS: No Local / Retain As Published false, Retain Handling 0', () => {
    const request = subscribeOk(subscribeBytes({ version: 4 }, [['a', 2]]), 4);
    assert.deepEqual(request.subscriptions[0], {
      topicFilter: { filter: 'a', shareGroup: undefined, wildcard: false },
      qos: 2,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    });
    assert.equal(request.subscriptionIdentifier, undefined);
    assert.equal(request.userProperties, undefined);
  });

  test('3.1.1: $share/... is an ordinary filter, not a shared subscription', () => {
    const request = subscribeOk(subscribeBytes({ version: 4 }, [['$share/g/a', 0x01]]), 4, { ...FULL, sharedSubscriptionAvailable: false });
    assert.deepEqual(request.subscriptions[0]!.topicFilter, { filter: '$share/g/a', shareGroup: undefined, wildcard: false });
  });

  test('MQTT-3.2.2-10: a requested QoS above the server maximum is still accepted (the server grants less)', () => {
    const request = subscribeOk(subscribeBytes({ version: 5 }, [['a', 2]]), 5, { ...FULL, maximumQoS: 0 });
    assert.equal(request.subscriptions[0]!.qos, 2);
    assert.equal(request.refused.size, 0);
  });

  test('3.8.2.1.3 (5.0): User Properties are handed on, repeated names as a list', () => {
    const bytes = subscribeBytes({ version: 5, properties: [prop.user('a', '1'), prop.user('b', '2'), prop.user('a', '3')] }, [['t', 0]]);
    assert.deepEqual({ ...subscribeOk(bytes, 5).userProperties }, { a: ['1', '3'], b: '2' });
  });

  test('capabilities that are available let everything through', () => {
    const bytes = subscribeBytes({ version: 5, properties: [prop.subscriptionIdentifier(9)] }, [['$share/g/x/#', 1], ['y/+', 2]]);
    const request = subscribeOk(bytes, 5, FULL);
    assert.equal(request.refused.size, 0);
    assert.equal(request.subscriptionIdentifier, 9);
    assert.deepEqual(request.subscriptions[0]!.topicFilter, { filter: 'x/#', shareGroup: 'g', wildcard: true });
  });

  test('a packet built without the parser gets the same answers for what the parser would have refused', () => {
    const base = { cmd: 'subscribe' as const, messageId: 1 };
    const qos3 = validateSubscribe({ ...base, subscriptions: [{ topic: 'a', qos: 3 as 0 }] }, 5, FULL);
    assert.deepEqual(qos3.ok ? 'ok' : qos3.reasonCode, PacketErrorCode.ProtocolError);
    const qos3v4 = validateSubscribe({ ...base, subscriptions: [{ topic: 'a', qos: 3 as 0 }] }, 4, FULL);
    assert.deepEqual(qos3v4.ok ? 'ok' : qos3v4.reasonCode, PacketErrorCode.MalformedPacket);
    const rh3 = validateSubscribe({ ...base, subscriptions: [{ topic: 'a', qos: 0, rh: 3 }] }, 5, FULL);
    assert.deepEqual(rh3.ok ? 'ok' : rh3.reasonCode, PacketErrorCode.ProtocolError);
    const noId = validateSubscribe({ cmd: 'subscribe', subscriptions: [{ topic: 'a', qos: 0 }] }, 4, FULL);
    assert.deepEqual(noId.ok ? 'ok' : noId.reasonCode, PacketErrorCode.ProtocolError);
  });
});

describe('UNSUBSCRIBE', () => {
  test('MQTT-3.10.1-1: fixed header flags other than 0010 are refused by the parser', () => {
    for (const header of [0xa0, 0xa3]) assert.match(String(parse(unsubscribeBytes({ version: 4, header }, ['a']), 4)), /^error: Invalid header flag bits/);
  });

  test('MQTT-2.3.1-1 (3.1.1) / MQTT-2.2.1-3 (5.0): packet identifier 0 is refused', () => {
    assert.equal(unsubscribeRefused(unsubscribeBytes({ version: 4, packetId: 0 }, ['a']), 4), PacketErrorCode.ProtocolError);
    assert.equal(unsubscribeRefused(unsubscribeBytes({ version: 5, packetId: 0 }, ['a']), 5), PacketErrorCode.ProtocolError);
  });

  test('MQTT-3.10.3-2: an UNSUBSCRIBE must contain at least one filter', () => {
    assert.equal(unsubscribeRefused(unsubscribeBytes({ version: 4 }, []), 4), PacketErrorCode.ProtocolError);
    assert.equal(unsubscribeRefused(unsubscribeBytes({ version: 5 }, []), 5), PacketErrorCode.ProtocolError);
  });

  test('3.10.2.1 (5.0): a property other than User Property makes UNSUBSCRIBE malformed', () => {
    for (const p of [prop.subscriptionIdentifier(3), prop.reasonString('x')]) {
      assert.equal(unsubscribeRefused(unsubscribeBytes({ version: 5, properties: [p] }, ['a']), 5), PacketErrorCode.MalformedPacket);
    }
    const request = unsubscribeOk(unsubscribeBytes({ version: 5, properties: [prop.user('k', 'v')] }, ['a']), 5);
    assert.deepEqual({ ...request.userProperties }, { k: 'v' });
  });

  test('MQTT-1.5.4-2 / MQTT-4.7.3-2: a filter with U+0000 makes the packet malformed', () => {
    for (const version of [4, 5] as const) {
      assert.equal(unsubscribeRefused(unsubscribeBytes({ version }, ['a', '\u0000']), version), PacketErrorCode.MalformedPacket);
    }
  });

  test('MQTT-3.11.3-1: filters are handed on in packet order; an invalid one gets 0x8F, shared ones are parsed', () => {
    const topics = ['a/+', 'x/#/y', '$share/g/b/#', '', 'c'];
    const v5 = unsubscribeOk(unsubscribeBytes({ version: 5, packetId: 77 }, topics), 5);
    assert.equal(v5.packetId, 77);
    assert.deepEqual([...v5.refused], [[1, UnsubackCode.TopicFilterInvalid], [3, UnsubackCode.TopicFilterInvalid]]);
    assert.deepEqual(v5.topicFilters, [
      { filter: 'a/+', shareGroup: undefined, wildcard: true },
      { filter: 'x/#/y', shareGroup: undefined, wildcard: false },
      { filter: 'b/#', shareGroup: 'g', wildcard: true },
      { filter: '', shareGroup: undefined, wildcard: false },
      { filter: 'c', shareGroup: undefined, wildcard: false },
    ]);
    const v4 = unsubscribeOk(unsubscribeBytes({ version: 4 }, topics), 4);
    assert.deepEqual(v4.topicFilters[2], { filter: '$share/g/b/#', shareGroup: undefined, wildcard: true });
    assert.equal(v4.userProperties, undefined);
  });
});
