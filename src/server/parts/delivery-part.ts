/**
 * Kafka -> device: present when the config has delivery rules. Its hooks join ingest's in the MQTT
 * part; it reads the delivery topics its local subscriptions need, and stops reading before the
 * engine says goodbye to the clients. With sessions on, it keeps the session store: the sessions
 * topic is checked and read to its end before the proxy is ready, and expired sessions are swept.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ProxyConfig } from '../../config/types.js';
import { createDelivery, type Delivery, type DeliveryHooks } from '../../delivery/delivery-service.js';
import type { SessionEngine } from '../../delivery/types.js';
import { TopicNotCompactedError } from '../../kafka/compacted-topic.js';
import { connectionFromConfig } from '../../kafka/config-connection.js';
import { compileDeliveryRouter } from '../../mapping/delivery-router.js';
import type { Readiness } from '../../observability/admin-server.js';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { RetainedStore } from '../../state/retained-store.js';
import { KafkaSessionStore } from '../../state/session-store.js';
import { ReplicaLeases } from '../../delivery/replica-leases.js';
import { observeSessions } from '../../observability/session-metrics.js';
import type { InboundPublish, MqttHooks, MqttSession, WillMessage } from '../../mqtt/types.js';
import type { IngestSide } from '../../delivery/exactly-once-ingest.js';
import type { Part } from '../part.js';
import { startStateTopic, stateTopicReadiness } from './state-readiness.js';
import type { AccessPart } from './access-part.js';

export interface DeliveryPart extends Part {
  readonly hooks: DeliveryHooks;
  /** Ingest's PUBLISH hook with inbound QoS 2 exactly once in persistent sessions; undefined when sessions are off. */
  exactlyOnce(ingest: IngestSide): MqttHooks['onPublish'] | undefined;
  attach(engine: SessionEngine): void;
  /**
   * The session store as a part of its own, started before the MQTT engine and stopped after it:
   * the sessions its goodbye ends are written first. undefined when sessions are off.
   */
  readonly sessions: Part | undefined;
}

export interface DeliveryPartOptions {
  readonly config: ProxyConfig;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly access: AccessPart;
  /** undefined when retained messages are off. */
  readonly retained: RetainedStore | undefined;
  /** Publishes a will through ingest, as the engine does for its own connections. */
  readonly publishWill: (session: MqttSession, will: InboundPublish) => void;
}

/** How often each replica deletes the stored sessions past their expiry. */
const SWEEP_MS = 30_000;

/** Undefined when there are no delivery rules: SUBSCRIBE is then refused as before. */
export function createDeliveryPart({ config, logger, metrics, access, retained, publishWill }: DeliveryPartOptions): DeliveryPart | undefined {
  if (config.delivery.length === 0) return undefined;
  const log = logger.child({ component: 'delivery' });
  const replicaId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const store = config.sessions.enabled
    ? new KafkaSessionStore({ topic: config.sessions.topic, connection: connectionFromConfig(config.kafka, 'sessions'), logger: logger.child({ component: 'sessions' }) })
    : undefined;
  let delivered: Delivery | undefined;
  const count = store === undefined ? undefined : observeSessions(metrics.registry, () => ({ stored: countSessions(store), connected: delivered?.persistentSessions() ?? 0 }));
  const delivery: Delivery = createDelivery({
    config,
    router: compileDeliveryRouter(config.delivery),
    connection: connectionFromConfig(config.kafka, 'delivery'),
    // Through the part: a reload may replace the access control.
    access: () => access.current,
    metrics,
    logger: log,
    retained,
    sessions: store === undefined ? undefined : { store, maxExpirySeconds: config.sessions.maxExpirySeconds, replicaId, ...(count !== undefined && { count }) },
  });
  delivered = delivery;
  metrics.observeDelivery(() => delivery.state());
  return {
    name: 'delivery',
    hooks: delivery.hooks,
    sessions: store === undefined ? undefined : sessionsPart(store, delivery, config, new ReplicaLeases({
      store,
      replicaId,
      leaseMs: config.sessions.leaseSeconds * 1000,
      ...(count !== undefined && { count }),
      logger: logger.child({ component: 'sessions' }),
      publishWill: (clientId, username, will) => publishWill(willSession(clientId, username), willPublish(will)),
    })),
    attach: (engine) => delivery.attach(engine),
    exactlyOnce: (ingest) => delivery.exactlyOnce(ingest),
    start: () => Promise.resolve(),
    stop: () => delivery.close(),
  };
}

function countSessions(store: KafkaSessionStore): number {
  let n = 0;
  for (const _ of store.entries()) n++;
  return n;
}

/** Who a will adopted from a lost replica is published as: the client, as its record names it. */
function willSession(clientId: string, username: string | undefined): MqttSession {
  return { clientId, username, protocolVersion: 5, remoteAddress: '', listener: 'sessions' };
}

function willPublish(will: WillMessage): InboundPublish {
  return { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, will: true, properties: will.properties, receivedAt: Date.now() };
}

function sessionsPart(store: KafkaSessionStore, delivery: Delivery, config: ProxyConfig, leases: ReplicaLeases): Part {
  let sweeper: NodeJS.Timeout | undefined;
  return {
    name: 'sessions',
    async start() {
      await startStateTopic(() => store.start(), 'sessions.topic', config.kafka.connectionTimeoutMs, (outcome): outcome is TopicNotCompactedError => outcome instanceof TopicNotCompactedError);
      void store.ready.then(() => {
        delivery.sweepSessions();
        return leases.start();
      }).catch(() => undefined);
      sweeper = setInterval(() => delivery.sweepSessions(), SWEEP_MS);
      sweeper.unref();
    },
    async stop() {
      clearInterval(sweeper);
      await delivery.flushSessions();
      await leases.stop();
      await store.close();
    },
    ready: (): Readiness => stateTopicReadiness(store, 'sessions', config.sessions.topic),
  };
}
