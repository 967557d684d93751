/**
 * ws and wss listeners: MQTT over WebSocket (binary frames, subprotocol `mqtt`) with `ws`'s
 * createWebSocketStream, on a plain HTTP or an HTTPS server.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { ListenerConfig } from '../config/types.js';
import { CertificateStore } from './certificates.js';
import { clientAddressFromForwardedFor } from './forwarded-for.js';
import { CidrSet, normalizeAddress } from '../common/ip-address.js';
import { observeHandshakeErrors, transportOf, verifiedIdentity } from './tls-handshake.js';
import type { Listener, ListenerDependencies } from './types.js';
import { bindServer } from './bind.js';
import type { AdmittedSocket } from './connection-admission.js';

/** Subprotocols served, in order of preference: `mqtt` (3.1.1 and 5), `mqttv3.1` (MQTT 3.1 clients). */
export const MQTT_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'] as const;

/** Room above limits.maxPacketSize in one WebSocket message: a client may put several packets in one. */
export const WEBSOCKET_MESSAGE_HEADROOM = 64 * 1024;

/** The subprotocol to answer with; null when the client offered some but none is MQTT's. */
export function chooseSubprotocol(offered: ReadonlySet<string>): string | false | null {
  for (const protocol of MQTT_SUBPROTOCOLS) if (offered.has(protocol)) return protocol;
  // No Sec-WebSocket-Protocol at all: accepted without one (some embedded clients send none).
  return offered.size === 0 ? false : null;
}

export function parseSubprotocols(header: string | undefined): Set<string> {
  if (header === undefined) return new Set();
  return new Set(
    header
      .split(',')
      .map((value) => value.trim())
      .filter((value) => value !== ''),
  );
}

export function createWebSocketListener(config: ListenerConfig, deps: ListenerDependencies): Listener {
  const name = `${config.protocol}:${config.port}`;
  const logger = deps.logger.child({ listener: name });
  const { server, store } = createHttpServer(config, name, deps, logger);
  const trustedProxies = CidrSet.parse(config.trustedProxies ?? []);
  const upgrades: UpgradeContext = {
    config,
    name,
    path: config.path ?? '/mqtt',
    logger,
    deps,
    trustedProxies,
    admitted: admitSockets(server, name, deps, trustedProxies),
    webSockets: new WebSocketServer({
      noServer: true,
      maxPayload: deps.maxPacketSize + WEBSOCKET_MESSAGE_HEADROOM,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (offered) => chooseSubprotocol(offered) ?? false,
    }),
  };

  server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
    // Plain HTTP: say where MQTT is, nothing else is served here.
    const onPath = pathOf(request.url) === upgrades.path;
    response.writeHead(onPath ? 426 : 404, { 'content-type': 'text/plain', connection: 'close', ...(onPath ? { upgrade: 'websocket' } : {}) });
    response.end(onPath ? 'MQTT over WebSocket: upgrade required\n' : 'not found\n');
  });
  server.on('clientError', (error: Error, socket: Duplex) => {
    logger.debug({ err: error.message }, 'bad HTTP request');
    socket.destroy();
  });
  server.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => upgrade(upgrades, request, socket, head));

  return {
    name,
    listen: () => bindServer(server, config.port, config.host),
    close() {
      store?.close();
      // Upgraded sockets belong to the engine now; only stop accepting.
      if (server.listening) server.close();
      return Promise.resolve();
    },
    reloadCertificates() {
      return store?.reload() ?? { outcome: 'none' };
    },
  };
}

/** An HTTP server, or for wss an HTTPS one with its certificate store (watched for changes). */
function createHttpServer(
  config: ListenerConfig,
  name: string,
  deps: ListenerDependencies,
  logger: Logger,
): { readonly server: http.Server; readonly store: CertificateStore | undefined } {
  let store: CertificateStore | undefined;
  let server: http.Server;
  if (config.protocol === 'wss') {
    const tlsConfig = config.tls;
    if (tlsConfig === undefined) throw new Error(`listener ${name}: tls settings are required`);
    let httpsServer: https.Server | undefined;
    store = new CertificateStore(tlsConfig, logger, (options) => httpsServer?.setSecureContext(options));
    httpsServer = https.createServer({
      ...store.secureContextOptions(),
      requestCert: tlsConfig.requestCert,
      // mTLS: refused in the handshake by Node (see tls-terminator); no HTTP byte is read from them.
      rejectUnauthorized: tlsConfig.requestCert,
      handshakeTimeout: deps.handshakeTimeoutMs,
    });
    observeHandshakeErrors(httpsServer, tlsConfig.requestCert, logger, deps.metrics, (socket) =>
      normalizeAddress(transportOf(socket)?.remoteAddress ?? socket.remoteAddress ?? 'unknown'),
    );
    store.watch();
    server = httpsServer;
  } else {
    server = http.createServer();
  }
  // An upgrade that never completes must not hold a socket for long. Node checks these two only
  // every few seconds; the admission deadline (see admitSockets) is what closes such a socket in time.
  server.headersTimeout = deps.handshakeTimeoutMs;
  server.requestTimeout = deps.handshakeTimeoutMs;
  return { server, store };
}

/** Every TCP socket is admitted as it is accepted, before its TLS handshake and HTTP upgrade. */
function admitSockets(server: http.Server, name: string, deps: ListenerDependencies, trustedProxies: CidrSet): WeakMap<net.Socket, AdmittedSocket> {
  const admitted = new WeakMap<net.Socket, AdmittedSocket>();
  server.on('connection', (socket: net.Socket) => {
    const peer = normalizeAddress(socket.remoteAddress ?? 'unknown');
    const admission = deps.admission.admit(socket, {
      listener: name,
      // A trusted proxy's clients share its address: they are counted once X-Forwarded-For names them.
      address: trustedProxies.contains(socket.remoteAddress) ? undefined : peer,
      deadlineMs: deps.handshakeTimeoutMs,
    });
    if (admission !== undefined) admitted.set(socket, admission);
  });
  return admitted;
}

/** What the upgrade of every request on one listener needs. */
interface UpgradeContext {
  readonly config: ListenerConfig;
  readonly name: string;
  readonly path: string;
  readonly logger: Logger;
  readonly deps: ListenerDependencies;
  readonly trustedProxies: CidrSet;
  readonly admitted: WeakMap<net.Socket, AdmittedSocket>;
  readonly webSockets: WebSocketServer;
}

/** An HTTP upgrade: on the MQTT path with an MQTT subprotocol it becomes a connection, else it is refused. */
function upgrade(context: UpgradeContext, request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  if (socket.destroyed) return;
  const { config, path, logger, deps } = context;
  const peer = (socket as net.Socket).remoteAddress ?? 'unknown';
  const remoteAddress = clientAddressFromForwardedFor(peer, request.headers['x-forwarded-for'], context.trustedProxies);
  const refuse = (status: number, text: string, kind: string): void => {
    deps.metrics.protocolErrors.inc({ kind });
    logger.info({ remoteAddress, url: request.url, status }, `WebSocket upgrade refused: ${text}`);
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: text/plain\r\n\r\n${text}\n`);
    socket.destroy();
  };
  if (pathOf(request.url) !== path) {
    refuse(404, `no MQTT endpoint at this path (it is ${path})`, 'websocket-path');
    return;
  }
  const offered = parseSubprotocols(request.headers['sec-websocket-protocol']);
  if (chooseSubprotocol(offered) === null) {
    refuse(400, `unsupported WebSocket subprotocol (use ${MQTT_SUBPROTOCOLS.join(' or ')})`, 'websocket-subprotocol');
    return;
  }
  const certificateIdentity =
    config.protocol === 'wss' ? verifiedIdentity(socket as tls.TLSSocket, config.tls?.requestCert === true) : undefined;
  const transport = config.protocol === 'wss' ? transportOf(socket as tls.TLSSocket) : (socket as net.Socket);
  const admission = transport === undefined ? undefined : context.admitted.get(transport);
  if (admission === undefined || !admission.identify(remoteAddress)) {
    socket.destroy();
    return;
  }
  context.webSockets.handleUpgrade(request, socket, head, (webSocket) => {
    admission.handedOver();
    const stream = createWebSocketStream(webSocket);
    deps.onConnection(stream, {
      remoteAddress,
      listener: context.name,
      ...(certificateIdentity === undefined ? {} : { certificateIdentity }),
    });
  });
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const query = url.search(/[?#]/);
  return query === -1 ? url : url.slice(0, query);
}
