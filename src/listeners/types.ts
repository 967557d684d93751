import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ConnectionAdmission } from './connection-admission.js';
import type { ProxyMetrics } from '../observability/metrics.js';

/** What a listener knows about a connection it hands over. */
export interface ConnectionInfo {
  /** The client's address: the socket's peer, or the one a trusted PROXY header / X-Forwarded-For named. */
  readonly remoteAddress: string;
  readonly listener: string;
  /** mTLS: the verified client certificate's identity (subject CN, else the first SAN). */
  readonly certificateIdentity?: string;
}

/** Receives each client connection once it is ready for MQTT bytes (TLS done, PROXY header read). */
export type ConnectionHandler = (stream: Duplex, info: ConnectionInfo) => void;

export interface CertificateReloadResult {
  /**
   * `reloaded`: new connections get the new files; `unchanged`: the files are as loaded;
   * `failed`: the new files are unusable and the old ones stay in use; `none`: no certificates here.
   */
  readonly outcome: 'reloaded' | 'unchanged' | 'failed' | 'none';
  /** Why the reload failed. */
  readonly problem?: string;
  /** Serial number of the certificate in use after the call. */
  readonly serialNumber?: string;
}

export interface Listener {
  /** e.g. `tcp:1883`, `wss:443` (the configured port, also when it is 0 = ephemeral). */
  readonly name: string;
  listen(): Promise<AddressInfo>;
  /** Stops accepting; resolves at once, open connections are left to the engine. */
  close(): Promise<void>;
  /**
   * Reads the certificate, key and CA files again (tls and wss; a no-op elsewhere). New connections
   * use them; open ones keep theirs. Unusable files leave the current ones in place and are logged.
   */
  reloadCertificates(): CertificateReloadResult;
}

export interface ListenerDependencies {
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  /** limits.maxPacketSize: bounds one WebSocket message. */
  readonly maxPacketSize: number;
  /** Time a client has for the TLS handshake, the WebSocket upgrade and an untrusted peer's first bytes. */
  readonly handshakeTimeoutMs: number;
  readonly onConnection: ConnectionHandler;
  /** Connection limits, shared by all listeners: each accepted socket is admitted (or closed) here. */
  readonly admission: ConnectionAdmission;
}
