/**
 * Kafka -> device: present when the config has delivery rules. Its hooks join ingest's in the MQTT
 * part; it reads the delivery topics its local subscriptions need, and stops reading before the
 * engine says goodbye to the clients.
 */
import type { ProxyConfig } from '../../config/types.js';
import { createDelivery, type Delivery, type DeliveryHooks } from '../../delivery/delivery-service.js';
import type { DeliveryEngine } from '../../delivery/types.js';
import { connectionFromConfig } from '../../kafka/config-connection.js';
import { compileDeliveryRouter } from '../../mapping/delivery-router.js';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { RetainedStore } from '../../state/retained-store.js';
import type { Part } from '../part.js';
import type { AccessPart } from './access-part.js';

export interface DeliveryPart extends Part {
  readonly hooks: DeliveryHooks;
  attach(engine: DeliveryEngine): void;
}

export interface DeliveryPartOptions {
  readonly config: ProxyConfig;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly access: AccessPart;
  /** undefined when retained messages are off. */
  readonly retained: RetainedStore | undefined;
}

/** Undefined when there are no delivery rules: SUBSCRIBE is then refused as before. */
export function createDeliveryPart({ config, logger, metrics, access, retained }: DeliveryPartOptions): DeliveryPart | undefined {
  if (config.delivery.length === 0) return undefined;
  const delivery: Delivery = createDelivery({
    config,
    router: compileDeliveryRouter(config.delivery),
    connection: connectionFromConfig(config.kafka, 'delivery'),
    // Through the part: a reload may replace the access control.
    access: () => access.current,
    metrics,
    logger: logger.child({ component: 'delivery' }),
    retained,
  });
  metrics.observeDelivery(() => delivery.state());
  return {
    name: 'delivery',
    hooks: delivery.hooks,
    attach: (engine) => delivery.attach(engine),
    start: () => Promise.resolve(),
    stop: () => delivery.close(),
  };
}
