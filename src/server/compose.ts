/**
 * Builds the parts of a proxy from a validated config, wires them together and lists them in the
 * order they start (and, reversed, stop). Nothing is bound or connected here. A new part (delivery,
 * state, HTTP ingest) is built here and takes its place in `parts`.
 */
import { changes } from '../config/reload-diff.js';
import type { ProxyConfig } from '../config/types.js';
import type { Readiness } from '../observability/admin-server.js';
import type { Logger } from '../observability/logger.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import type { LifecyclePhase } from './lifecycle.js';
import { routerFor } from './load-config.js';
import type { Part } from './part.js';
import { createAccessPart, type AccessPart } from './parts/access-part.js';
import { createAdminPart, type AdminPart } from './parts/admin-part.js';
import { createDeliveryPart, type DeliveryPart } from './parts/delivery-part.js';
import { createHttpIngestPart } from './parts/http-ingest-part.js';
import { createIngestPart, type IngestPart } from './parts/ingest-part.js';
import { createKafkaPart, type KafkaPart } from './parts/kafka-part.js';
import { createListenersPart, type ListenersPart } from './parts/listeners-part.js';
import { composeHooks, createMqttPart, type MqttPart } from './parts/mqtt-part.js';
import { createRetainedPart, type RetainedPart } from './parts/retained-part.js';
import { readinessOf } from './readiness.js';
import { WILL_REPLY } from '../mqtt/will.js';
import type { ReloadStep } from './reload.js';

export interface ComposeOptions {
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  /** The logger is the proxy's own (not the embedder's): a reload may change its level. */
  readonly ownLogger: boolean;
  /** Replaces `http.port` for the admin server; 0 = any free port. */
  readonly adminPort: number | undefined;
  /** Where the proxy is in its life, for readiness. */
  readonly phase: () => LifecyclePhase;
}

export interface ComposedProxy {
  /** In start order. */
  readonly parts: readonly Part[];
  /** Given a new config in this order on each reload. */
  readonly reloadSteps: readonly ReloadStep[];
  readonly readiness: () => Readiness;
  readonly admin: AdminPart | undefined;
  readonly kafka: KafkaPart;
  readonly access: AccessPart;
  readonly ingest: IngestPart;
  readonly mqtt: MqttPart;
  /** Undefined without delivery rules. */
  readonly delivery: DeliveryPart | undefined;
  readonly listeners: ListenersPart;
  /** Its store (undefined when retained messages are off) is what ingest writes and delivery reads. */
  readonly retained: RetainedPart;
}

export function composeProxy(config: ProxyConfig, options: ComposeOptions): ComposedProxy {
  const { logger, metrics } = options;
  const access = createAccessPart(config, logger, metrics);
  const kafka = createKafkaPart(config, logger, metrics);
  const retained = createRetainedPart(config, logger);
  const ingest = createIngestPart({ config, logger, metrics, sink: kafka.sink, access, retained: retained.store });
  const httpIngest = createHttpIngestPart({ config, logger, metrics, pipeline: ingest.pipeline, access });
  const delivery = createDeliveryPart({ config, logger, metrics, access, retained: retained.store, publishWill: (session, will) => ingest.hooks.onPublish(session, will, WILL_REPLY) });
  const exactlyOnce = delivery?.exactlyOnce(ingest.pipeline);
  const mqtt = createMqttPart({ config, logger, metrics, hooks: composeHooks(ingest.hooks, delivery === undefined ? undefined : { ...delivery.hooks, ...(exactlyOnce !== undefined && { onPublish: exactlyOnce }) }) });
  ingest.attach(mqtt.engine);
  delivery?.attach(mqtt.engine);
  const listeners = createListenersPart(config, logger, metrics, mqtt.onConnection, (listener) => httpIngest.connectionHandler(listener));
  // The engine before ingest and delivery: it stops after ingest drained and delivery stopped
  // reading, so the acknowledgements go out before the clients are told goodbye. Retained before
  // them all: it stops after ingest has drained the retained writes on their way. HTTP ingest
  // after ingest: its requests are answered before the pipeline drains.
  const sessions = delivery?.sessions === undefined ? [] : [delivery.sessions];
  const serving: readonly Part[] = [kafka, access, retained, ...sessions, mqtt, ...(delivery === undefined ? [] : [delivery]), ingest, httpIngest, listeners, kafka.connect];
  const readiness = (): Readiness => readinessOf(options.phase(), serving);
  metrics.observe(() => {
    const { messages, bytes } = ingest.pipeline.inflight;
    return { inflightMessages: messages, inflightBytes: bytes, ready: readiness().ready };
  });
  const admin = createAdminPart({ config, port: options.adminPort, logger, metrics, readiness });
  return {
    parts: admin === undefined ? serving : [admin, ...serving],
    reloadSteps: [mappingsStep(ingest), access, ...(options.ownLogger ? [logStep(logger)] : []), listeners],
    readiness,
    admin,
    kafka,
    access,
    ingest,
    mqtt,
    delivery,
    listeners,
    retained,
  };
}

/** New rules take over at once; publishes already routed keep their route. */
function mappingsStep(ingest: IngestPart): ReloadStep {
  return {
    name: 'mappings',
    reload: (next, change) => {
      if (changes(change, 'mappings', 'unmapped')) ingest.pipeline.setRouter(routerFor(next));
    },
  };
}

/** A logger the embedder passed in is theirs to configure, so this step exists only for the proxy's own. */
function logStep(logger: Logger): ReloadStep {
  return {
    name: 'log',
    reload: (next, change) => {
      if (changes(change, 'log')) logger.level = next.log.level;
    },
  };
}
