/** `listeners` entries of protocol http / https and their `ingest` settings. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HTTP_INGEST_DEFAULTS } from '../../src/config/http-ingest.js';
import { ConfigError } from '../../src/config/index.js';
import { parseConfig } from '../../src/server/load-config.js';

const BASE = `mappings: [{ name: all, match: '^(.*)$', topic: iot.all }]\nauth: { anonymous: true }\n`;

function problems(listeners: string): string[] {
  try {
    parseConfig(`${BASE}listeners:\n${listeners}`, 'proxy.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems.map((p) => `${p.path}: ${p.problem}`);
  }
  return [];
}

describe('http ingest listeners', () => {
  it('an http listener gets port 8080 and the ingest defaults', () => {
    const config = parseConfig(`${BASE}listeners: [{ protocol: http }]\n`, 'proxy.yaml');
    assert.equal(config.listeners[0]!.port, 8080);
    assert.deepEqual(config.listeners[0]!.ingest, HTTP_INGEST_DEFAULTS);
  });

  it('ingest settings are read and checked, naming the file and path', () => {
    const config = parseConfig(
      `${BASE}listeners: [{ protocol: http, port: 0, trustedProxies: [10.0.0.0/8], ingest: { maxBodyBytes: 10, headers: [X-Request-Id, traceparent] } }]\n`,
      'proxy.yaml',
    );
    assert.equal(config.listeners[0]!.ingest!.maxBodyBytes, 10);
    assert.deepEqual(config.listeners[0]!.ingest!.headers, ['x-request-id', 'traceparent']);
    assert.deepEqual(problems('  - { protocol: http, ingest: { maxBodyBytes: 0, headers: [authorization, "bad name"], nope: 1 } }\n'), [
      'listeners[0].ingest.nope: unknown key (known keys here: maxBodyBytes, maxBatchMessages, maxRequestsInFlight, maxRequestsInFlightPerAddress, bodyTimeoutMs, keepAliveTimeoutMs, headers, retryAfterSeconds)',
      'listeners[0].ingest.maxBodyBytes: expected an integer from 1 to 2147483647, got the number 0',
      'listeners[0].ingest.headers[0]: authorization is never copied into Kafka (credentials or connection state)',
      'listeners[0].ingest.headers[1]: expected an HTTP header name, got the string "bad name"',
    ]);
  });

  it('https needs tls; ingest only on http / https; proxyProtocol and trustedProxies allowed', () => {
    assert.match(problems('  - { protocol: https }\n')[0]!, /^listeners\[0\]\.tls: is required for a https listener/);
    assert.match(problems('  - { protocol: http, tls: { cert: a, key: b } }\n')[0]!, /use protocol: https/);
    assert.match(problems('  - { protocol: tcp, ingest: {} }\n')[0]!, /^listeners\[0\]\.ingest: only http and https listeners/);
    assert.deepEqual(problems('  - { protocol: http, proxyProtocol: { trustedCidrs: [10.0.0.0/8] } }\n'), []);
  });
});
