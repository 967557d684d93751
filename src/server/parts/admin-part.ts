/** The admin HTTP server (/metrics, /healthz, /readyz), first up and last down. */
import type { ProxyConfig } from '../../config/types.js';
import { createAdminServer, type Readiness } from '../../observability/admin-server.js';
import type { Logger } from '../../observability/logger.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { Part } from '../part.js';
import type { AdminAddress } from '../types.js';

export interface AdminPart extends Part {
  /** Once started. */
  readonly address: AdminAddress | undefined;
}

export interface AdminPartOptions {
  readonly config: ProxyConfig;
  /** Replaces `http.port`; 0 = any free port. */
  readonly port: number | undefined;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  readonly readiness: () => Readiness;
}

/** Undefined when there is no admin server (`http.port: 0` and no port given). */
export function createAdminPart(options: AdminPartOptions): AdminPart | undefined {
  const { config, port } = options;
  if (port === undefined && config.http.port === 0) return undefined;
  const logger = options.logger.child({ component: 'admin' });
  const server = createAdminServer({
    host: config.http.host,
    port: port ?? config.http.port,
    registry: options.metrics.registry,
    readiness: options.readiness,
    logger,
  });
  let address: AdminAddress | undefined;
  return {
    name: 'admin',
    get address() {
      return address;
    },
    async start() {
      // First: /healthz answers and /readyz says "starting" while the rest comes up.
      const bound = await server.listen();
      address = { host: bound.address, port: bound.port };
      options.logger.info({ host: bound.address, port: bound.port }, 'admin HTTP server listening (/metrics, /healthz, /readyz)');
    },
    stop: () => server.close(),
  };
}
