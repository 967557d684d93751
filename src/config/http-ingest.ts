/** `listeners[].ingest`: the limits and header forwarding of an http / https ingest listener. */
import { deepFreeze } from './freeze.js';
import { describeValue, MAX_TIMER_MS, readInteger, readSection, type Problems } from './readers.js';

export interface HttpIngestConfig {
  /** Largest request body, in bytes; a larger one is answered 413. */
  readonly maxBodyBytes: number;
  /** Most messages in one batch request; more are answered 413. */
  readonly maxBatchMessages: number;
  /** Requests served at once on this listener; past it 503 with Retry-After. */
  readonly maxRequestsInFlight: number;
  /** Requests served at once for one client address; past it 429 with Retry-After. */
  readonly maxRequestsInFlightPerAddress: number;
  /** Time a client has, from its request's headers, to send the whole body, in ms: a slow body gets 408. */
  readonly bodyTimeoutMs: number;
  /** How long an idle keep-alive connection stays open between requests, in ms. */
  readonly keepAliveTimeoutMs: number;
  /** Request headers (lower case) copied to each record as Kafka headers of the same name. */
  readonly headers: readonly string[];
  /** The Retry-After of 429 and 503 answers, in seconds. */
  readonly retryAfterSeconds: number;
}

export const HTTP_INGEST_DEFAULTS: HttpIngestConfig = deepFreeze<HttpIngestConfig>({
  maxBodyBytes: 1_048_576,
  maxBatchMessages: 1000,
  maxRequestsInFlight: 1000,
  maxRequestsInFlightPerAddress: 100,
  bodyTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5000,
  headers: [],
  retryAfterSeconds: 1,
});

const KEYS = ['maxBodyBytes', 'maxBatchMessages', 'maxRequestsInFlight', 'maxRequestsInFlightPerAddress', 'bodyTimeoutMs', 'keepAliveTimeoutMs', 'headers', 'retryAfterSeconds'] as const;

/** Headers that carry credentials or hop-by-hop state: never copied into Kafka. */
const NEVER_FORWARDED = new Set(['authorization', 'proxy-authorization', 'cookie', 'connection', 'content-length', 'transfer-encoding', 'mqtt-topic']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

export function readHttpIngest(value: unknown, path: string, problems: Problems): HttpIngestConfig {
  const entry = readSection(value, path, KEYS, problems);
  const d = HTTP_INGEST_DEFAULTS;
  const int = (key: (typeof KEYS)[number], min: number, max: number, fallback: number): number =>
    readInteger(entry[key], `${path}.${key}`, min, max, problems, fallback);
  return {
    maxBodyBytes: int('maxBodyBytes', 1, 2 ** 31 - 1, d.maxBodyBytes),
    maxBatchMessages: int('maxBatchMessages', 1, 1_000_000, d.maxBatchMessages),
    maxRequestsInFlight: int('maxRequestsInFlight', 1, 2 ** 31 - 1, d.maxRequestsInFlight),
    maxRequestsInFlightPerAddress: int('maxRequestsInFlightPerAddress', 1, 2 ** 31 - 1, d.maxRequestsInFlightPerAddress),
    bodyTimeoutMs: int('bodyTimeoutMs', 1, MAX_TIMER_MS, d.bodyTimeoutMs),
    keepAliveTimeoutMs: int('keepAliveTimeoutMs', 1, MAX_TIMER_MS, d.keepAliveTimeoutMs),
    headers: readHeaderNames(entry['headers'], `${path}.headers`, problems),
    retryAfterSeconds: int('retryAfterSeconds', 1, 86_400, d.retryAfterSeconds),
  };
}

function readHeaderNames(value: unknown, path: string, problems: Problems): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.report(path, `expected a list of request header names (e.g. [x-request-id, traceparent]), got ${describeValue(value)}`);
    return [];
  }
  const names: string[] = [];
  value.forEach((item: unknown, index) => {
    const name = typeof item === 'string' ? item.toLowerCase() : undefined;
    if (name === undefined || !HEADER_NAME.test(name)) {
      problems.report(`${path}[${index}]`, `expected an HTTP header name, got ${describeValue(item)}`);
    } else if (NEVER_FORWARDED.has(name)) {
      problems.report(`${path}[${index}]`, `${name} is never copied into Kafka (credentials or connection state)`);
    } else if (!names.includes(name)) names.push(name);
  });
  return names;
}
