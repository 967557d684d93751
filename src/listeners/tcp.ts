/**
 * tcp and tls listeners: plain sockets, optionally behind a PROXY protocol header, optionally TLS.
 * http and https ingest listeners are the same below HTTP: their connections go to an HTTP server.
 */
import net from 'node:net';
import type { ListenerConfig } from '../config/types.js';
import { CidrSet, normalizeAddress } from '../common/ip-address.js';
import type { Logger } from 'pino';
import { readProxyHeader, type ProxyIntakeOutcome } from './proxy-protocol-intake.js';
import { createTlsTerminator, type TlsTerminator } from './tls-terminator.js';
import type { Listener, ListenerDependencies } from './types.js';
import { bindServer } from './bind.js';
import type { AdmittedSocket } from './connection-admission.js';

export type { CertificateReloadResult, ConnectionHandler, Listener, ListenerDependencies } from './types.js';

export function createTcpListener(config: ListenerConfig, deps: ListenerDependencies): Listener {
  const name = `${config.protocol}:${config.port}`;
  const logger = deps.logger.child({ listener: name });
  const { metrics } = deps;

  const proxyProtocol = config.proxyProtocol;
  const trusted = proxyProtocol === undefined ? undefined : CidrSet.parse(proxyProtocol.trustedCidrs);
  // Each socket handed to the TLS terminator, with its admission: handed over once secure.
  const admitted = new WeakMap<net.Socket, AdmittedSocket>();

  let terminator: TlsTerminator | undefined;
  if (config.protocol === 'tls' || config.protocol === 'https') {
    if (config.tls === undefined) throw new Error(`listener ${name}: tls settings are required`);
    terminator = createTlsTerminator(config.tls, deps.handshakeTimeoutMs, logger, metrics, ({ socket, transport, remoteAddress, certificateIdentity }) => {
      if (transport !== undefined) admitted.get(transport)?.handedOver();
      deps.onConnection(socket, {
        remoteAddress,
        listener: name,
        ...(certificateIdentity === undefined ? {} : { certificateIdentity }),
      });
    });
  }

  const deliver = (socket: net.Socket, remoteAddress: string, admission: AdmittedSocket): void => {
    if (terminator !== undefined) {
      admitted.set(socket, admission);
      terminator.accept(socket, remoteAddress);
      return;
    }
    admission.handedOver();
    deps.onConnection(socket, { remoteAddress, listener: name });
  };

  const server = net.createServer({ noDelay: true }, (socket) => {
    const peer = normalizeAddress(socket.remoteAddress ?? 'unknown');
    const fromTrusted = trusted?.contains(socket.remoteAddress) === true;
    // Until the handshake is done: the PROXY header (a trusted peer's own timeout, else the
    // connect timeout for the first bytes), then the TLS handshake. Plain MQTT has the engine's connect timeout.
    const headerMs = proxyProtocol === undefined ? 0 : fromTrusted ? proxyProtocol.headerTimeoutMs : deps.handshakeTimeoutMs;
    const admission = deps.admission.admit(socket, {
      listener: name,
      // A trusted proxy's clients share its address: they are counted once its header names them.
      address: fromTrusted ? undefined : peer,
      deadlineMs: terminator === undefined ? 0 : headerMs + deps.handshakeTimeoutMs,
    });
    if (admission === undefined) return;
    if (trusted === undefined || proxyProtocol === undefined) {
      deliver(socket, peer, admission);
      return;
    }
    void readProxyHeader(socket, fromTrusted, headerMs).then((outcome) => {
      const client = clientOf(outcome, peer, fromTrusted, deps, logger);
      if (client === undefined) socket.destroy();
      else if (admission.identify(client)) deliver(socket, client, admission);
    });
  });

  return {
    name,
    listen: () => bindServer(server, config.port, config.host),
    close() {
      terminator?.close();
      // server.close() calls back only once every connection has ended; the engine ends them
      // after the drain, so waiting here would wait for clients that were never told to leave.
      if (server.listening) server.close();
      return Promise.resolve();
    },
    reloadCertificates() {
      return terminator?.reloadCertificates() ?? { outcome: 'none' };
    },
  };
}

/**
 * The client's address after the PROXY header was looked for: the header's source, or the peer
 * itself (a direct client, or a header that names no client); undefined when the connection is to
 * be closed (reported here).
 */
function clientOf(outcome: ProxyIntakeOutcome, peer: string, fromTrusted: boolean, deps: ListenerDependencies, logger: Logger): string | undefined {
  switch (outcome.kind) {
    case 'closed':
      return undefined;
    case 'direct':
      return peer;
    case 'refused':
      if (outcome.reason === 'timeout' && !fromTrusted) {
        // A direct client that never spoke: the engine's connect timeout, applied here.
        deps.metrics.limitsHit.inc({ limit: 'connect-timeout' });
        logger.debug({ remoteAddress: peer, reason: outcome.detail }, 'connection closed: no bytes');
        return undefined;
      }
      deps.metrics.protocolErrors.inc({ kind: `proxy-protocol-${outcome.reason}` });
      logger.warn({ remoteAddress: peer, reason: outcome.reason, detail: outcome.detail }, 'PROXY protocol: connection refused');
      return undefined;
    case 'header': {
      const { header } = outcome;
      // LOCAL (health checks), UNKNOWN and unix sources name no client: the peer is the client.
      const client = header.command === 'proxy' && header.source !== undefined ? normalizeAddress(header.source.address) : peer;
      logger.debug({ remoteAddress: client, proxy: peer, version: header.version, command: header.command }, 'PROXY header accepted');
      return client;
    }
  }
}
