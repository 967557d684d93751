import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveRetainFlag, retainedDelivery, retainedForSubscription, retainedToSend } from '../../src/delivery/retain-handling.js';
import { TopicIndex } from '../../src/state/retained-index.js';
import type { RetainedMessage } from '../../src/state/retained-store.js';

const stored = (extra: Partial<RetainedMessage> = {}): RetainedMessage => ({
  topic: 'devices/dev-1/state',
  payload: Buffer.from('on'),
  qos: 2,
  properties: undefined,
  storedAt: 1_000_000,
  ...extra,
});

describe('retain handling', () => {
  it('MQTT-3.3.1-9: Retain Handling 0 sends retained messages at every SUBSCRIBE, a repeated one too', () => {
    assert.equal(retainedToSend(0, false), true);
    assert.equal(retainedToSend(0, true), true);
  });

  it('MQTT-3.3.1-10: Retain Handling 1 sends them only when the subscription did not exist', () => {
    assert.equal(retainedToSend(1, false), true);
    assert.equal(retainedToSend(1, true), false);
  });

  it('MQTT-3.3.1-11: Retain Handling 2 never sends them', () => {
    assert.equal(retainedToSend(2, false), false);
    assert.equal(retainedToSend(2, true), false);
  });

  it('a shared subscription is sent no retained messages, whatever its Retain Handling', () => {
    for (const rh of [0, 1, 2] as const) for (const existed of [false, true]) assert.equal(retainedToSend(rh, existed, true), false);
  });

  it('MQTT-3.3.1-12: without Retain As Published a live message goes out with RETAIN 0', () => {
    assert.equal(liveRetainFlag(false, true), false);
    assert.equal(liveRetainFlag(false, false), false);
  });

  it('MQTT-3.3.1-13: with Retain As Published the RETAIN flag is as published', () => {
    assert.equal(liveRetainFlag(true, true), true);
    assert.equal(liveRetainFlag(true, false), false);
  });

  it('MQTT-3.3.1-8 (3.1.1): a message sent because a subscription was made has RETAIN 1', () => {
    assert.equal(retainedDelivery(stored(), 1, 1_000_000)?.retain, true);
  });

  it('MQTT-3.8.4-8: sent at the lower of the stored QoS and the granted QoS', () => {
    assert.equal(retainedDelivery(stored({ qos: 2 }), 1, 0)?.qos, 1);
    assert.equal(retainedDelivery(stored({ qos: 0 }), 2, 0)?.qos, 0);
    assert.equal(retainedDelivery(stored({ qos: 1 }), 1, 0)?.qos, 1);
  });

  it('MQTT-3.3.2-6: the Message Expiry Interval sent is what is left of it; an expired message is not sent', () => {
    const m = stored({ properties: { messageExpiryInterval: 60, contentType: 'text/plain' } });
    const sent = retainedDelivery(m, 2, m.storedAt + 20_500);
    assert.equal(sent?.properties?.messageExpiryInterval, 40);
    assert.equal(sent?.properties?.contentType, 'text/plain');
    assert.equal(m.properties?.messageExpiryInterval, 60, 'the stored message is not changed');
    assert.equal(retainedDelivery(m, 2, m.storedAt + 60_000), undefined);
    assert.equal(retainedDelivery(stored(), 2, Number.MAX_SAFE_INTEGER)?.properties, undefined);
  });

  it('retainedForSubscription: the matching messages per Retain Handling, at the lower QoS, expired ones left out', () => {
    const index = new TopicIndex<RetainedMessage>();
    for (const m of [stored({ topic: 'a/1', qos: 2 }), stored({ topic: 'a/2', qos: 0 }), stored({ topic: 'a/3', properties: { messageExpiryInterval: 1 } }), stored({ topic: 'b/1' })]) index.set(m.topic, m);
    const store = { matching: (filter: string) => index.match(filter) };
    const request = { filter: 'a/+', grantedQos: 1 as const, retainHandling: 0 as const, subscriptionExisted: false, shared: false };
    const sent = retainedForSubscription(store, request, 1_000_000 + 5_000);
    assert.deepEqual(sent.map((d) => [d.topic, d.qos, d.retain]).sort(), [['a/1', 1, true], ['a/2', 0, true]]);
    assert.deepEqual(retainedForSubscription(store, { ...request, retainHandling: 1, subscriptionExisted: true }, 0), []);
    assert.equal(retainedForSubscription(store, { ...request, retainHandling: 1 }, 0).length, 3);
    assert.deepEqual(retainedForSubscription(store, { ...request, shared: true }, 0), []);
    assert.deepEqual(retainedForSubscription(store, { ...request, retainHandling: 2 }, 0), []);
  });
});
