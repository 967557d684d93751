/** The `listeners` section: what the proxy binds, and how it learns each client's address. */
import { parseCidr } from '../common/ip-address.js';
import { deepFreeze } from './freeze.js';
import type { HttpConfig } from './http.js';
import { readHttpIngest, type HttpIngestConfig } from './http-ingest.js';
import { readListenerTls, type ListenerTlsConfig } from './listener-tls.js';
import {
  checkKeys,
  describeValue,
  isPlainObject,
  join,
  MAX_TIMER_MS,
  readHost,
  readInteger,
  readOneOf,
  readPort,
  readSection,
  readString,
  type Problems,
} from './readers.js';

export type ListenerProtocol = 'tcp' | 'tls' | 'ws' | 'wss' | 'http' | 'https';

export interface ListenerConfig {
  readonly protocol: ListenerProtocol;
  /** Interface to bind. Default `0.0.0.0`. */
  readonly host: string;
  /** TCP port. Default by protocol: tcp 1883, tls 8883, ws 8083, wss 8084, http 8080, https 8443. */
  readonly port: number;
  /** ws and wss: the URL path WebSocket upgrades are accepted on (others get 404). Default `/mqtt`. */
  readonly path?: string;
  /** tls, wss and https (required there, refused elsewhere): certificate, key and client CA files. */
  readonly tls?: ListenerTlsConfig;
  /** tcp, tls, http and https: expect a PROXY protocol v1/v2 header from these load balancers. Default: off. */
  readonly proxyProtocol?: ProxyProtocolConfig;
  /**
   * ws, wss, http and https: CIDR ranges of HTTP proxies whose X-Forwarded-For names the client.
   * Default none (the header is ignored).
   */
  readonly trustedProxies?: readonly string[];
  /** http and https (HTTP ingest): body size, requests in flight, timeouts, forwarded headers. */
  readonly ingest?: HttpIngestConfig;
}

export interface ProxyProtocolConfig {
  /**
   * CIDR ranges of the load balancers. A connection from one of them must start with a PROXY v1 or
   * v2 header; a connection from elsewhere that starts with one is closed. Required, not empty.
   */
  readonly trustedCidrs: readonly string[];
  /** Time a trusted peer has to send the complete header, in ms. Default 5000. */
  readonly headerTimeoutMs: number;
}

export const LISTENER_PROTOCOLS: readonly ListenerProtocol[] = ['tcp', 'tls', 'ws', 'wss', 'http', 'https'];
/** Listeners that take HTTP ingest requests instead of MQTT connections. */
export const HTTP_INGEST_PROTOCOLS: readonly ListenerProtocol[] = ['http', 'https'];
/** Every protocol is served; kept for callers that list what the listeners implement. */
export const IMPLEMENTED_LISTENER_PROTOCOLS: readonly ListenerProtocol[] = LISTENER_PROTOCOLS;

export interface ListenerDefaults {
  /**
   * Defaults of each listener's fields, and the single listener used when `listeners` is absent.
   * ListenerConfig documents host and port; `protocol: tcp` is the loader's choice.
   */
  readonly listener: ListenerConfig;
  /** Port of a listener without `port`, by protocol. */
  readonly listenerPorts: Readonly<Record<ListenerProtocol, number>>;
  /** `path` of a ws / wss listener without one. */
  readonly webSocketPath: string;
  readonly proxyProtocol: { readonly headerTimeoutMs: number };
}

export const LISTENER_DEFAULTS: ListenerDefaults = deepFreeze<ListenerDefaults>({
  listener: { protocol: 'tcp', host: '0.0.0.0', port: 1883 },
  listenerPorts: { tcp: 1883, tls: 8883, ws: 8083, wss: 8084, http: 8080, https: 8443 },
  webSocketPath: '/mqtt',
  proxyProtocol: { headerTimeoutMs: 5000 },
});

const LISTENER_KEYS = ['protocol', 'host', 'port', 'path', 'tls', 'proxyProtocol', 'trustedProxies', 'ingest'] as const;
const PROXY_PROTOCOL_KEYS = ['trustedCidrs', 'headerTimeoutMs'] as const;

/** `baseDir`: where relative certificate paths start (the config file's directory). */
export function readListeners(value: unknown, baseDir: string, problems: Problems): ListenerConfig[] {
  if (value === undefined || value === null) return [LISTENER_DEFAULTS.listener];
  if (!Array.isArray(value)) {
    problems.report('listeners', `expected a list of listeners ({ protocol, host, port }), got ${describeValue(value)}`);
    return [LISTENER_DEFAULTS.listener];
  }
  if (value.length === 0) problems.report('listeners', 'needs at least one listener, or leave the key out for one on 0.0.0.0:1883');
  return value.map((item: unknown, index) => readListener(item, `listeners[${index}]`, baseDir, problems));
}

function readListener(item: unknown, path: string, baseDir: string, problems: Problems): ListenerConfig {
  const entry = readSection(item, path, LISTENER_KEYS, problems);
  const defaults = LISTENER_DEFAULTS.listener;
  const protocol = readOneOf(entry['protocol'], `${path}.protocol`, LISTENER_PROTOCOLS, problems, defaults.protocol);
  const host = readHost(entry['host'], `${path}.host`, problems, defaults.host);
  // 0 = an ephemeral port chosen by the OS (tests use it).
  const port = readPort(entry['port'], `${path}.port`, 0, problems, LISTENER_DEFAULTS.listenerPorts[protocol]);
  const listener: { -readonly [K in keyof ListenerConfig]: ListenerConfig[K] } = { protocol, host, port };
  const webSocket = protocol === 'ws' || protocol === 'wss';
  const httpIngest = HTTP_INGEST_PROTOCOLS.includes(protocol);
  const secure = protocol === 'tls' || protocol === 'wss' || protocol === 'https';

  if (webSocket) {
    listener.path = readWebSocketPath(entry['path'], `${path}.path`, problems);
  } else if (entry['path'] !== undefined) {
    problems.report(`${path}.path`, `only ws and wss listeners have a path; this one is ${protocol}`);
  }

  if (secure) {
    if (entry['tls'] === undefined || entry['tls'] === null) {
      problems.report(`${path}.tls`, `is required for a ${protocol} listener ({ cert, key } files, and ca for client certificates)`);
    } else {
      const tls = readListenerTls(entry['tls'], `${path}.tls`, baseDir, problems);
      if (tls !== undefined) listener.tls = tls;
    }
  } else if (entry['tls'] !== undefined) {
    const secureOne = protocol === 'ws' ? 'wss' : protocol === 'http' ? 'https' : 'tls';
    problems.report(`${path}.tls`, `only tls, wss and https listeners use certificates; use protocol: ${secureOne}`);
  }

  if (httpIngest) listener.ingest = readHttpIngest(entry['ingest'], `${path}.ingest`, problems);
  else if (entry['ingest'] !== undefined) problems.report(`${path}.ingest`, `only http and https listeners take HTTP ingest settings; this one is ${protocol}`);

  if (entry['proxyProtocol'] !== undefined) {
    if (webSocket) {
      problems.report(
        `${path}.proxyProtocol`,
        `PROXY protocol is for tcp, tls, http and https listeners; ${protocol} listeners behind a proxy use trustedProxies (X-Forwarded-For)`,
      );
    } else {
      const proxyProtocol = readProxyProtocol(entry['proxyProtocol'], `${path}.proxyProtocol`, problems);
      if (proxyProtocol !== undefined) listener.proxyProtocol = proxyProtocol;
    }
  }

  if (entry['trustedProxies'] !== undefined) {
    if (webSocket || httpIngest) {
      listener.trustedProxies = readCidrList(entry['trustedProxies'], `${path}.trustedProxies`, problems);
    } else {
      problems.report(
        `${path}.trustedProxies`,
        `X-Forwarded-For applies to ws, wss, http and https listeners; ${protocol} listeners behind a load balancer use proxyProtocol`,
      );
    }
  }
  return listener;
}

function readWebSocketPath(value: unknown, path: string, problems: Problems): string {
  const fallback = LISTENER_DEFAULTS.webSocketPath;
  const text = readString(value, path, problems, fallback, 'a URL path such as /mqtt');
  if (!text.startsWith('/') || /[\s?#]/.test(text)) {
    problems.report(path, `expected a URL path starting with "/" without spaces, query or fragment, got ${JSON.stringify(text)}`);
    return fallback;
  }
  return text;
}

function readCidrList(value: unknown, path: string, problems: Problems): string[] {
  if (!Array.isArray(value)) {
    problems.report(path, `expected a list of CIDR ranges (e.g. [10.0.0.0/8, 'fd00::/8']), got ${describeValue(value)}`);
    return [];
  }
  if (value.length === 0) problems.report(path, 'needs at least one CIDR range');
  const ranges: string[] = [];
  value.forEach((item: unknown, index) => {
    if (typeof item !== 'string') {
      problems.report(`${path}[${index}]`, `expected a CIDR range string, got ${describeValue(item)}`);
      return;
    }
    const result = parseCidr(item);
    if (result.ok) ranges.push(item);
    else problems.report(`${path}[${index}]`, result.problem);
  });
  return ranges;
}

function readProxyProtocol(value: unknown, path: string, problems: Problems): ProxyProtocolConfig | undefined {
  if (!isPlainObject(value)) {
    problems.report(path, `expected a mapping (keys: ${PROXY_PROTOCOL_KEYS.join(', ')}), got ${describeValue(value)}`);
    return undefined;
  }
  checkKeys(value, PROXY_PROTOCOL_KEYS, path, problems);
  if (value['trustedCidrs'] === undefined) {
    problems.report(join(path, 'trustedCidrs'), 'is required (the CIDR ranges of the load balancers that send PROXY headers)');
    return undefined;
  }
  const trustedCidrs = readCidrList(value['trustedCidrs'], join(path, 'trustedCidrs'), problems);
  const headerTimeoutMs = readInteger(
    value['headerTimeoutMs'],
    join(path, 'headerTimeoutMs'),
    1,
    MAX_TIMER_MS,
    problems,
    LISTENER_DEFAULTS.proxyProtocol.headerTimeoutMs,
  );
  return { trustedCidrs, headerTimeoutMs };
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** Two sockets cannot bind the same port where their addresses overlap; say so now, not at listen(). */
export function checkPortClashes(listeners: readonly ListenerConfig[], http: HttpConfig, problems: Problems): void {
  listeners.forEach((listener, index) => {
    if (listener.port === 0) return;
    const earlier = listeners.findIndex(
      (other, otherIndex) =>
        otherIndex < index &&
        other.port === listener.port &&
        (other.host === listener.host || WILDCARD_HOSTS.has(other.host) || WILDCARD_HOSTS.has(listener.host)),
    );
    if (earlier !== -1) problems.report(`listeners[${index}].port`, `port ${listener.port} is already used by listeners[${earlier}]`);
    // The admin HTTP server listens on every interface.
    if (listener.port === http.port) problems.report('http.port', `port ${http.port} is already used by listeners[${index}]`);
  });
}
