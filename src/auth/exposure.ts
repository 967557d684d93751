/**
 * `auth.anonymous: true` is meant for development and closed networks. On a listener that other
 * machines can reach, every client that presents nothing is let in, so the proxy says so at start.
 */
import type { Logger } from 'pino';
import type { ListenerConfig, ProxyConfig } from '../config/types.js';

const LOOPBACK_IPV4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** True for hosts only this machine can reach: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  return LOOPBACK_IPV4.test(bare.replace(/^::ffff:/, ''));
}

/** The listeners other machines can reach while anonymous clients are accepted; empty when none. */
export function anonymousExposure(config: Pick<ProxyConfig, 'auth' | 'listeners'>): ListenerConfig[] {
  if (!config.auth.anonymous) return [];
  return config.listeners.filter((listener) => !isLoopbackHost(listener.host));
}

/** Logs one warning when {@link anonymousExposure} finds listeners. */
export function warnIfAnonymousExposed(config: Pick<ProxyConfig, 'auth' | 'listeners'>, logger: Logger): void {
  const exposed = anonymousExposure(config);
  if (exposed.length === 0) return;
  const listeners = exposed.map((listener) => `${listener.protocol}://${listener.host}:${listener.port}`);
  logger.warn(
    { listeners, setting: 'auth.anonymous' },
    `auth.anonymous is true and ${listeners.join(', ')} ${listeners.length === 1 ? 'is' : 'are'} not on loopback: ` +
      'clients presenting no credentials are accepted from the network; set auth.anonymous: false unless that is meant',
  );
}
