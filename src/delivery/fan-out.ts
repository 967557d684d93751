// Kafka record -> route -> the local subscriptions its MQTT topic matches -> one message per
// subscriber through the engine's outbound window. Matching comes before the payload is touched;
// one subscriber that cannot keep up is bounded by its own queue and never holds up the others.
import type { AccessControl } from '../auth/access-control.js';
import type { ReaderRecord } from '../kafka/reader-types.js';
import type { DeliveryRoute, DeliveryRouter } from '../mapping/delivery-router.js';
import type { SubscriptionOptions } from '../mqtt/subscription-tree.js';
import type { OutboundMessage } from '../mqtt/outbound-window.js';
import { ReasonCode } from '../mqtt/reason-codes.js';
import { topicMatches } from '../mqtt/topics.js';
import type { MqttSession } from '../mqtt/types.js';
import type { Logger } from '../observability/logger.js';
import { DELIVERY_OUTCOMES, type DeliveryOutcome, type HotCount, type ProxyMetrics } from '../observability/metrics.js';
import type { LocalSubscriptions, ShareGroup } from './local-subscriptions.js';
import { messageFor } from './outbound-message.js';
import type { QueueBound } from './queue-bound.js';
import type { DeliveryEngine } from './types.js';
import type { SessionPositions } from './session-positions.js';

export interface FanOutOptions {
  readonly router: () => DeliveryRouter;
  readonly subscriptions: LocalSubscriptions;
  readonly engine: DeliveryEngine;
  /** Through a getter: a reload may replace the access control. */
  readonly access: () => AccessControl;
  readonly queue: QueueBound;
  readonly maxQueuedPerConnection: number;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  /** A persistent session's positions: its deliveries carry tokens, and what it has seen is not sent again. */
  readonly positionsOf?: (session: MqttSession) => SessionPositions | undefined;
}

/** Where a record came from, for a persistent session's positions. */
interface Origin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

const EMPTY = Buffer.alloc(0);

export class FanOut {
  private readonly counts: Record<DeliveryOutcome, HotCount>;

  constructor(private readonly options: FanOutOptions) {
    const { metrics } = options;
    this.counts = Object.fromEntries(DELIVERY_OUTCOMES.map((outcome) => [outcome, metrics.hotCount(metrics.deliveries, { outcome })])) as Record<DeliveryOutcome, HotCount>;
  }

  /** A record read by this replica's reader: to every local direct subscription it matches. */
  direct(kafkaTopic: string, partition: number, record: ReaderRecord): void {
    const route = this.route(kafkaTopic, partition, record);
    if (route === undefined) return;
    let bySession: Map<MqttSession, SubscriptionOptions[]> | undefined;
    for (const match of this.options.subscriptions.match(route.mqttTopic)) {
      bySession ??= new Map();
      const list = bySession.get(match.subscriber);
      if (list === undefined) bySession.set(match.subscriber, [match.options]);
      else list.push(match.options);
    }
    if (bySession === undefined) return;
    const payload = ownPayload(record.value);
    const now = Date.now();
    const origin: Origin = { topic: kafkaTopic, partition, offset: record.offset };
    const positionsOf = this.options.positionsOf;
    for (const [session, subscriptions] of bySession) {
      const positions = positionsOf?.(session);
      // A resuming session gets this partition from its catch-up, or has had this record already.
      if (positions !== undefined && !positions.accepts(kafkaTopic, partition, record.offset)) continue;
      this.count(this.offer(session, subscriptions, route, payload, now, positions === undefined ? undefined : { positions, origin }));
    }
  }

  /**
   * A record read for one resuming session (its catch-up): to it alone, if its subscriptions match.
   * Returns the outcome, or undefined when nothing was offered.
   */
  toSession(session: MqttSession, positions: SessionPositions, kafkaTopic: string, partition: number, record: ReaderRecord): DeliveryOutcome | undefined {
    const route = this.route(kafkaTopic, partition, record);
    const subscriptions = route === undefined ? [] : this.optionsOf(session, route.mqttTopic);
    if (route === undefined || subscriptions.length === 0) {
      positions.passed(kafkaTopic, partition, record.offset);
      return undefined;
    }
    const outcome = this.offer(session, subscriptions, route, ownPayload(record.value), Date.now(), { positions, origin: { topic: kafkaTopic, partition, offset: record.offset } });
    this.count(outcome);
    return outcome;
  }

  /** The message a stored in-flight delivery was, rebuilt from its record for this session (undefined: it no longer matches). */
  rebuilt(session: MqttSession, kafkaTopic: string, partition: number, record: ReaderRecord): OutboundMessage | undefined {
    const route = this.route(kafkaTopic, partition, record);
    if (route === undefined) return undefined;
    const subscriptions = this.optionsOf(session, route.mqttTopic);
    const message = subscriptions.length === 0 ? 'none' : messageFor(session.clientId, subscriptions, route, ownPayload(record.value), Date.now());
    return typeof message === 'string' ? undefined : message;
  }

  /** A record a share group's consumer got: to one local member, round robin, the next one if it cannot take it. */
  shared(group: ShareGroup, kafkaTopic: string, partition: number, record: ReaderRecord): void {
    const route = this.route(kafkaTopic, partition, record);
    if (route === undefined || !topicMatches(group.filter, route.mqttTopic)) return;
    const payload = ownPayload(record.value);
    const now = Date.now();
    let outcome: DeliveryOutcome = 'gone';
    for (const session of group.rotation()) {
      outcome = this.offer(session, [group.members.get(session)!], route, payload, now);
      if (outcome !== 'gone' && outcome !== 'disconnected' && outcome !== 'dropped' && outcome !== 'denied') break;
    }
    this.count(outcome);
  }

  /** A retained message for a new subscription: the ACL, then the engine, counted like the rest. */
  retained(session: MqttSession, message: OutboundMessage): void {
    this.count(this.options.access().authorizeDelivery(session, message.topic) ? this.deliver(session, message) : 'denied');
  }

  /** The options of one session's direct subscriptions that match a topic (a resuming session's own reads). */
  private optionsOf(session: MqttSession, mqttTopic: string): SubscriptionOptions[] {
    return [...this.options.subscriptions.match(mqttTopic)].filter((m) => m.subscriber === session).map((m) => m.options);
  }

  private route(kafkaTopic: string, partition: number, record: ReaderRecord): DeliveryRoute | undefined {
    const result = this.options.router().route({ kafkaTopic, partition, key: record.key, headers: record.headers, timestamp: record.timestamp });
    if (result.ok) return result.route;
    this.counts.unroutable.inc();
    if (this.options.logger.isLevelEnabled('debug')) this.options.logger.debug({ kafkaTopic, partition, offset: String(record.offset), reason: result.reason, detail: result.detail }, 'record not delivered');
    return undefined;
  }

  private offer(
    session: MqttSession,
    subscriptions: readonly SubscriptionOptions[],
    route: DeliveryRoute,
    payload: Buffer,
    now: number,
    tracked?: { readonly positions: SessionPositions; readonly origin: Origin },
  ): DeliveryOutcome {
    const message = messageFor(session.clientId, subscriptions, route, payload, now);
    const passed = (): void => tracked?.positions.passed(tracked.origin.topic, tracked.origin.partition, tracked.origin.offset);
    if (typeof message === 'string') return (passed(), message);
    // A denied delivery never leaves the proxy.
    if (!this.options.access().authorizeDelivery(session, route.mqttTopic)) return (passed(), 'denied');
    if (tracked === undefined) return this.deliver(session, message);
    const { positions, origin } = tracked;
    const token = positions.delivered(origin.topic, origin.partition, origin.offset, message.qos);
    const outcome = this.deliver(session, token === undefined ? message : { ...message, token });
    // Too large for the client counts as delivered [MQTT-3.1.2-25].
    if (outcome === 'too-large' && token !== undefined) positions.acknowledged(token);
    return outcome;
  }

  private deliver(session: MqttSession, message: OutboundMessage): DeliveryOutcome {
    const { engine, queue } = this.options;
    const outcome = engine.deliver(session, message);
    switch (outcome) {
      case 'sent':
      case 'too-large':
      case 'gone':
        return outcome;
      case 'queued':
        queue.noteQueued(session);
        return 'queued';
      case 'queue-full':
        if (message.qos === 0) return 'dropped';
        // A QoS 1 / 2 message may not be dropped: the subscriber that cannot keep up goes.
        this.options.logger.warn({ clientId: session.clientId, maxQueuedDeliveries: this.options.maxQueuedPerConnection }, 'subscriber cannot keep up: disconnected');
        this.options.metrics.limitsHit.inc({ limit: 'max-queued-deliveries' });
        engine.disconnect(session, ReasonCode.QuotaExceeded, `more than ${this.options.maxQueuedPerConnection} messages waiting for this client`);
        return 'disconnected';
    }
  }

  private count(outcome: DeliveryOutcome): void {
    this.counts[outcome].inc();
  }
}

/**
 * The payload as its own buffer: the reader's value is a view into a whole fetch response, which
 * a message queued for a slow subscriber would otherwise keep alive.
 */
function ownPayload(value: Buffer | null): Buffer {
  if (value === null || value.length === 0) return EMPTY;
  return value.byteOffset === 0 && value.buffer.byteLength === value.length ? value : Buffer.copyBytesFrom(value);
}
