import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRetained, encodeRetained } from '../../src/state/retained-codec.js';
import { expiresAt, isExpired, type RetainedMessage } from '../../src/state/retained-types.js';

const message = (extra: Partial<RetainedMessage> = {}): RetainedMessage => ({
  topic: 'devices/dev-1/state',
  payload: Buffer.from([0, 1, 2, 255]),
  qos: 2,
  properties: undefined,
  storedAt: 1_733_540_000_123,
  ...extra,
});

describe('retained message codec', () => {
  it('keeps payload bytes, QoS, storedAt', () => {
    const m = message();
    assert.deepEqual(decodeRetained(encodeRetained(m), m.topic), m);
  });

  it('keeps every MQTT 5 property, correlation data as bytes', () => {
    const m = message({
      qos: 1,
      properties: {
        contentType: 'application/json',
        payloadFormatIndicator: true,
        responseTopic: 'replies/dev-1',
        correlationData: Buffer.from([9, 8, 0, 7]),
        userProperties: { a: '1', b: ['x', 'y'] },
        messageExpiryInterval: 60,
      },
    });
    assert.deepEqual(decodeRetained(encodeRetained(m), m.topic), m);
  });

  it('an empty payload survives (the store writes those as tombstones, the codec is not the place to refuse)', () => {
    const m = message({ payload: Buffer.alloc(0) });
    assert.deepEqual(decodeRetained(encodeRetained(m), m.topic).payload, Buffer.alloc(0));
  });

  it('a value written by another tool is its payload, at QoS 1, without expiry', () => {
    const decoded = decodeRetained(Buffer.from('{"on":true}'), 'devices/dev-2/desired');
    assert.deepEqual(decoded, { topic: 'devices/dev-2/desired', payload: Buffer.from('{"on":true}'), qos: 1, properties: undefined, storedAt: 0 });
  });

  it('a value with the prefix and broken metadata is refused', () => {
    const good = encodeRetained(message());
    assert.throws(() => decodeRetained(good.subarray(0, 6), 't'), /truncated/);
    const long = Buffer.from(good);
    long.writeUInt32BE(10_000, 4);
    assert.throws(() => decodeRetained(long, 't'), /longer/);
    const noQos = Buffer.concat([good.subarray(0, 4), Buffer.from([0, 0, 0, 2]), Buffer.from('{}')]);
    assert.throws(() => decodeRetained(noQos, 't'), /QoS/);
  });

  it('Message Expiry: expires storedAt + interval seconds, never without an interval', () => {
    const m = message({ properties: { messageExpiryInterval: 10 } });
    assert.equal(expiresAt(m), m.storedAt + 10_000);
    assert.equal(isExpired(m, m.storedAt + 9_999), false);
    assert.equal(isExpired(m, m.storedAt + 10_000), true);
    assert.equal(expiresAt(message()), undefined);
    assert.equal(isExpired(message(), Number.MAX_SAFE_INTEGER), false);
  });
});
