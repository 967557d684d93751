// Server -> client PUBLISH state, named after the normative statements of MQTT 5.0 (OASIS 2019)
// and 3.1.1 (OASIS 2014) it implements. Every packet the window returns is also encoded by
// mqtt-packet here, so what is asserted is what would go on the wire.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { OutboundWindow, type OutboundMessage, type OutboundWindowOptions } from '../../src/mqtt/outbound-window.js';
import type { QoS } from '../../src/mqtt/types.js';

const DEFAULTS: OutboundWindowOptions = { receiveMaximum: 65_535, maximumPacketSize: undefined, topicAliasMaximum: 0, protocolVersion: 5, maxQueued: 100 };

function windowWith(options: Partial<OutboundWindowOptions> = {}): OutboundWindow {
  return new OutboundWindow({ ...DEFAULTS, ...options });
}

let counter = 0;
function msg(qos: QoS, topic = 't', extra: Partial<OutboundMessage> = {}): OutboundMessage {
  counter++;
  return { topic, payload: Buffer.from(`m${counter}`), qos, retain: false, token: counter, ...extra };
}

function encode(packets: readonly Packet[], version: 4 | 5 = 5): Buffer[] {
  return packets.map((p) => mqttPacket.generate(p, { protocolVersion: version }));
}

function publishes(packets: readonly Packet[]): IPublishPacket[] {
  return packets.map((p) => {
    assert.equal(p.cmd, 'publish');
    return p as IPublishPacket;
  });
}

function one(packets: readonly Packet[]): IPublishPacket {
  assert.equal(packets.length, 1);
  return publishes(packets)[0]!;
}

describe('sending', () => {
  test('MQTT-4.3.1-1, MQTT-3.3.1-2: QoS 0 goes at once with DUP 0 and no packet identifier', () => {
    const w = windowWith();
    const m = msg(0, 'a/b', { retain: true });
    const { outcome, packets } = w.offer(m);
    assert.equal(outcome, 'sent');
    const p = one(packets);
    assert.deepEqual([p.topic, p.qos, p.dup, p.retain, p.messageId, p.payload], ['a/b', 0, false, true, undefined, m.payload]);
    assert.equal(w.inflight, 0);
    encode(packets);
  });

  test('MQTT-2.2.1-4, MQTT-4.3.2-1/-2: QoS 1 gets a non-zero unused packet identifier and DUP 0', () => {
    const w = windowWith();
    const ids = [1, 2, 3].map(() => one(w.offer(msg(1)).packets));
    assert.deepEqual(ids.map((p) => [p.qos, p.dup]), [[1, false], [1, false], [1, false]]);
    assert.equal(new Set(ids.map((p) => p.messageId)).size, 3);
    assert.ok(ids.every((p) => p.messageId! >= 1 && p.messageId! <= 65_535));
    assert.equal(w.inflight, 3);
  });

  test('MQTT-4.3.3-1/-2: QoS 2 gets a non-zero unused packet identifier and DUP 0', () => {
    const w = windowWith();
    const a = one(w.offer(msg(2)).packets);
    const b = one(w.offer(msg(2)).packets);
    assert.deepEqual([a.qos, a.dup, b.qos, b.dup], [2, false, 2, false]);
    assert.notEqual(a.messageId, b.messageId);
  });

  test('MQTT-3.3.4-9, MQTT-4.9.0-2: no more than Receive Maximum QoS 1 and 2 in flight; the rest wait in order', () => {
    const w = windowWith({ receiveMaximum: 2 });
    const first = one(w.offer(msg(1)).packets);
    one(w.offer(msg(2)).packets);
    const third = msg(1);
    const fourth = msg(2);
    assert.deepEqual(w.offer(third), { outcome: 'queued', packets: [] });
    assert.equal(w.offer(fourth).outcome, 'queued');
    assert.deepEqual([w.inflight, w.queued], [2, 2]);
    const freed = w.onPuback(first.messageId!);
    assert.equal(freed.error, undefined);
    assert.equal(one(freed.packets).payload, third.payload, 'the oldest waiting message goes first');
    assert.deepEqual([w.inflight, w.queued], [2, 1]);
  });

  test('4.9: QoS 0 may still be sent while the window is full', () => {
    const w = windowWith({ receiveMaximum: 1 });
    w.offer(msg(1));
    assert.equal(w.offer(msg(1)).outcome, 'queued');
    assert.equal(w.offer(msg(0)).outcome, 'sent');
  });

  test('MQTT-4.6.0-6: QoS 1 and 2 leave in the order offered, also when queued behind the window', () => {
    const w = windowWith({ receiveMaximum: 1 });
    const offered = [msg(1), msg(2), msg(1), msg(2), msg(1)];
    const sent: Buffer[] = [];
    let pending = one(w.offer(offered[0]!).packets);
    sent.push(pending.payload as Buffer);
    for (const m of offered.slice(1)) assert.equal(w.offer(m).outcome, 'queued');
    while (sent.length < offered.length) {
      let result = pending.qos === 1 ? w.onPuback(pending.messageId!) : w.onPubrec(pending.messageId!);
      if (pending.qos === 2) {
        assert.equal(result.packets[0]!.cmd, 'pubrel');
        result = w.onPubcomp(pending.messageId!);
      }
      pending = one(result.packets);
      sent.push(pending.payload as Buffer);
    }
    assert.deepEqual(sent, offered.map((m) => m.payload));
  });

  test('maxQueued bounds the queue: past it a QoS 1/2 offer is refused with queue-full and nothing changes', () => {
    const w = windowWith({ receiveMaximum: 1, maxQueued: 2 });
    w.offer(msg(1));
    assert.equal(w.offer(msg(1)).outcome, 'queued');
    assert.equal(w.offer(msg(2)).outcome, 'queued');
    assert.deepEqual(w.offer(msg(1)), { outcome: 'queue-full', packets: [] });
    assert.deepEqual([w.inflight, w.queued], [1, 2]);
  });

  test('maxQueued 0: nothing waits', () => {
    const w = windowWith({ receiveMaximum: 1, maxQueued: 0 });
    assert.equal(w.offer(msg(1)).outcome, 'sent');
    assert.equal(w.offer(msg(1)).outcome, 'queue-full');
  });

  test('maxInflight: the server may allow fewer in flight than the client (MQTT-4.9.0-1)', () => {
    const w = windowWith({ receiveMaximum: 100, maxInflight: 2 });
    assert.deepEqual([w.offer(msg(1)).outcome, w.offer(msg(1)).outcome, w.offer(msg(1)).outcome], ['sent', 'sent', 'queued']);
  });

  test('options the protocol does not allow are refused', () => {
    for (const bad of [
      { receiveMaximum: 0 },
      { receiveMaximum: 65_536 },
      { maximumPacketSize: 0 },
      { topicAliasMaximum: -1 },
      { topicAliasMaximum: 65_536 },
      { maxQueued: -1 },
      { maxInflight: 0 },
      { maxInflight: 40_000 },
    ]) {
      assert.throws(() => windowWith(bad), RangeError, JSON.stringify(bad));
    }
  });
});

describe('socket backpressure', () => {
  test('not writable: nothing new is released, QoS 0 included; writable again: all of it in the order offered', () => {
    const w = windowWith({ receiveMaximum: 10 });
    assert.deepEqual(w.setWritable(false), []);
    assert.equal(w.writable, false);
    const offered = [msg(0), msg(1), msg(0), msg(2), msg(0)];
    for (const m of offered) assert.equal(w.offer(m).outcome, 'queued');
    const released = publishes(w.setWritable(true));
    assert.deepEqual(released.map((p) => p.payload), offered.map((m) => m.payload));
    assert.equal(w.queued, 0);
  });

  test('not writable and the queue full: QoS 0 is dropped with queue-full', () => {
    const w = windowWith({ maxQueued: 1 });
    w.setWritable(false);
    assert.equal(w.offer(msg(0)).outcome, 'queued');
    assert.equal(w.offer(msg(0)).outcome, 'queue-full');
  });

  test('writable again with the window full: QoS 0 waiting behind a QoS 1 goes, the QoS 1 waits for the window', () => {
    const w = windowWith({ receiveMaximum: 1 });
    const inflight = one(w.offer(msg(1)).packets);
    w.setWritable(false);
    const q1 = msg(1);
    const q0 = msg(0);
    w.offer(q1);
    w.offer(q0);
    assert.deepEqual(publishes(w.setWritable(true)).map((p) => p.payload), [q0.payload]);
    assert.deepEqual(publishes(w.onPuback(inflight.messageId!).packets).map((p) => p.payload), [q1.payload]);
  });

  test('MQTT-3.3.4-10, MQTT-4.9.0-3: PUBREL is not held back, neither by a full window nor by a blocked socket', () => {
    const w = windowWith({ receiveMaximum: 1 });
    const p = one(w.offer(msg(2)).packets);
    w.offer(msg(2));
    w.setWritable(false);
    const rec = w.onPubrec(p.messageId!);
    assert.deepEqual(rec.packets, [{ cmd: 'pubrel', messageId: p.messageId, reasonCode: 0 }]);
    assert.deepEqual(w.onPubcomp(p.messageId!).packets, [], 'the queued PUBLISH waits for the socket');
    assert.equal(one(w.setWritable(true)).qos, 2);
  });
});

describe('acknowledgements', () => {
  test('MQTT-4.3.2-3: QoS 1 is unacknowledged until PUBACK; PUBACK hands the message back once', () => {
    const w = windowWith();
    const m = msg(1);
    const p = one(w.offer(m).packets);
    const ack = w.onPuback(p.messageId!);
    assert.deepEqual({ ...ack, packets: [...ack.packets] }, { acknowledged: m, reasonCode: 0, packets: [], error: undefined });
    assert.equal(w.inflight, 0);
    const again = w.onPuback(p.messageId!);
    assert.equal(again.acknowledged, undefined);
    assert.match(again.error!, /PUBACK for packet identifier/);
  });

  test('4.9: a PUBACK with an error code still ends the flow and frees the window', () => {
    const w = windowWith({ receiveMaximum: 1 });
    const m = msg(1);
    const p = one(w.offer(m).packets);
    const next = msg(1);
    w.offer(next);
    const ack = w.onPuback(p.messageId!, 0x87);
    assert.equal(ack.acknowledged, m);
    assert.equal(ack.reasonCode, 0x87);
    assert.equal(one(ack.packets).payload, next.payload);
  });

  test('MQTT-4.3.3-3/-4/-5: QoS 2: PUBREC answered with PUBREL of the same identifier; the window slot is held until PUBCOMP', () => {
    const w = windowWith({ receiveMaximum: 1 });
    const m = msg(2);
    const p = one(w.offer(m).packets);
    const next = msg(1);
    w.offer(next);
    const rec = w.onPubrec(p.messageId!);
    assert.deepEqual({ ...rec, packets: [...rec.packets] }, {
      acknowledged: undefined,
      reasonCode: 0,
      packets: [{ cmd: 'pubrel', messageId: p.messageId, reasonCode: 0 }],
      error: undefined,
      released: m,
    });
    assert.equal(w.inflight, 1);
    assert.deepEqual(w.snapshot().map((e) => e.state), ['released', 'queued']);
    const comp = w.onPubcomp(p.messageId!);
    assert.equal(comp.acknowledged, m);
    assert.equal(one(comp.packets).payload, next.payload);
    encode(rec.packets);
  });

  test('MQTT-4.3.3-4, MQTT-4.4.0-2: a PUBREC >= 0x80 ends the QoS 2 flow: no PUBREL, acknowledged, window freed', () => {
    const w = windowWith({ receiveMaximum: 1 });
    const m = msg(2);
    const p = one(w.offer(m).packets);
    const next = msg(2);
    w.offer(next);
    const rec = w.onPubrec(p.messageId!, 0x97);
    assert.equal(rec.acknowledged, m);
    assert.equal(rec.reasonCode, 0x97);
    assert.deepEqual(publishes(rec.packets).map((x) => x.payload), [next.payload], 'the next message, and no PUBREL');
    assert.match(w.onPubcomp(p.messageId!).error!, /PUBCOMP/);
    assert.equal(w.resume().packets.some((x) => x.messageId === p.messageId && (x as IPublishPacket).payload === m.payload), false);
  });

  test('a duplicate PUBREC is answered with PUBREL again', () => {
    const w = windowWith();
    const p = one(w.offer(msg(2)).packets);
    w.onPubrec(p.messageId!);
    const again = w.onPubrec(p.messageId!);
    assert.equal(again.error, undefined);
    assert.deepEqual(again.packets, [{ cmd: 'pubrel', messageId: p.messageId, reasonCode: 0 }]);
  });

  test('3.6.2.1 (5.0): a PUBREC for an identifier not in flight gets PUBREL 0x92 (3.1.1: a plain PUBREL)', () => {
    const v5 = windowWith().onPubrec(4711);
    assert.deepEqual(v5.packets, [{ cmd: 'pubrel', messageId: 4711, reasonCode: 0x92 }]);
    assert.match(v5.error!, /PUBREC/);
    assert.equal(encode(v5.packets)[0]!.length, 6, 'identifier, reason code and empty properties');
    const v4 = windowWith({ protocolVersion: 4 }).onPubrec(4711);
    assert.deepEqual(encode(v4.packets, 4)[0], Buffer.from([0x62, 0x02, 0x12, 0x67]));
  });

  test('acknowledgements that do not fit the flow are reported, not applied', () => {
    const w = windowWith();
    const q1 = one(w.offer(msg(1)).packets);
    const q2 = one(w.offer(msg(2)).packets);
    for (const [result, kind] of [
      [w.onPuback(q2.messageId!), 'PUBACK'],
      [w.onPubcomp(q2.messageId!), 'PUBCOMP'],
      [w.onPubrec(q1.messageId!), 'PUBREC'],
      [w.onPubcomp(q1.messageId!), 'PUBCOMP'],
      [w.onPuback(9999), 'PUBACK'],
      [w.onPubcomp(9999), 'PUBCOMP'],
      [w.onPuback(0), 'PUBACK'],
    ] as const) {
      assert.equal(result.acknowledged, undefined, kind);
      assert.ok(result.error?.startsWith(kind), result.error);
      assert.deepEqual(result.packets, [], kind);
    }
    assert.equal(w.inflight, 2, 'both still in flight');
  });
});

describe('packet identifiers', () => {
  test('MQTT-2.2.1-4: identifiers wrap after 65,535 and never reuse one still in use', () => {
    const w = windowWith();
    const stuck = one(w.offer(msg(1)).packets).messageId!; // never acknowledged
    assert.equal(stuck, 1);
    let last = stuck;
    for (let i = 0; i < 70_000; i++) {
      const id = one(w.offer(msg(1)).packets).messageId!;
      assert.notEqual(id, stuck);
      assert.ok(id >= 1 && id <= 65_535);
      assert.equal(w.onPuback(id).error, undefined);
      last = id;
    }
    assert.ok(last < 70_000 - 65_535 + 3, 'wrapped around');
    assert.equal(w.inflight, 1);
  });

  test('identifiers are given in turn, so a freed one is not reused at once', () => {
    const w = windowWith();
    const a = one(w.offer(msg(1)).packets).messageId!;
    w.onPuback(a);
    assert.notEqual(one(w.offer(msg(1)).packets).messageId, a);
  });
});

describe('Maximum Packet Size', () => {
  test('MQTT-3.1.2-24/-25 (5.0): a PUBLISH larger than the client allows is not sent, and takes no identifier', () => {
    const small = msg(1, 't', { payload: Buffer.alloc(10) });
    const size = encode(windowWith().offer(small).packets)[0]!.length;
    const w = windowWith({ maximumPacketSize: size });
    assert.equal(w.offer(small).outcome, 'sent', 'exactly the maximum is allowed');
    const big = msg(1, 't', { payload: Buffer.alloc(11) });
    assert.deepEqual(w.offer(big), { outcome: 'too-large', packets: [] });
    assert.equal(w.offer(msg(0, 't', { payload: Buffer.alloc(13) })).outcome, 'too-large');
    assert.equal(w.offer(msg(0, 't', { payload: Buffer.alloc(12) })).outcome, 'sent', 'QoS 0 has no identifier: 2 bytes fewer');
    assert.deepEqual([w.inflight, w.queued], [1, 0]);
    assert.equal(one(w.offer(msg(1, 't', { payload: Buffer.alloc(0) })).packets).messageId, 2, 'no identifier went to the skipped one');
  });

  test('MQTT-3.1.2-24: properties count, subscription identifiers included; 3.1.1 has none', () => {
    const properties = { userProperties: { k: 'v'.repeat(50) }, subscriptionIdentifiers: [300] };
    const m = msg(0, 't', { payload: Buffer.alloc(10), properties });
    const size = encode(windowWith().offer(m).packets)[0]!.length;
    assert.equal(windowWith({ maximumPacketSize: size - 1 }).offer(m).outcome, 'too-large');
    assert.equal(windowWith({ maximumPacketSize: size }).offer(m).outcome, 'sent');
    assert.equal(windowWith({ maximumPacketSize: 20, protocolVersion: 4 }).offer(m).outcome, 'sent');
  });

  test('a size beyond any MQTT packet is too large even without a client maximum', () => {
    const huge = { topic: 't', payload: { length: 268_435_455 } as Buffer, qos: 0 as const, retain: false };
    assert.equal(windowWith().offer(huge).outcome, 'too-large');
  });
});

describe('topic aliases (server -> client)', () => {
  test('MQTT-3.1.2-27 (5.0): no aliases when the client allows none', () => {
    const w = windowWith({ topicAliasMaximum: 0 });
    for (let i = 0; i < 3; i++) assert.equal(one(w.offer(msg(0, 'a/b')).packets).properties, undefined);
  });

  test('MQTT-3.3.2-8/-11: the first distinct topics get aliases 1..max, never 0, never above the maximum; then the alias replaces the topic', () => {
    const w = windowWith({ topicAliasMaximum: 2 });
    const sent = ['a', 'b', 'c', 'a', 'b', 'c', 'a'].map((t) => one(w.offer(msg(0, t)).packets));
    assert.deepEqual(
      sent.map((p) => [p.topic, p.properties?.topicAlias]),
      [['a', 1], ['b', 2], ['c', undefined], ['', 1], ['', 2], ['c', undefined], ['', 1]],
    );
    encode(sent);
  });

  test('a client resolving the aliases gets every topic back (QoS 0, 1 and 2, with other properties)', () => {
    const w = windowWith({ topicAliasMaximum: 3 });
    const topics = ['devices/1/cmd', 'devices/2/cmd', 'x', 'devices/1/cmd', 'y', 'z', 'x', 'devices/2/cmd'];
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const aliases = new Map<number, string>();
    const seen: string[] = [];
    parser.on('packet', (p: Packet) => {
      const pub = p as IPublishPacket;
      const alias = pub.properties?.topicAlias;
      if (alias !== undefined && pub.topic !== '') aliases.set(alias, pub.topic);
      seen.push(pub.topic === '' ? aliases.get(alias!)! : pub.topic);
    });
    topics.forEach((t, i) => {
      for (const bytes of encode(w.offer(msg((i % 3) as QoS, t, { properties: { contentType: 'text/plain' } })).packets)) parser.parse(bytes);
    });
    assert.deepEqual(seen, topics);
  });

  test('3.1.1 has no topic aliases, whatever the options say', () => {
    const w = windowWith({ protocolVersion: 4, topicAliasMaximum: 10 });
    w.offer(msg(0, 'a'));
    const p = one(w.offer(msg(0, 'a')).packets);
    assert.deepEqual([p.topic, p.properties], ['a', undefined]);
  });

  test('MQTT-3.1.2-24: an alias is left out when it would make the packet too large', () => {
    const base = msg(0, 'ab', { payload: Buffer.alloc(10) });
    const size = encode(windowWith().offer(base).packets)[0]!.length;
    const w = windowWith({ topicAliasMaximum: 5, maximumPacketSize: size });
    const first = one(w.offer(base).packets);
    assert.deepEqual([first.topic, first.properties?.topicAlias], ['ab', undefined], 'topic + alias would be 3 bytes over');
    assert.ok(encode([first])[0]!.length <= size);
    // With room for it, the alias is set once and used after: an empty topic + alias is 1 byte more than "ab" here.
    const roomy = windowWith({ topicAliasMaximum: 5, maximumPacketSize: size + 3 });
    assert.equal(one(roomy.offer(base).packets).properties?.topicAlias, 1);
    const reused = one(roomy.offer(msg(0, 'ab', { payload: Buffer.alloc(10) })).packets);
    assert.deepEqual([reused.topic, reused.properties?.topicAlias], ['', 1]);
  });
});
