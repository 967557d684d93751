/** The `http` section: the admin HTTP server (/metrics, /healthz, /readyz). */
import { deepFreeze } from './freeze.js';
import { readHost, readPort, readSection, type Problems } from './readers.js';

export interface HttpConfig {
  /** Admin HTTP port (/metrics, /healthz, /readyz). Default 9090; 0 disables it. */
  readonly port: number;
  /** Interface the admin HTTP server binds. Default `0.0.0.0`. */
  readonly host: string;
}

export const HTTP_DEFAULTS: HttpConfig = deepFreeze<HttpConfig>({ port: 9090, host: '0.0.0.0' });

const HTTP_KEYS = ['port', 'host'] as const;

export function readHttp(value: unknown, problems: Problems): HttpConfig {
  const section = readSection(value, 'http', HTTP_KEYS, problems);
  const host = readHost(section['host'], 'http.host', problems, HTTP_DEFAULTS.host);
  // 0 disables the admin HTTP server.
  return { port: readPort(section['port'], 'http.port', 0, problems, HTTP_DEFAULTS.port), host };
}
