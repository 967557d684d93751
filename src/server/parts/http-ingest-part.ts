/**
 * HTTP ingest: the http / https listeners' requests, through the same publish pipeline, access
 * control and Kafka sink as MQTT. Built after the ingest part (whose pipeline it uses) and stopped
 * before it: its requests in flight are answered before the pipeline drains.
 */
import type { ListenerConfig, ProxyConfig } from '../../config/types.js';
import { createHttpIngestServer, type HttpIngestServer } from '../../ingest/http/server.js';
import type { ConnectionHandler } from '../../listeners/index.js';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { PublishPipeline } from '../../pipeline/pipeline.js';
import type { Part } from '../part.js';
import type { AccessPart } from './access-part.js';

export interface HttpIngestPart extends Part {
  /** The connection handler of an http / https listener; undefined for MQTT listeners. */
  connectionHandler(listener: ListenerConfig): ConnectionHandler | undefined;
}

export interface HttpIngestPartOptions {
  readonly config: ProxyConfig;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly pipeline: PublishPipeline;
  readonly access: AccessPart;
}

export function createHttpIngestPart(options: HttpIngestPartOptions): HttpIngestPart {
  const { config, pipeline, access, metrics } = options;
  const logger = options.logger.child({ component: 'http-ingest' });
  const servers = new Map<ListenerConfig, HttpIngestServer>();
  for (const listener of config.listeners) {
    const ingest = listener.ingest;
    if (ingest === undefined) continue;
    // Through the part: a reload may replace the access control.
    servers.set(listener, createHttpIngestServer({ listener: { ...listener, ingest }, pipeline, access: () => access.current, logger, metrics }));
  }
  return {
    name: 'http-ingest',
    connectionHandler: (listener) => servers.get(listener)?.onConnection,
    start: () => Promise.resolve(),
    async stop({ drainTimeoutMs }) {
      // The listeners are closed already; requests being served get Kafka's answer (the sink still runs).
      await Promise.all([...servers.values()].map((server) => server.drain(drainTimeoutMs)));
      for (const server of servers.values()) server.close();
    },
  };
}
