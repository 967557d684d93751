/**
 * TLS for tcp-style listeners: a tls.Server that never listens itself. The listener hands it each
 * socket after the PROXY header (if any) was read, because that header comes before the handshake.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerTlsConfig } from '../config/types.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import { certificateIdentity } from './certificate-identity.js';
import { CertificateStore } from './certificates.js';
import { normalizeAddress } from './ip-address.js';
import type { CertificateReloadResult } from './types.js';

export interface TlsTerminator {
  /** Starts the handshake on `socket`; `remoteAddress` is the client (from PROXY, or the peer). */
  accept(socket: net.Socket, remoteAddress: string): void;
  reloadCertificates(): CertificateReloadResult;
  close(): void;
}

export interface SecureClient {
  readonly socket: tls.TLSSocket;
  readonly remoteAddress: string;
  readonly certificateIdentity: string | undefined;
}

/**
 * Refuses a TLS socket whose client certificate did not verify (mTLS). Returns the identity of an
 * accepted one. Node is asked not to reject by itself so that each refusal is logged and counted.
 */
export function checkClientCertificate(
  socket: tls.TLSSocket,
  requestCert: boolean,
  remoteAddress: string,
  logger: Logger,
  metrics: ProxyMetrics,
): { readonly accepted: boolean; readonly identity: string | undefined } {
  if (!requestCert) return { accepted: true, identity: undefined };
  const certificate = socket.getPeerCertificate();
  const presented = certificate !== null && Object.keys(certificate).length > 0;
  if (!socket.authorized || !presented) {
    const reason = presented ? 'bad-certificate' : 'no-certificate';
    metrics.authFailures.inc({ reason });
    logger.warn(
      {
        remoteAddress,
        reason,
        // Without a certificate Node still reports a chain error (UNABLE_TO_GET_ISSUER_CERT): not the reason.
        verifyError: presented ? String(socket.authorizationError ?? 'unknown') : 'no certificate',
        subject: presented ? certificate.subject?.CN : undefined,
      },
      'client certificate refused',
    );
    socket.destroy();
    return { accepted: false, identity: undefined };
  }
  return { accepted: true, identity: certificateIdentity(certificate) };
}

/** Counts and logs TLS handshakes that failed (wrong version, garbage, timeout). */
export function observeHandshakeErrors(server: tls.Server, logger: Logger, metrics: ProxyMetrics, addressOf: (socket: tls.TLSSocket) => string): void {
  server.on('tlsClientError', (error: Error & { code?: string }, socket: tls.TLSSocket) => {
    metrics.protocolErrors.inc({ kind: 'tls-handshake' });
    logger.info({ remoteAddress: addressOf(socket), err: error.message, code: error.code }, 'TLS handshake failed');
  });
}

export function createTlsTerminator(
  config: ListenerTlsConfig,
  handshakeTimeoutMs: number,
  logger: Logger,
  metrics: ProxyMetrics,
  onSecure: (client: SecureClient) => void,
): TlsTerminator {
  // The client address of each socket in its handshake, by the socket's own "address|port": the
  // TLSSocket Node makes reports the same peer but is a different object.
  const handshaking = new Map<string, { readonly remoteAddress: string }>();
  const keyOf = (socket: net.Socket): string => `${socket.remoteAddress}|${socket.remotePort}`;
  const addressOf = (socket: net.Socket): string =>
    handshaking.get(keyOf(socket))?.remoteAddress ?? normalizeAddress(socket.remoteAddress ?? 'unknown');

  const store = new CertificateStore(config, logger, (options) => server.setSecureContext(options));
  const server = tls.createServer({
    ...store.secureContextOptions(),
    requestCert: config.requestCert,
    rejectUnauthorized: false,
    handshakeTimeout: handshakeTimeoutMs,
  });
  observeHandshakeErrors(server, logger, metrics, addressOf);
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    const remoteAddress = addressOf(socket);
    handshaking.delete(keyOf(socket));
    const { accepted, identity } = checkClientCertificate(socket, config.requestCert, remoteAddress, logger, metrics);
    if (accepted) onSecure({ socket, remoteAddress, certificateIdentity: identity });
  });
  store.watch();

  return {
    accept(socket, remoteAddress) {
      const key = keyOf(socket);
      const entry = { remoteAddress };
      handshaking.set(key, entry);
      // Forgotten once the handshake can no longer be running, whatever became of the socket (a
      // failed handshake may not say which address it was); a newer entry for the key is kept.
      const forget = (): void => {
        if (handshaking.get(key) === entry) handshaking.delete(key);
      };
      socket.once('close', forget);
      setTimeout(forget, handshakeTimeoutMs + 1000).unref();
      // tls.Server accepts injected connections this way (see node:tls, event 'connection').
      server.emit('connection', socket);
    },
    reloadCertificates: () => store.reload(),
    close: () => store.close(),
  };
}
