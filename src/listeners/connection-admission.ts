/**
 * Connection limits, applied from the moment a socket is accepted: a socket still in its TLS
 * handshake, WebSocket upgrade or PROXY header counts as much as a connected MQTT client, so a
 * flood of sockets that never finish their handshake cannot grow without bound. One admission is
 * shared by every listener; the MQTT engine sees only admitted sockets and counts nothing itself.
 */
import type net from 'node:net';
import type { LimitReporter } from '../observability/limit-reporter.js';
import { isPublicAddress } from './address-scope.js';

export interface AdmissionLimits {
  /** Open sockets over all listeners; 0 = no limit. */
  readonly maxConnections: number;
  /** Open sockets from one client address; 0 = no limit. */
  readonly maxConnectionsPerAddress: number;
  /** Open sockets from one public client address (see address-scope); 0 or absent = no limit. */
  readonly maxConnectionsPerPublicAddress?: number;
}

export interface AdmittedSocket {
  /**
   * The client address became known (a PROXY header or X-Forwarded-For from a trusted proxy named
   * it): the socket is counted under it from now on. False when that address is over its limit;
   * the socket is destroyed then.
   */
  identify(address: string): boolean;
  /** The socket is an MQTT stream now (handshake, upgrade and header done): its deadline is off. */
  handedOver(): void;
}

export interface AdmitOptions {
  readonly listener: string;
  /** The client address, or undefined while only a trusted proxy is known (its clients share its address). */
  readonly address: string | undefined;
  /** Time the socket has until `handedOver()`; it is closed after that. 0 = no deadline. */
  readonly deadlineMs: number;
}

export interface ConnectionAdmission {
  /**
   * Counts a socket just accepted, until it closes. Undefined when a limit is reached: the socket
   * is destroyed at once, the limit reported.
   */
  admit(socket: net.Socket, options: AdmitOptions): AdmittedSocket | undefined;
  /** Sockets open now, whatever phase they are in. */
  readonly open: number;
}

/** The smallest limit that applies to `address`; 0 = none. */
function addressLimit(limits: AdmissionLimits, address: string): number {
  const perPublicAddress = limits.maxConnectionsPerPublicAddress ?? 0;
  const publicLimit = perPublicAddress > 0 && isPublicAddress(address) ? perPublicAddress : 0;
  if (limits.maxConnectionsPerAddress === 0) return publicLimit;
  return publicLimit === 0 ? limits.maxConnectionsPerAddress : Math.min(publicLimit, limits.maxConnectionsPerAddress);
}

export function createConnectionAdmission(limits: AdmissionLimits, reportLimit: LimitReporter): ConnectionAdmission {
  let open = 0;
  const perAddress = new Map<string, number>();

  const overAddressLimit = (address: string, listener: string): boolean => {
    const fromAddress = perAddress.get(address) ?? 0;
    const limit = addressLimit(limits, address);
    if (limit === 0 || fromAddress < limit) return false;
    reportLimit('max-connections-per-address', { remoteAddress: address, listener, open: fromAddress, cap: limit }, 'too many connections from one address: closed');
    return true;
  };
  const countAddress = (address: string, delta: 1 | -1): void => {
    const count = (perAddress.get(address) ?? 0) + delta;
    if (count > 0) perAddress.set(address, count);
    else perAddress.delete(address);
  };

  return {
    get open() {
      return open;
    },
    admit(socket, { listener, address, deadlineMs }) {
      // Closed already: its 'close' has been emitted, so it could never be released.
      if (socket.destroyed) return undefined;
      const peer = address ?? socket.remoteAddress ?? 'unknown';
      if (limits.maxConnections > 0 && open >= limits.maxConnections) {
        reportLimit('max-connections', { remoteAddress: peer, listener, open }, 'too many connections: closed');
        socket.destroy();
        return undefined;
      }
      if (address !== undefined && overAddressLimit(address, listener)) {
        socket.destroy();
        return undefined;
      }
      open++;
      let countedAs = address;
      if (countedAs !== undefined) countAddress(countedAs, 1);
      const deadline =
        deadlineMs > 0
          ? setTimeout(() => {
              reportLimit(
                'connect-timeout',
                { remoteAddress: countedAs ?? peer, listener },
                `handshake not completed within ${deadlineMs / 1000} s: closed`,
              );
              socket.destroy();
            }, deadlineMs)
          : undefined;
      deadline?.unref();
      let released = false;
      // Not once(): its wrapper would be kept by each connection; `released` makes it run once.
      socket.on('close', () => {
        if (released) return;
        released = true;
        clearTimeout(deadline);
        open--;
        if (countedAs !== undefined) countAddress(countedAs, -1);
      });
      return {
        identify(client) {
          if (released || client === countedAs) return !released;
          if (overAddressLimit(client, listener)) {
            socket.destroy();
            return false;
          }
          if (countedAs !== undefined) countAddress(countedAs, -1);
          countedAs = client;
          countAddress(client, 1);
          return true;
        },
        handedOver() {
          clearTimeout(deadline);
        },
      };
    },
  };
}
