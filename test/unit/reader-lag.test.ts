import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { READ_LAG_METRIC, readerLagGauge } from '../../src/observability/reader-lag.js';

async function samples(registry: Registry): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(READ_LAG_METRIC));
}

test('reader lag: plain numbers until scraped, one gauge for every reader of a registry, removed partitions gone', async () => {
  const registry = new Registry();
  const delivery = readerLagGauge(registry, 'delivery');
  const sessions = readerLagGauge(registry, 'sessions');
  delivery.set('iot.commands', 0, 12);
  delivery.set('iot.commands', 0, 7);
  delivery.set('iot.commands', 1, 0);
  sessions.set('mqtt.sessions', 0, 3);
  assert.deepEqual((await samples(registry)).sort(), [
    `${READ_LAG_METRIC}{reader="delivery",topic="iot.commands",partition="0"} 7`,
    `${READ_LAG_METRIC}{reader="delivery",topic="iot.commands",partition="1"} 0`,
    `${READ_LAG_METRIC}{reader="sessions",topic="mqtt.sessions",partition="0"} 3`,
  ]);
  delivery.remove('iot.commands', 0);
  assert.deepEqual((await samples(registry)).sort(), [
    `${READ_LAG_METRIC}{reader="delivery",topic="iot.commands",partition="1"} 0`,
    `${READ_LAG_METRIC}{reader="sessions",topic="mqtt.sessions",partition="0"} 3`,
  ]);
});
