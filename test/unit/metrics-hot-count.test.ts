import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '../../src/observability/metrics.js';

test('hot counts reach their counter, with their labels, whenever it is read', async () => {
  const metrics = createMetrics({ collectDefault: false });
  const acked = metrics.hotCount(metrics.records, { outcome: 'acked', reason: 'ok' });
  const failed = metrics.hotCount(metrics.records, { outcome: 'failed', reason: 'timeout' });
  const bytes = metrics.hotCount(metrics.bytesReceived, {});
  acked.inc();
  acked.inc();
  failed.inc(3);
  bytes.inc(100);
  const text = await metrics.registry.metrics();
  assert.match(text, /mqtt_kafka_proxy_records_total\{outcome="acked",reason="ok"\} 2\n/);
  assert.match(text, /mqtt_kafka_proxy_records_total\{outcome="failed",reason="timeout"\} 3\n/);
  assert.match(text, /mqtt_kafka_proxy_received_bytes_total 100\n/);
  // Counted after a read: added to what the counter holds, never counted twice.
  acked.inc(5);
  const values = (await metrics.records.get()).values;
  assert.equal(values.find((v) => v.labels.outcome === 'acked')?.value, 7);
  assert.equal(values.find((v) => v.labels.outcome === 'failed')?.value, 3);
  assert.match(await metrics.registry.metrics(), /records_total\{outcome="acked",reason="ok"\} 7\n/);
  // Counts on one proxy's metrics never show in another's.
  const other = createMetrics({ collectDefault: false });
  assert.doesNotMatch(await other.registry.metrics(), /records_total\{/);
});
