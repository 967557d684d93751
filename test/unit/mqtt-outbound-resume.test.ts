// Resuming a session on a new connection, and the snapshot a session store would keep.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket, { type IPublishPacket, type IPubrelPacket, type Packet } from 'mqtt-packet';
import { OutboundWindow, type OutboundMessage, type OutboundWindowOptions } from '../../src/mqtt/outbound-window.js';
import type { QoS } from '../../src/mqtt/types.js';

const DEFAULTS: OutboundWindowOptions = { receiveMaximum: 65_535, maximumPacketSize: undefined, topicAliasMaximum: 0, protocolVersion: 5, maxQueued: 100 };

let counter = 0;
function msg(qos: QoS, topic = 't', payloadSize?: number): OutboundMessage {
  counter++;
  return { topic, payload: payloadSize === undefined ? Buffer.from(`m${counter}`) : Buffer.alloc(payloadSize, counter), qos, retain: false, token: counter };
}

function sent(w: OutboundWindow, m: OutboundMessage): IPublishPacket {
  const { outcome, packets } = w.offer(m);
  assert.equal(outcome, 'sent');
  assert.equal(packets.length, 1);
  return packets[0] as IPublishPacket;
}

type Brief = [cmd: string, messageId: number | undefined, dup?: boolean, topic?: string];
function brief(packets: readonly Packet[]): Brief[] {
  return packets.map((p) =>
    p.cmd === 'publish' ? ['publish', p.messageId, p.dup, p.topic] : [p.cmd, (p as IPubrelPacket).messageId],
  );
}

describe('resume', () => {
  test('MQTT-4.4.0-1, MQTT-3.3.1-1, MQTT-4.6.0-1: unacknowledged PUBLISHes again with DUP=1, original identifiers, original order; PUBREL for released ones', () => {
    const w = new OutboundWindow({ ...DEFAULTS });
    const a = sent(w, msg(1, 'a'));
    const b = sent(w, msg(2, 'b'));
    const cMessage = msg(2, 'c');
    const c = sent(w, cMessage);
    const d = sent(w, msg(1, 'd'));
    const e = sent(w, msg(1, 'e'));
    w.onPuback(d.messageId!);
    w.onPubrec(c.messageId!);
    const { packets, discarded } = w.resume();
    assert.deepEqual(discarded, []);
    assert.deepEqual(brief(packets), [
      ['pubrel', c.messageId],
      ['publish', a.messageId, true, 'a'],
      ['publish', b.messageId, true, 'b'],
      ['publish', e.messageId, true, 'e'],
    ]);
    for (const p of packets) mqttPacket.generate(p, { protocolVersion: 5 });
    // The flows then complete as usual.
    assert.equal(w.onPubcomp(c.messageId!).acknowledged, cMessage);
    assert.equal(w.onPuback(a.messageId!).error, undefined);
    assert.equal(w.onPubrec(b.messageId!).packets[0]!.cmd, 'pubrel');
    assert.equal(w.inflight, 2, 'b released, e sent');
  });

  test('MQTT-4.3.3-6: a QoS 2 message past PUBREC is never sent as PUBLISH again', () => {
    const w = new OutboundWindow({ ...DEFAULTS });
    const p = sent(w, msg(2));
    w.onPubrec(p.messageId!);
    for (let i = 0; i < 3; i++) assert.deepEqual(brief(w.resume().packets), [['pubrel', p.messageId]]);
  });

  test('MQTT-4.6.0-4: PUBRELs are resent in the order their PUBRECs arrived', () => {
    const w = new OutboundWindow({ ...DEFAULTS });
    const ids = [1, 2, 3].map(() => sent(w, msg(2)).messageId!);
    for (const id of [ids[2]!, ids[0]!, ids[1]!]) w.onPubrec(id);
    assert.deepEqual(brief(w.resume().packets), [['pubrel', ids[2]], ['pubrel', ids[0]], ['pubrel', ids[1]]]);
  });

  test('MQTT-3.3.2-7: topic aliases are forgotten: resends carry their topic, new aliases start again at 1', () => {
    const w = new OutboundWindow({ ...DEFAULTS, topicAliasMaximum: 2 });
    const first = sent(w, msg(1, 'x'));
    const second = sent(w, msg(1, 'x'));
    assert.deepEqual([first.properties?.topicAlias, second.topic, second.properties?.topicAlias], [1, '', 1]);
    const { packets } = w.resume();
    assert.deepEqual(
      packets.map((p) => [(p as IPublishPacket).topic, (p as IPublishPacket).properties?.topicAlias]),
      [['x', undefined], ['x', undefined]],
    );
    const after = sent(w, msg(0, 'y'));
    assert.deepEqual([after.topic, after.properties?.topicAlias], ['y', 1]);
    const x = sent(w, msg(0, 'x'));
    assert.deepEqual([x.topic, x.properties?.topicAlias], ['x', 2], 'x must be set up again on the new connection');
  });

  test('MQTT-3.3.4-9: a smaller Receive Maximum on the new connection holds back the rest of the resends, in order', () => {
    const w = new OutboundWindow({ ...DEFAULTS, receiveMaximum: 10 });
    const ids = [0, 1, 2, 3].map(() => sent(w, msg(1)).messageId!);
    const queued = msg(1);
    w.setWritable(false);
    w.offer(queued);
    const { packets } = w.resume({ receiveMaximum: 2 });
    assert.deepEqual(brief(packets), [['publish', ids[0], true, 't'], ['publish', ids[1], true, 't']]);
    assert.deepEqual(brief(w.onPuback(ids[1]!).packets), [['publish', ids[2], true, 't']]);
    assert.deepEqual(brief(w.onPuback(ids[0]!).packets), [['publish', ids[3], true, 't']]);
    const next = w.onPuback(ids[2]!).packets;
    assert.deepEqual(brief(next).map(([cmd, , dup]) => [cmd, dup]), [['publish', false]], 'then the queued message, new');
    assert.equal((next[0] as IPublishPacket).payload, queued.payload);
  });

  test('an acknowledgement for a message still waiting to be resent ends its flow', () => {
    const w = new OutboundWindow({ ...DEFAULTS, receiveMaximum: 5 });
    const ids = [0, 1, 2].map(() => sent(w, msg(1)).messageId!);
    const q2 = sent(w, msg(2)).messageId!;
    w.resume({ receiveMaximum: 1 });
    assert.ok(w.onPuback(ids[2]!).acknowledged, 'the client had it from the first connection');
    assert.deepEqual(brief(w.onPubrec(q2).packets), [['pubrel', q2]]);
    assert.deepEqual(brief(w.onPubcomp(q2).packets), []);
    assert.deepEqual(brief(w.onPuback(ids[0]!).packets), [['publish', ids[1], true, 't']], 'the one acknowledged meanwhile is skipped');
  });

  test('MQTT-3.1.2-25: a smaller Maximum Packet Size drops what no longer fits, in flight or queued, and reports it', () => {
    const w = new OutboundWindow({ ...DEFAULTS, receiveMaximum: 1 });
    const big = msg(1, 't', 100);
    const small = msg(1, 't', 1);
    const bigQueued = msg(0, 't', 100);
    const id = sent(w, big).messageId!;
    w.offer(small);
    w.setWritable(false);
    w.offer(bigQueued);
    const { packets, discarded } = w.resume({ maximumPacketSize: 50 });
    assert.deepEqual(discarded, [big, bigQueued]);
    assert.equal(w.onPuback(id).error !== undefined, true, 'its identifier is free');
    assert.deepEqual(brief(packets).map(([cmd, , dup]) => [cmd, dup]), [['publish', false]]);
    assert.equal((packets[0] as IPublishPacket).payload, small.payload);
  });

  test('the socket of the new connection is writable; QoS 0 queued before is sent once', () => {
    const w = new OutboundWindow({ ...DEFAULTS });
    w.setWritable(false);
    const q0 = msg(0);
    w.offer(q0);
    const { packets } = w.resume();
    assert.equal(w.writable, true);
    assert.deepEqual(packets.map((p) => (p as IPublishPacket).payload), [q0.payload]);
    assert.equal((packets[0] as IPublishPacket).dup, false, 'MQTT-3.3.1-2: never DUP for QoS 0');
    assert.deepEqual(w.resume().packets, []);
  });

  test('resuming as 3.1.1 drops MQTT 5 properties and aliases from the resends', () => {
    const w = new OutboundWindow({ ...DEFAULTS, topicAliasMaximum: 5 });
    const m: OutboundMessage = { ...msg(1, 'p'), properties: { contentType: 'text/plain' } };
    sent(w, m);
    const { packets } = w.resume({ protocolVersion: 4 });
    const p = packets[0] as IPublishPacket;
    assert.deepEqual([p.topic, p.properties, p.dup], ['p', undefined, true]);
    mqttPacket.generate(p, { protocolVersion: 4 });
  });
});

describe('snapshot', () => {
  test('in flight in the order they would be resent, then queued in the order offered, each with its state', () => {
    const w = new OutboundWindow({ ...DEFAULTS, receiveMaximum: 3 });
    const a = msg(1);
    const b = msg(2);
    const c = msg(2);
    const aId = sent(w, a).messageId!;
    const bId = sent(w, b).messageId!;
    const cId = sent(w, c).messageId!;
    w.onPubrec(bId);
    const q1 = msg(1);
    const q0 = msg(0);
    const q2 = msg(2);
    w.offer(q1);
    w.setWritable(false);
    w.offer(q0);
    w.offer(q2);
    assert.deepEqual(w.snapshot(), [
      { packetId: aId, state: 'sent', message: a },
      { packetId: cId, state: 'sent', message: c },
      { packetId: bId, state: 'released', message: b },
      { packetId: undefined, state: 'queued', message: q1 },
      { packetId: undefined, state: 'queued', message: q0 },
      { packetId: undefined, state: 'queued', message: q2 },
    ]);
    assert.deepEqual(new OutboundWindow({ ...DEFAULTS }).snapshot(), []);
  });
});

describe('restore (a stored session on a new window)', () => {
  test('MQTT-4.4.0-1: PUBREL for released entries, DUP PUBLISH with the stored identifiers, then queued ones, then new offers get fresh identifiers', () => {
    const old = new OutboundWindow({ ...DEFAULTS, receiveMaximum: 2 });
    const a = sent(old, msg(2, 'a'));
    const b = sent(old, msg(1, 'b'));
    old.offer(msg(1, 'c'));
    old.onPubrec(a.messageId!);
    const snapshot = old.snapshot();
    const w = new OutboundWindow({ ...DEFAULTS });
    const { packets, discarded } = w.restore(snapshot);
    assert.deepEqual(discarded, []);
    assert.deepEqual(brief(packets), [['pubrel', a.messageId], ['publish', b.messageId, true, 'b'], ['publish', 3, false, 'c']]);
    assert.equal(w.inflight, 3);
    const next = sent(w, msg(1, 'd'));
    assert.ok(![a.messageId, b.messageId, 3].includes(next.messageId), `a fresh identifier (${next.messageId})`);
    assert.equal(w.onPubcomp(a.messageId!).acknowledged?.topic, 'a', 'the released entry completes with PUBCOMP');
    assert.equal(w.onPuback(b.messageId!).acknowledged?.topic, 'b');
  });

  test('within the new Receive Maximum: the rest waits for room; too large for the new Maximum Packet Size is handed back as discarded', () => {
    const old = new OutboundWindow({ ...DEFAULTS });
    const small = sent(old, msg(1, 's'));
    sent(old, msg(1, 'big', 500));
    const third = sent(old, msg(1, 'x'));
    const w = new OutboundWindow({ ...DEFAULTS, receiveMaximum: 1, maximumPacketSize: 100 });
    const { packets, discarded } = w.restore(old.snapshot());
    assert.deepEqual(brief(packets), [['publish', small.messageId, true, 's']]);
    assert.deepEqual(discarded.map((m) => m.topic), ['big']);
    assert.deepEqual(brief(w.onPuback(small.messageId!).packets), [['publish', third.messageId, true, 'x']]);
  });
});
