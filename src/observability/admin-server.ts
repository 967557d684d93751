import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** Whether the proxy should receive traffic, and if not, why (shown in the /readyz body). */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

export interface AdminServerOptions {
  readonly host: string;
  /** 0 binds an ephemeral port. */
  readonly port: number;
  readonly registry: Registry;
  readonly readiness: () => Readiness;
  readonly logger: Logger;
}

export interface AdminServer {
  listen(): Promise<AddressInfo>;
  /** Stops accepting and closes idle keep-alive connections; resolves once the server is closed. */
  close(): Promise<void>;
}

/**
 * The admin HTTP server: `/metrics` (Prometheus text), `/healthz` (the process answers) and
 * `/readyz` (200 when the proxy should get traffic, 503 with the reason otherwise). Plain
 * node:http: three read-only routes do not need a framework.
 */
export function createAdminServer(options: AdminServerOptions): AdminServer {
  const { registry, readiness, logger } = options;

  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(response, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    switch (path) {
      case '/healthz':
        send(response, 200, 'ok\n');
        return;
      case '/readyz': {
        const state = readiness();
        if (state.ready) send(response, 200, 'ready\n');
        else send(response, 503, `not ready: ${state.reason}\n`);
        return;
      }
      case '/metrics':
        registry.metrics().then(
          (text) => send(response, 200, text, { 'content-type': registry.contentType }),
          (error: unknown) => {
            logger.error({ err: (error as Error).message }, 'cannot collect metrics');
            send(response, 500, 'cannot collect metrics\n');
          },
        );
        return;
      default:
        send(response, 404, 'not found: try /metrics, /healthz or /readyz\n');
    }
  });
  // Probes and scrapers hold keep-alive connections; they must not keep a stopping process alive.
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10000;
  server.requestTimeout = 10000;

  return {
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      if (!server.listening) return Promise.resolve();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

function send(response: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
