/**
 * The HTTP side of an http / https ingest listener. The listener (tcp.ts: PROXY header, TLS and mTLS
 * as for MQTT) hands over each connection; an http.Server that never listens itself serves it.
 * X-Forwarded-For names the client when the peer is a trusted proxy (`trustedProxies`).
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { AccessControl } from '../../auth/access-control.js';
import { CidrSet } from '../../common/ip-address.js';
import type { HttpIngestConfig, ListenerConfig } from '../../config/types.js';
import { clientAddressFromForwardedFor } from '../../listeners/forwarded-for.js';
import type { ConnectionHandler, ConnectionInfo } from '../../listeners/index.js';
import type { ProxyMetrics } from '../../observability/metrics.js';
import type { PublishPipeline } from '../../pipeline/pipeline.js';
import { ConnectionCredentials } from './credentials.js';
import { handleRequest, type HandlerContext } from './handler.js';
import { RequestLimits } from './request-limits.js';
import { sendError } from './respond.js';

export interface HttpIngestServerOptions {
  readonly listener: ListenerConfig & { readonly ingest: HttpIngestConfig };
  readonly pipeline: PublishPipeline;
  readonly access: () => AccessControl;
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
}

export interface HttpIngestServer {
  readonly onConnection: ConnectionHandler;
  /** Refuses new requests, closes idle connections; resolves once the requests being served are answered. */
  drain(timeoutMs: number): Promise<void>;
  /** Closes every connection left. */
  close(): void;
}

interface Connection {
  readonly info: ConnectionInfo;
  readonly credentials: ConnectionCredentials;
  busy: number;
}

export function createHttpIngestServer(options: HttpIngestServerOptions): HttpIngestServer {
  const { listener, metrics } = options;
  const name = `${listener.protocol}:${listener.port}`;
  const config = listener.ingest;
  const logger = options.logger.child({ listener: name });
  const trusted = CidrSet.parse(listener.trustedProxies ?? []);
  const connections = new Map<Duplex, Connection>();
  let draining = false;
  const idleWaiters: Array<() => void> = [];
  const context: HandlerContext = {
    listener: name,
    logger,
    metrics,
    retryAfterSeconds: config.retryAfterSeconds,
    config,
    pipeline: options.pipeline,
    access: options.access,
    limits: new RequestLimits(config.maxRequestsInFlight, config.maxRequestsInFlightPerAddress),
    draining: () => draining,
  };

  const server = http.createServer({ keepAliveTimeout: config.keepAliveTimeoutMs, requestTimeout: 0, headersTimeout: config.bodyTimeoutMs });
  // The socket's inactivity timeout closes idle keep-alive connections and clients that stop
  // sending; a request waiting for Kafka is not inactivity, so a busy connection is kept.
  server.timeout = config.keepAliveTimeoutMs;
  server.on('timeout', (socket: Duplex) => {
    if ((connections.get(socket)?.busy ?? 0) === 0) socket.destroy();
  });
  server.on('clientError', (error: Error, socket: Duplex) => {
    metrics.protocolErrors.inc({ kind: 'http-malformed' });
    logger.debug({ err: error.message }, 'bad HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    socket.destroy();
  });
  server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
    const connection = connections.get(request.socket);
    if (connection === undefined) {
      request.socket.destroy();
      return;
    }
    const remoteAddress = clientAddressFromForwardedFor(connection.info.remoteAddress, request.headers['x-forwarded-for'], trusted);
    const facts = { remoteAddress, certificateIdentity: connection.info.certificateIdentity, credentials: connection.credentials };
    connection.busy++;
    if (draining) response.shouldKeepAlive = false;
    handleRequest(context, request, response, facts)
      .catch((error: unknown) => {
        logger.error({ err: error, remoteAddress }, 'HTTP ingest request failed');
        sendError(context, response, 'internal-error', `internal error: ${(error as Error).message}`, { remoteAddress, method: request.method, url: request.url });
      })
      .finally(() => {
        connection.busy--;
        if (draining && connection.busy === 0) request.socket.end();
        if (draining && busyCount() === 0) for (const resolve of idleWaiters.splice(0)) resolve();
      });
  });
  const busyCount = (): number => [...connections.values()].reduce((sum, connection) => sum + connection.busy, 0);

  return {
    onConnection(stream, info) {
      connections.set(stream, { info, credentials: new ConnectionCredentials(), busy: 0 });
      stream.once('close', () => connections.delete(stream));
      server.emit('connection', stream);
      // After a PROXY header the socket was left paused with the bytes after it put back: read on.
      if (stream.isPaused()) stream.resume();
    },
    async drain(timeoutMs) {
      draining = true;
      for (const [socket, connection] of connections) if (connection.busy === 0) socket.end();
      if (busyCount() === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => idleWaiters.push(resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    },
    close() {
      for (const socket of connections.keys()) socket.destroy();
      connections.clear();
    },
  };
}
