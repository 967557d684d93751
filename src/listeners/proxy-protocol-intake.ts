/**
 * Reads the PROXY protocol header off a fresh socket, before anything else (TLS included) sees it.
 *
 * Policy:
 * - a peer inside the trusted CIDRs must start with a valid v1 or v2 header; without one the
 *   connection is closed (a load balancer that forgot `send-proxy` would otherwise make every client
 *   look like the load balancer);
 * - a peer outside them is served as a direct client, unless it starts with a PROXY header: then it
 *   is trying to choose its own address, and the connection is closed.
 * The bytes read past the header are put back on the socket for the next reader.
 */
import type net from 'node:net';
import { detectProxyHeader, parseProxyHeader, PROXY_V2_MAX_LENGTH, type ProxyHeader } from './proxy-protocol.js';

export type ProxyRefusal = 'untrusted-header' | 'missing-header' | 'invalid-header' | 'timeout';

export type ProxyIntakeOutcome =
  | { readonly kind: 'header'; readonly header: ProxyHeader }
  | { readonly kind: 'direct' }
  | { readonly kind: 'refused'; readonly reason: ProxyRefusal; readonly detail: string }
  /** The peer went away before a decision; nothing to report. */
  | { readonly kind: 'closed' };

export function readProxyHeader(socket: net.Socket, trusted: boolean, timeoutMs: number): Promise<ProxyIntakeOutcome> {
  return new Promise((resolve) => {
    let received: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (outcome: ProxyIntakeOutcome, rest?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.off('error', onGone);
      if (rest !== undefined) {
        // Explicitly paused, so the next reader starts from the bytes put back here.
        socket.pause();
        if (rest.length > 0) socket.unshift(rest);
      }
      resolve(outcome);
    };
    const onGone = (): void => finish({ kind: 'closed' });
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      if (!trusted) {
        const looks = detectProxyHeader(received);
        if (looks === 'no') finish({ kind: 'direct' }, received);
        else if (looks === 'yes') finish({ kind: 'refused', reason: 'untrusted-header', detail: 'PROXY header from a peer outside trustedCidrs' });
        return;
      }
      const result = parseProxyHeader(received);
      if (result.status === 'complete') {
        finish({ kind: 'header', header: result.header }, received.subarray(result.length));
      } else if (result.status === 'invalid') {
        const missing = detectProxyHeader(received) === 'no';
        finish({
          kind: 'refused',
          reason: missing ? 'missing-header' : 'invalid-header',
          detail: missing ? 'a trusted peer must start with a PROXY header' : result.reason,
        });
      } else if (received.length > PROXY_V2_MAX_LENGTH) {
        // Unreachable with the parser's own bounds; kept so memory stays bounded whatever it does.
        finish({ kind: 'refused', reason: 'invalid-header', detail: 'PROXY header too long' });
      }
    };
    const timer = setTimeout(
      () =>
        finish({
          kind: 'refused',
          reason: 'timeout',
          detail: trusted ? `no complete PROXY header within ${timeoutMs} ms` : `no bytes within ${timeoutMs} ms`,
        }),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.on('end', onGone);
    socket.on('close', onGone);
    socket.on('error', onGone);
  });
}
