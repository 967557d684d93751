/** Where HTTP ingest sits among the proxy's parts: after Kafka, auth and the MQTT ingest it uses, before the listeners. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { composeProxy } from '../../src/server/compose.js';
import { parseConfig } from '../../src/server/load-config.js';

describe('the http-ingest part', () => {
  it('starts after kafka, auth and ingest and before the listeners; stops before the ingest drains', async () => {
    const config = parseConfig(
      `listeners: [{ protocol: tcp, port: 0 }, { protocol: http, port: 0 }]\nmappings: [{ name: a, match: '^a$', topic: iot.a }]\nauth: { anonymous: true }\nhttp: { port: 0 }\n`,
      'test.yaml',
    );
    const composed = composeProxy(config, { logger: createLogger('silent'), metrics: createMetrics({ collectDefault: false }), ownLogger: false, adminPort: undefined, phase: () => 'starting' });
    assert.deepEqual(
      composed.parts.map((part) => part.name),
      ['kafka', 'auth', 'retained', 'mqtt', 'ingest', 'http-ingest', 'listeners', 'kafka-connect'],
    );
    const httpIngest = composed.parts.find((part) => part.name === 'http-ingest')!;
    await httpIngest.stop({ drainTimeoutMs: 100 });
    await composed.access.stop({ drainTimeoutMs: 0 });
  });
});
