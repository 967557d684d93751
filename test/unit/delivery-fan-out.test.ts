/**
 * Delivery's per-subscriber rules and its bounds, with a stand-in engine (the real one is in the
 * integration tests): QoS, No Local, Retain As Published, Subscription Identifiers, Message
 * Expiry, the ACL at delivery time, the queue bound per connection and over all of them, shared
 * subscriptions' round robin, and which filters make a topic be read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessControl } from '../../src/auth/access-control.js';
import { FanOut } from '../../src/delivery/fan-out.js';
import { LocalSubscriptions, type ShareGroup } from '../../src/delivery/local-subscriptions.js';
import { messageFor } from '../../src/delivery/outbound-message.js';
import { QueueBound } from '../../src/delivery/queue-bound.js';
import { qosCeiling } from '../../src/delivery/subscribe-hooks.js';
import type { DeliveryEngine } from '../../src/delivery/types.js';
import type { ReaderRecord } from '../../src/kafka/reader-types.js';
import type { DeliveryRoute, DeliveryRouter } from '../../src/mapping/delivery-router.js';
import type { SubscriptionOptions } from '../../src/mqtt/subscription-tree.js';
import type { OfferOutcome, OutboundMessage } from '../../src/mqtt/outbound-window.js';
import type { MqttSession } from '../../src/mqtt/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { counterValue } from '../helpers/mqtt-connect.js';

const session = (clientId: string): MqttSession => ({ clientId, username: undefined, protocolVersion: 5, remoteAddress: '127.0.0.1', listener: 'tcp:1883' });
const options = (o: Partial<SubscriptionOptions> = {}): SubscriptionOptions => ({ qos: 2, noLocal: false, retainAsPublished: false, subscriptionIdentifier: undefined, shareGroup: undefined, ...o });
const route = (o: Partial<DeliveryRoute> = {}): DeliveryRoute => ({
  rule: 'commands',
  mqttTopic: 'devices/d1/commands',
  qos: 2,
  retain: false,
  originClientId: undefined,
  properties: undefined,
  expiresAt: undefined,
  ...o,
});
const payload = Buffer.from('x');

describe('the message for one subscriber', () => {
  it('QoS is the lower of the route and the subscription; overlapping subscriptions give the highest [MQTT-3.8.4-8]', () => {
    assert.equal((messageFor('c', [options({ qos: 1 })], route({ qos: 2 }), payload, 0) as OutboundMessage).qos, 1);
    assert.equal((messageFor('c', [options({ qos: 2 })], route({ qos: 0 }), payload, 0) as OutboundMessage).qos, 0);
    assert.equal((messageFor('c', [options({ qos: 0 }), options({ qos: 1 })], route(), payload, 0) as OutboundMessage).qos, 1);
  });

  it('No Local leaves out the subscriber\'s own messages, subscription by subscription [MQTT-3.8.3-3]', () => {
    assert.equal(messageFor('me', [options({ noLocal: true })], route({ originClientId: 'me' }), payload, 0), 'no-local');
    assert.notEqual(messageFor('me', [options({ noLocal: true })], route({ originClientId: 'other' }), payload, 0), 'no-local');
    const mixed = messageFor('me', [options({ noLocal: true, qos: 2 }), options({ qos: 0 })], route({ originClientId: 'me' }), payload, 0) as OutboundMessage;
    assert.equal(mixed.qos, 0, 'only the subscription without No Local counts');
  });

  it('RETAIN as published only with Retain As Published [MQTT-3.3.1-12, MQTT-3.3.1-13]', () => {
    assert.equal((messageFor('c', [options({ retainAsPublished: true })], route({ retain: true }), payload, 0) as OutboundMessage).retain, true);
    assert.equal((messageFor('c', [options()], route({ retain: true }), payload, 0) as OutboundMessage).retain, false);
  });

  it('every matching Subscription Identifier [MQTT-3.3.4-3]', () => {
    const m = messageFor('c', [options({ subscriptionIdentifier: 3 }), options(), options({ subscriptionIdentifier: 8 })], route(), payload, 0) as OutboundMessage;
    assert.deepEqual(m.properties?.subscriptionIdentifiers, [3, 8]);
    assert.equal((messageFor('c', [options()], route(), payload, 0) as OutboundMessage).properties, undefined);
  });

  it('Message Expiry: expired not sent [MQTT-3.3.2-5]; otherwise the remaining interval, rounded up [MQTT-3.3.2-6]', () => {
    const expiring = route({ expiresAt: 100_000, properties: { messageExpiryInterval: 60, contentType: 'text/plain' } });
    assert.equal(messageFor('c', [options()], expiring, payload, 100_000), 'expired');
    const m = messageFor('c', [options()], expiring, payload, 100_000 - 20_500) as OutboundMessage;
    assert.equal(m.properties?.messageExpiryInterval, 21);
    assert.equal(m.properties?.contentType, 'text/plain');
  });
});

/** An engine that takes `room` messages per session, then queues up to `maxQueued`, then is full. */
class FakeEngine implements DeliveryEngine {
  readonly delivered = new Map<string, OutboundMessage[]>();
  readonly queued = new Map<MqttSession, number>();
  readonly disconnected: Array<[string, number]> = [];
  readonly gone = new Set<MqttSession>();
  constructor(
    private readonly room: number,
    private readonly maxQueued: number,
  ) {}
  deliver(s: MqttSession, message: OutboundMessage): OfferOutcome | 'gone' {
    if (this.gone.has(s)) return 'gone';
    const list = this.delivered.get(s.clientId) ?? [];
    this.delivered.set(s.clientId, list);
    if (list.length < this.room) {
      list.push(message);
      return 'sent';
    }
    const queued = this.queued.get(s) ?? 0;
    if (queued >= this.maxQueued) return 'queue-full';
    this.queued.set(s, queued + 1);
    return 'queued';
  }
  queuedFor(s: MqttSession): number {
    return this.queued.get(s) ?? 0;
  }
  disconnect(s: MqttSession, code: number): void {
    this.disconnected.push([s.clientId, code]);
    this.gone.add(s);
  }
}

function fanOut(engine: FakeEngine, deny: readonly string[] = [], total = 1000) {
  const subscriptions = new LocalSubscriptions({ directFilter: () => undefined, shareGroup: () => undefined });
  const metrics = createMetrics({ collectDefault: false });
  const router: DeliveryRouter = {
    kafkaTopics: ['commands'],
    ruleNames: ['commands'],
    route: (input) => ({ ok: true, route: route({ mqttTopic: `devices/${input.key?.toString()}/commands`, qos: 1 }) }),
    mayServe: () => true,
  };
  const access = { authorizeDelivery: (s: MqttSession) => !deny.includes(s.clientId) } as Pick<AccessControl, 'authorizeDelivery'> as AccessControl;
  const queue = new QueueBound(engine, total, 0.5);
  const fan = new FanOut({ router: () => router, subscriptions, engine, access: () => access, queue, maxQueuedPerConnection: 2, metrics, logger: createLogger('silent') });
  return { fan, subscriptions, metrics, queue };
}

const record = (key: string, offset = 0n): ReaderRecord => ({ offset, timestamp: 0, key: Buffer.from(key), value: Buffer.from(`v-${key}`), headers: [] });

describe('fan-out', () => {
  it('each matching subscriber gets the record once; others nothing; a denied delivery never leaves', async () => {
    const engine = new FakeEngine(100, 10);
    const { fan, subscriptions, metrics } = fanOut(engine, ['denied']);
    const [a, b, c, denied] = ['a', 'b', 'c', 'denied'].map(session);
    subscriptions.add(a!, 'devices/d1/commands', options());
    subscriptions.add(a!, 'devices/+/commands', options({ subscriptionIdentifier: 4 }));
    subscriptions.add(b!, 'devices/#', options());
    subscriptions.add(c!, 'devices/d2/commands', options());
    subscriptions.add(denied!, 'devices/#', options());
    fan.direct('commands', 0, record('d1'));
    assert.equal(engine.delivered.get('a')?.length, 1, 'one message for two overlapping subscriptions');
    assert.deepEqual(engine.delivered.get('a')![0]!.properties?.subscriptionIdentifiers, [4]);
    assert.equal(engine.delivered.get('b')?.length, 1);
    assert.equal(engine.delivered.get('c'), undefined);
    assert.equal(engine.delivered.get('denied'), undefined);
    assert.equal(await counterValue(metrics.deliveries, { outcome: 'denied' }), 1);
    assert.equal(await counterValue(metrics.deliveries, { outcome: 'sent' }), 2);
  });

  it('over its queue bound a QoS 0 message is dropped; a QoS 1 subscriber is sent away with 0x97; the others go on', async () => {
    const engine = new FakeEngine(1, 2);
    const { fan, subscriptions, metrics } = fanOut(engine);
    const [slow0, slow1, fast] = ['slow0', 'slow1', 'fast'].map(session);
    subscriptions.add(slow0!, 'devices/#', options({ qos: 0 }));
    subscriptions.add(slow1!, 'devices/#', options({ qos: 1 }));
    subscriptions.add(fast!, 'devices/#', options({ qos: 1 }));
    engine.delivered.set('fast', []);
    let fastTaken = 0;
    const original = engine.deliver.bind(engine);
    engine.deliver = (s, m) => (s === fast ? (fastTaken++, 'sent') : original(s, m));
    for (let i = 0; i < 6; i++) fan.direct('commands', 0, record('k', BigInt(i)));
    assert.equal(fastTaken, 6, 'the fast subscriber got every record');
    assert.deepEqual(engine.disconnected, [['slow1', 0x97]]);
    assert.equal(await counterValue(metrics.deliveries, { outcome: 'dropped' }), 3, 'QoS 0: 1 sent, 2 queued, 3 dropped');
    assert.equal(await counterValue(metrics.deliveries, { outcome: 'disconnected' }), 1);
    assert.equal(await counterValue(metrics.deliveries, { outcome: 'gone' }), 2, 'after the disconnect');
  });

  it('the proxy-wide bound: reading waits while the queues hold that many, until the low-water mark', async () => {
    const engine = new FakeEngine(0, 100);
    const { fan, subscriptions, queue } = fanOut(engine, [], 4);
    const s = session('s');
    subscriptions.add(s, 'devices/#', options({ qos: 0 }));
    for (let i = 0; i < 3; i++) fan.direct('commands', 0, record('k'));
    assert.equal(queue.whenRoom(), undefined, 'below the bound');
    fan.direct('commands', 0, record('k'));
    const room = queue.whenRoom();
    assert.ok(room instanceof Promise, 'at the bound');
    let resumed = false;
    void room.then(() => (resumed = true));
    engine.queued.set(s, 3);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(resumed, false, 'above the low-water mark (2)');
    engine.queued.set(s, 2);
    // The bound polls on unref'd timers (they never hold a stopping process): the test holds the loop.
    const alive = setInterval(() => undefined, 1000);
    await room.finally(() => clearInterval(alive));
    assert.equal(queue.total, 2);
  });

  it('a shared subscription: each record to one member, round robin; past a member that is gone', () => {
    const engine = new FakeEngine(100, 10);
    let group: ShareGroup | undefined;
    const { fan } = fanOut(engine);
    const watched = new LocalSubscriptions({ directFilter: () => undefined, shareGroup: (g, present) => (group = present ? g : undefined) });
    const [m1, m2, m3] = ['m1', 'm2', 'm3'].map(session);
    for (const m of [m1!, m2!, m3!]) watched.add(m, 'devices/+/commands', options({ shareGroup: 'g', qos: 1 }));
    assert.ok(group !== undefined);
    for (let i = 0; i < 6; i++) fan.shared(group, 'commands', 0, record(`d${i}`));
    assert.deepEqual(['m1', 'm2', 'm3'].map((id) => engine.delivered.get(id)?.length), [2, 2, 2]);
    engine.gone.add(m2!);
    for (let i = 0; i < 6; i++) fan.shared(group, 'commands', 0, record(`e${i}`));
    assert.equal((engine.delivered.get('m1')?.length ?? 0) + (engine.delivered.get('m3')?.length ?? 0), 10, 'none lost');
    for (const m of [m1!, m2!, m3!]) watched.remove(m, 'devices/+/commands', 'g');
    assert.equal(group, undefined, 'the last member left');
  });
});

describe('local subscriptions', () => {
  it('tell when a filter appears and goes; a connection that closes takes all of its own', () => {
    const events: string[] = [];
    const subscriptions = new LocalSubscriptions({
      directFilter: (filter, present) => events.push(`${present ? '+' : '-'}${filter}`),
      shareGroup: (group, present) => events.push(`${present ? '+' : '-'}$share/${group.name}/${group.filter}`),
    });
    const [a, b] = ['a', 'b'].map(session);
    assert.equal(subscriptions.add(a!, 'x/+', options()), false);
    assert.equal(subscriptions.add(a!, 'x/+', options({ qos: 0 })), true, 'replaced [MQTT-3.8.4-3]');
    subscriptions.add(b!, 'x/+', options());
    subscriptions.add(a!, 'x/+', options({ shareGroup: 'g' }));
    subscriptions.add(a!, 'y', options());
    assert.equal(subscriptions.directCount, 3);
    assert.equal(subscriptions.sharedSubscriptions, 1);
    assert.equal(subscriptions.remove(b!, 'y', undefined), false, 'b never had it [MQTT-3.10.4-5]');
    subscriptions.removeAll(a!);
    subscriptions.remove(b!, 'x/+', undefined);
    // x/+ goes only with b's, the last one holding it.
    assert.deepEqual(events, ['+x/+', '+$share/g/x/+', '+y', '-$share/g/x/+', '-y', '-x/+']);
    assert.equal(subscriptions.directCount + subscriptions.sharedSubscriptions, 0);
    assert.deepEqual([...subscriptions.match('x/1')], []);
  });

  it('a SUBSCRIBE is granted at most the highest QoS of the rules that can serve its filter', () => {
    const rules = [
      { name: 'a', kafka: 'commands', mqttTopic: 'devices/${key}/commands', qos: 1 as const },
      { name: 'b', kafka: 'alerts', mqttTopic: 'alerts/${key}', qos: 0 as const },
    ];
    const mayServe = (topic: string, filter: string): boolean => (topic === 'commands' ? filter.startsWith('devices') : filter.startsWith('alerts')) || filter === '#';
    assert.equal(qosCeiling(rules, mayServe, 'devices/+/commands'), 1);
    assert.equal(qosCeiling(rules, mayServe, 'alerts/x'), 0);
    assert.equal(qosCeiling(rules, mayServe, '#'), 1);
    assert.equal(qosCeiling(rules, mayServe, 'elsewhere'), 2, 'nothing can come: the request stands');
  });
});
