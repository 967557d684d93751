/**
 * The MQTT engine, owned here so that ingest (device -> Kafka) and delivery (Kafka -> device) each
 * bring their hooks and neither owns the other's connections. Listed before both in start order,
 * so it stops after them: ingest drains its records, delivery stops reading, then the clients are
 * told goodbye.
 */
import type { ProxyConfig } from '../../config/types.js';
import type { ConnectionHandler } from '../../listeners/index.js';
import { createMqttEngine, type MqttEngine } from '../../mqtt/engine.js';
import { ReasonCode } from '../../mqtt/reason-codes.js';
import type { MqttHooks } from '../../mqtt/types.js';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { Part } from '../part.js';

export interface MqttPart extends Part {
  readonly engine: MqttEngine;
  /** Serves one client connection: what the listeners hand each accepted stream to. */
  readonly onConnection: ConnectionHandler;
}

export interface MqttPartOptions {
  readonly config: ProxyConfig;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly hooks: MqttHooks;
}

export function createMqttPart({ config, logger, metrics, hooks }: MqttPartOptions): MqttPart {
  const engine = createMqttEngine({ limits: config.limits, logger: logger.child({ component: 'mqtt' }), metrics, hooks });
  let started = false;
  return {
    name: 'mqtt',
    engine,
    onConnection: (stream, info) => engine.handle(stream, info),
    async start() {
      await engine.start();
      started = true;
    },
    async stop() {
      if (!started) return;
      await engine.disconnectAll(ReasonCode.ServerShuttingDown);
      await engine.close();
    },
  };
}

/**
 * Ingest's hooks with delivery's added: the connection events go to both (ingest first), the
 * subscriber side to delivery alone; a PUBLISH hook of delivery's (ingest's, kept exactly once in
 * persistent sessions) replaces ingest's.
 */
export function composeHooks(ingest: MqttHooks, delivery: Partial<MqttHooks> | undefined): MqttHooks {
  if (delivery === undefined) return ingest;
  const both = <A extends unknown[]>(a: ((...args: A) => void) | undefined, b: ((...args: A) => void) | undefined) =>
    a === undefined ? b : b === undefined ? a : (...args: A): void => {
      a(...args);
      b(...args);
    };
  const hooks: MqttHooks = { ...ingest };
  const onConnect = both(ingest.onConnect, delivery.onConnect);
  const onDisconnect = both(ingest.onDisconnect, delivery.onDisconnect);
  const onClosed = both(ingest.onClosed, delivery.onClosed);
  if (onConnect !== undefined) hooks.onConnect = onConnect;
  if (onDisconnect !== undefined) hooks.onDisconnect = onDisconnect;
  if (onClosed !== undefined) hooks.onClosed = onClosed;
  if (delivery.capabilities !== undefined) hooks.capabilities = delivery.capabilities;
  if (delivery.onSubscribe !== undefined) hooks.onSubscribe = delivery.onSubscribe;
  if (delivery.onUnsubscribe !== undefined) hooks.onUnsubscribe = delivery.onUnsubscribe;
  if (delivery.onDeliveryAcknowledged !== undefined) hooks.onDeliveryAcknowledged = delivery.onDeliveryAcknowledged;
  if (delivery.openSession !== undefined) hooks.openSession = delivery.openSession;
  if (delivery.onSessionEnd !== undefined) hooks.onSessionEnd = delivery.onSessionEnd;
  if (delivery.onDeliveryReleased !== undefined) hooks.onDeliveryReleased = delivery.onDeliveryReleased;
  if (delivery.onQoS2Released !== undefined) hooks.onQoS2Released = delivery.onQoS2Released;
  if (delivery.onPublish !== undefined) hooks.onPublish = delivery.onPublish;
  return hooks;
}
