/**
 * What the tls and wss listeners share about TLS handshakes: the TCP socket under a server-side
 * TLSSocket, and the logging and counting of handshakes that failed, mTLS refusals included.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import type { ProxyMetrics } from '../observability/metrics.js';
import { certificateIdentity } from './certificate-identity.js';

/**
 * The TCP socket a server-side TLSSocket wraps. Node keeps it as `_parent` (undocumented, but there
 * since the TLS rewrite in Node 0.11). It matters because a TLSSocket that Node destroyed in the
 * handshake no longer knows its peer address, while the TCP socket still does.
 */
export function transportOf(socket: tls.TLSSocket): net.Socket | undefined {
  return (socket as unknown as { _parent?: net.Socket | null })._parent ?? undefined;
}

/** Why a client was refused in an mTLS handshake. */
export type CertificateRefusal = 'no-certificate' | 'bad-certificate';

type TlsError = Error & { code?: string };

/**
 * Reads a failed server-side handshake as an mTLS refusal, or undefined for any other failure.
 * No certificate: OpenSSL fails the handshake itself (`rejectUnauthorized` asks it to) and sends the
 * alert. A certificate that does not verify: Node checks the chain as the handshake ends and
 * destroys the socket before the client gets the server's Finished (TLS 1.2) or any data (1.3);
 * the error is then only "socket hang up", and the socket's `authorizationError` says why.
 */
export function certificateRefusal(error: TlsError, socket: tls.TLSSocket): CertificateRefusal | undefined {
  if (error.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' || /peer did not return a certificate/i.test(error.message)) {
    return 'no-certificate';
  }
  if (socket.authorizationError) return 'bad-certificate';
  if (/certificate verify failed|unknown ca|bad certificate|unsupported certificate/i.test(error.message)) return 'bad-certificate';
  return undefined;
}

/**
 * Logs and counts every failed handshake of `server`: mTLS refusals as `client certificate refused`
 * (auth failures by reason), the rest (wrong version, garbage, timeout) as protocol errors.
 */
export function observeHandshakeErrors(
  server: tls.Server,
  requestCert: boolean,
  logger: Logger,
  metrics: ProxyMetrics,
  addressOf: (socket: tls.TLSSocket) => string,
): void {
  server.on('tlsClientError', (error: TlsError, socket: tls.TLSSocket) => {
    const remoteAddress = addressOf(socket);
    const refusal = requestCert ? certificateRefusal(error, socket) : undefined;
    if (refusal !== undefined) {
      metrics.authFailures.inc({ reason: refusal });
      logger.warn(
        {
          remoteAddress,
          reason: refusal,
          // Without a certificate there is nothing to verify; Node's chain error would mislead.
          verifyError: refusal === 'bad-certificate' ? String(socket.authorizationError ?? error.message) : 'no certificate',
        },
        'client certificate refused',
      );
      return;
    }
    metrics.protocolErrors.inc({ kind: 'tls-handshake' });
    logger.info({ remoteAddress, err: error.message, code: error.code }, 'TLS handshake failed');
  });
}

/**
 * The mTLS identity of a socket that completed its handshake. With `requestCert` Node lets only
 * verified certificates get this far (`rejectUnauthorized`), so what is left is reading it.
 */
export function verifiedIdentity(socket: tls.TLSSocket, requestCert: boolean): string | undefined {
  if (!requestCert || !socket.authorized) return undefined;
  return certificateIdentity(socket.getPeerCertificate());
}
