/**
 * TLS for tcp-style listeners: a tls.Server that never listens itself. The listener hands it each
 * socket after the PROXY header (if any) was read, because that header comes before the handshake.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerTlsConfig } from '../config/types.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import { CertificateStore } from './certificates.js';
import { normalizeAddress } from '../common/ip-address.js';
import { observeHandshakeErrors, transportOf, verifiedIdentity } from './tls-handshake.js';
import type { CertificateReloadResult } from './types.js';

export interface TlsTerminator {
  /** Starts the handshake on `socket`; `remoteAddress` is the client (from PROXY, or the peer). */
  accept(socket: net.Socket, remoteAddress: string): void;
  reloadCertificates(): CertificateReloadResult;
  close(): void;
}

export interface SecureClient {
  readonly socket: tls.TLSSocket;
  /** The TCP socket the TLS runs on (the one handed to `accept`). */
  readonly transport: net.Socket | undefined;
  readonly remoteAddress: string;
  readonly certificateIdentity: string | undefined;
}

export function createTlsTerminator(
  config: ListenerTlsConfig,
  handshakeTimeoutMs: number,
  logger: Logger,
  metrics: ProxyMetrics,
  onSecure: (client: SecureClient) => void,
): TlsTerminator {
  // The client address of each TCP socket handed over (from PROXY, or the peer): the TLSSocket Node
  // wraps around it is another object, and one destroyed in its handshake has lost its address.
  const clientAddresses = new WeakMap<net.Socket, string>();
  const addressOf = (socket: tls.TLSSocket): string => {
    const transport = transportOf(socket);
    return (transport && clientAddresses.get(transport)) ?? normalizeAddress(socket.remoteAddress ?? 'unknown');
  };

  const store = new CertificateStore(config, logger, (options) => server.setSecureContext(options));
  const server = tls.createServer({
    ...store.secureContextOptions(),
    requestCert: config.requestCert,
    // mTLS: a client without a verified certificate is refused in the handshake, by Node, before
    // the server's Finished; observeHandshakeErrors logs and counts each refusal.
    rejectUnauthorized: config.requestCert,
    handshakeTimeout: handshakeTimeoutMs,
  });
  observeHandshakeErrors(server, config.requestCert, logger, metrics, addressOf);
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    onSecure({ socket, transport: transportOf(socket), remoteAddress: addressOf(socket), certificateIdentity: verifiedIdentity(socket, config.requestCert) });
  });
  store.watch();

  return {
    accept(socket, remoteAddress) {
      clientAddresses.set(socket, remoteAddress);
      // tls.Server accepts injected connections this way (see node:tls, event 'connection').
      server.emit('connection', socket);
    },
    reloadCertificates: () => store.reload(),
    close: () => store.close(),
  };
}
