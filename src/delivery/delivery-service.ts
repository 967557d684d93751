// Kafka -> devices on this replica: the local subscriptions, the reader of the delivery topics
// they need, the share groups' consumers, the fan-out, and the hooks the MQTT engine calls.
import type { AccessControl } from '../auth/access-control.js';
import type { ProxyConfig } from '../config/types.js';
import type { KafkaConnectionOptions } from '../kafka/connection-options.js';
import type { ReaderBatch } from '../kafka/reader-types.js';
import type { DeliveryRouter } from '../mapping/delivery-router.js';
import type { ServerCapabilities } from '../mqtt/capabilities.js';
import type { MqttHooks, MqttSession } from '../mqtt/types.js';
import type { Logger } from '../observability/logger.js';
import type { DeliveryState, ProxyMetrics } from '../observability/metrics.js';
import { readerLagGauge } from '../observability/reader-lag.js';
import type { RetainedStore } from '../state/retained-store.js';
import type { SessionEvent } from '../observability/session-metrics.js';
import { FanOut } from './fan-out.js';
import { LocalSubscriptions, type ShareGroup } from './local-subscriptions.js';
import { QueueBound } from './queue-bound.js';
import { retainedForSubscription } from './retain-handling.js';
import { SharedGroups } from './shared-groups.js';
import { subscribeHooks, type MadeSubscription } from './subscribe-hooks.js';
import { TopicReading } from './topic-reading.js';
import type { SessionEngine } from './types.js';
import { PersistentSessions } from './persistent-sessions.js';
import { SessionResume } from './session-resume.js';
import { ExactlyOnceIngest, type IngestSide } from './exactly-once-ingest.js';
import { PublishedLookup } from './published-lookup.js';
import type { KafkaSessionStore } from '../state/session-store.js';

export interface DeliveryOptions {
  readonly config: ProxyConfig;
  readonly router: DeliveryRouter;
  readonly connection: KafkaConnectionOptions;
  readonly access: () => AccessControl;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  /** Retained messages for new subscriptions; undefined when they are off (Retain Available 0). */
  readonly retained: Pick<RetainedStore, 'matching'> | undefined;
  /** Persistent sessions; undefined when they are off (every session ends with its connection). */
  readonly sessions:
    | { readonly store: KafkaSessionStore; readonly maxExpirySeconds: number; readonly replicaId: string; readonly count?: (event: SessionEvent) => void }
    | undefined;
}

export type DeliveryHooks = Required<Pick<MqttHooks, 'capabilities' | 'onSubscribe' | 'onUnsubscribe' | 'onClosed'>> &
  Pick<MqttHooks, 'openSession' | 'onSessionEnd' | 'onDeliveryAcknowledged' | 'onDeliveryReleased' | 'onQoS2Released'>;

export interface Delivery {
  readonly hooks: DeliveryHooks;
  /**
   * Ingest's PUBLISH hook with inbound QoS 2 kept exactly once in persistent sessions; undefined
   * when sessions are off (ingest's own hook is used).
   */
  exactlyOnce(ingest: IngestSide): MqttHooks['onPublish'] | undefined;
  /** The engine the hooks serve; once, before any connection. */
  attach(engine: SessionEngine): void;
  /** Deletes the stored sessions past their expiry; how many. */
  sweepSessions(): number;
  /** Resolves once the session writes under way are done. */
  flushSessions(): Promise<void>;
  /** Persistent sessions connected here. */
  persistentSessions(): number;
  state(): DeliveryState;
  close(): Promise<void>;
}

export function createDelivery(options: DeliveryOptions): Delivery {
  const { config, logger, metrics } = options;
  const router = (): DeliveryRouter => options.router;
  let engine: SessionEngine | undefined;
  const relay = engineRelay(() => engine);
  const queue = new QueueBound(relay, config.limits.maxQueuedDeliveriesTotal, config.limits.inflightLowWater);
  let fanOut: FanOut | undefined;
  const onBatch = (batch: ReaderBatch): Promise<void> | undefined => {
    for (const record of batch.records) fanOut?.direct(batch.topic, batch.partition, record);
    return queue.whenRoom();
  };
  const reading = new TopicReading(router, { connection: options.connection, logger, lag: readerLagGauge(metrics.registry, 'delivery'), onBatch });
  const shared = new SharedGroups({
    connection: options.connection,
    groupPrefix: config.kafka.clientId,
    logger,
    topicsFor: (filter) => reading.topicsFor(filter),
    onRecord: (group, topic, partition, record) => {
      fanOut?.shared(group, topic, partition, record);
      const room = queue.whenRoom();
      if (room === undefined) return;
      shared.hold(true);
      void room.then(() => shared.hold(false));
    },
  });
  const joining = new Map<ShareGroup, Promise<void>>();
  const subscriptions = new LocalSubscriptions({
    directFilter: (filter, present) => (present ? void reading.filterAdded(filter) : reading.filterRemoved(filter)),
    shareGroup: (group, present) => {
      if (present) joining.set(group, shared.joined(group));
      else {
        joining.delete(group);
        shared.left(group);
      }
    },
  });
  const capabilities: ServerCapabilities = Object.freeze({
    retainAvailable: options.retained !== undefined,
    wildcardSubscriptionAvailable: true,
    subscriptionIdentifiersAvailable: true,
    sharedSubscriptionAvailable: true,
    maximumQoS: 2,
  });
  const hooks = subscribeHooks({
    subscriptions,
    rules: () => config.delivery,
    mayServe: (topic, filter) => router().mayServe(topic, filter),
    access: options.access,
    ready: (filter, shareGroup) => {
      if (shareGroup === undefined) return reading.readyFor(filter);
      const group = subscriptions.group(shareGroup, filter);
      return (group === undefined ? undefined : joining.get(group)) ?? Promise.resolve();
    },
    ...(options.retained !== undefined && { subscribed: retainedSender(options.retained, () => fanOut) }),
    logger,
  });
  const persistent = options.sessions === undefined ? undefined : persistentSessions(options, options.sessions, { subscriptions, relay, reading, fanOut: () => fanOut });

  return {
    hooks: { capabilities: () => capabilities, ...(persistent === undefined ? hooks : withSessions(hooks, persistent)) },
    attach(target) {
      if (engine !== undefined) throw new Error('delivery is attached to an engine already');
      engine = target;
      fanOut = new FanOut({
        router, subscriptions, engine: relay, access: options.access, queue, maxQueuedPerConnection: config.limits.maxQueuedDeliveries, metrics, logger,
        ...(persistent !== undefined && { positionsOf: (session: MqttSession) => persistent.positionsOf(session) }),
      });
    },
    exactlyOnce: (ingest) => (persistent === undefined ? undefined : exactlyOnceIngest(options, persistent, ingest)),
    sweepSessions: () => persistent?.sweep() ?? 0,
    flushSessions: () => persistent?.flush() ?? Promise.resolve(),
    persistentSessions: () => persistent?.connected ?? 0,
    state: () => ({ directSubscriptions: subscriptions.directCount, sharedSubscriptions: subscriptions.sharedSubscriptions, queued: queue.total }),
    async close() {
      persistent?.close();
      await Promise.all([reading.close(), shared.close()]);
    },
  };
}

/** Sends a new subscription the retained messages it is due [MQTT-3.3.1-9..11], after its SUBACK. */
function retainedSender(store: Pick<RetainedStore, 'matching'>, fanOut: () => FanOut | undefined) {
  return (session: MqttSession, made: MadeSubscription): void => {
    const request = { filter: made.filter, grantedQos: made.granted, retainHandling: made.retainHandling, subscriptionExisted: made.existed, shared: made.shared };
    for (const message of retainedForSubscription(store, request, Date.now())) {
      const id = made.subscriptionIdentifier;
      const properties = id === undefined ? message.properties : { ...message.properties, subscriptionIdentifiers: [id] };
      fanOut()?.retained(session, { topic: message.topic, payload: message.payload, qos: message.qos, retain: true, ...(properties !== undefined && { properties }) });
    }
  };
}

/** The hooks of a proxy with persistent sessions: a SUBSCRIBE or UNSUBSCRIBE is stored too. */
function withSessions(hooks: ReturnType<typeof subscribeHooks>, persistent: PersistentSessions): Omit<DeliveryHooks, 'capabilities'> {
  return {
    ...hooks,
    async onSubscribe(session, request) {
      const codes = await hooks.onSubscribe(session, request);
      persistent.changed(session);
      return codes;
    },
    onUnsubscribe(session, request) {
      const codes = hooks.onUnsubscribe(session, request);
      persistent.changed(session);
      return codes;
    },
    openSession: (session, request) => persistent.open(session, request),
    onSessionEnd: (session, end) => persistent.ended(session, end),
    onDeliveryAcknowledged: (session, token) => persistent.acknowledged(session, token),
    onDeliveryReleased: (session, token) => persistent.released(session, token),
    onQoS2Released: (session, packetId) => persistent.inboundReleased(session, packetId),
  };
}

const RETRANSMISSION_EVENT = { found: 'retransmission-found', 'not-found': 'retransmission-written', 'given-up': 'retransmission-unresolved' } as const;

/** Inbound QoS 2 of persistent sessions: intents stored before Kafka, retransmissions in doubt looked up there. */
function exactlyOnceIngest(options: DeliveryOptions, persistent: PersistentSessions, ingest: IngestSide): MqttHooks['onPublish'] {
  const lookup = new PublishedLookup({ connection: options.connection, logger: options.logger });
  const count = options.sessions?.count;
  return new ExactlyOnceIngest({
    sessions: persistent,
    lookup,
    ingest,
    logger: options.logger,
    ...(count !== undefined && { count: (outcome: 'found' | 'not-found' | 'given-up') => count(RETRANSMISSION_EVENT[outcome]) }),
  }).onPublish;
}

/** The engine through a late binding: the hooks exist before the engine they serve. */
function engineRelay(engine: () => SessionEngine | undefined): SessionEngine {
  return {
    deliver: (session, message) => engine()?.deliver(session, message) ?? 'gone',
    queuedFor: (session) => engine()?.queuedFor(session) ?? 0,
    disconnect: (session, code, reason) => engine()?.disconnect(session, code, reason),
    restoreOutbound: (session, entries) => engine()?.restoreOutbound(session, entries) ?? 'gone',
    outboundOf: (session) => engine()?.outboundOf(session) ?? [],
    inboundQoS2Of: (session) => engine()?.inboundQoS2Of(session) ?? [],
    cancelWill: (clientId) => engine()?.cancelWill(clientId) ?? false,
  };
}

function persistentSessions(
  options: DeliveryOptions,
  sessions: NonNullable<DeliveryOptions['sessions']>,
  parts: { subscriptions: LocalSubscriptions; relay: SessionEngine; reading: TopicReading; fanOut: () => FanOut | undefined },
): PersistentSessions {
  const { relay, reading, subscriptions } = parts;
  const { connection, logger, config } = options;
  const queueHighWater = Math.max(1, Math.floor(config.limits.maxQueuedDeliveries / 2));
  const resume = new SessionResume({ connection, logger, fanOut: parts.fanOut, engine: () => relay, livePosition: (t, p) => reading.position(t, p), queueHighWater });
  const persistent = new PersistentSessions({ ...sessions, subscriptions, engine: () => relay, resume, live: reading, logger, openTimeoutMs: config.kafka.requestTimeoutMs });
  sessions.store.onRecord((clientId, record) => persistent.onRecord(clientId, record));
  return persistent;
}
