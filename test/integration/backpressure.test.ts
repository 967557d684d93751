import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { createTopics, readRecords, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

// A bound of one record in flight: every QoS 0 publish that arrives while another is on its way to
// Kafka meets the bound, so both overload policies show on a healthy Kafka.
const COUNT = 3000;
const topic = uniqueName('backpressure');

function config(policy: 'block' | 'drop'): string {
  return `
mappings:
  - name: all
    match: '^bp/(.+)$'
    topic: ${topic}
auth: { anonymous: true }
http: { port: 0 }
limits: { maxInflightMessages: 1, qos0Overload: ${policy} }
`;
}

async function flood(proxy: RunningProxy, clientId: string): Promise<void> {
  const client = await mqtt.connectAsync(proxy.url, { clientId, protocolVersion: 4 });
  for (let i = 0; i < COUNT; i++) client.publish(`bp/${clientId}`, `${clientId}:${i}`, { qos: 0 });
  // QoS 1 last: its PUBACK means every QoS 0 before it was read (acks leave in order; reads too).
  await client.publishAsync(`bp/${clientId}`, `${clientId}:end`, { qos: 1 });
  await client.endAsync();
}

const countOf = (records: Array<{ value: Buffer | null }>, prefix: string) =>
  records.filter((r) => r.value?.toString().startsWith(`${prefix}:`)).length;

async function metricValue(proxy: RunningProxy, name: string, labels: string): Promise<number> {
  const text = await proxy.proxy.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

/** An unlabelled gauge's value as /metrics shows it. */
async function gaugeValue(proxy: RunningProxy, name: string): Promise<number> {
  const text = await proxy.proxy.metrics.registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line !== undefined, `${name} is exported`);
  return Number(line.split(' ').pop());
}

/** Reads the gauge as often as the event loop allows until `work` settles; the highest value seen. */
async function highestWhile(proxy: RunningProxy, name: string, work: Promise<void>): Promise<number> {
  let done = false;
  const finished = work.finally(() => (done = true));
  let highest = 0;
  while (!done) {
    highest = Math.max(highest, await gaugeValue(proxy, name));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await finished;
  return highest;
}

const PAUSED = 'mqtt_kafka_proxy_paused_clients';

before(async () => {
  await createTopics([topic]);
});

let proxies: RunningProxy[] = [];
after(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
});

test('qos0Overload block: at the bound reading pauses, and every QoS 0 message reaches Kafka', { timeout: 60000 }, async () => {
  const proxy = await startProxy(config('block'));
  proxies.push(proxy);
  await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
  assert.equal(await gaugeValue(proxy, PAUSED), 0, 'nobody paused before the flood');
  const highestPaused = await highestWhile(proxy, PAUSED, flood(proxy, 'block'));
  const records = await readRecords(topic, COUNT + 1, { timeoutMs: 30000 });
  assert.equal(countOf(records, 'block'), COUNT + 1, 'nothing dropped');
  assert.ok(proxy.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('in-flight bound reached: reading from clients paused')));
  assert.equal(highestPaused, 1, `${PAUSED} showed the flooding client paused`);
  assert.equal(await metricValue(proxy, 'mqtt_kafka_proxy_records_total', 'outcome="dropped"'), 0);
  await waitFor(() => proxy.logs.filter((l) => l.msg === 'in-flight below the low-water mark: reading from clients resumed').length >= 1, 5000, 'resumed');
  assert.equal(await gaugeValue(proxy, PAUSED), 0, `${PAUSED} back to 0 once reading resumed`);
});

test('qos0Overload drop: QoS 0 over the bound is dropped, counted and logged at a rate limit; QoS 1 still lands', { timeout: 60000 }, async () => {
  const proxy = await startProxy(config('drop'));
  proxies.push(proxy);
  await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
  await flood(proxy, 'drop');
  const dropped = await metricValue(proxy, 'mqtt_kafka_proxy_records_total', 'outcome="dropped"');
  // Read everything the proxy produced: the QoS 1 end marker comes after the last kept QoS 0.
  const records = await readRecords(topic, COUNT + 1 + (COUNT - dropped) + 1, { timeoutMs: 30000, settleMs: 1000 });
  const kept = countOf(records, 'drop');
  assert.ok(dropped > 0, `some QoS 0 publishes were dropped (${dropped})`);
  assert.equal(kept + dropped, COUNT + 1, `every publish was either produced or counted as dropped (kept ${kept}, dropped ${dropped})`);
  assert.ok(records.some((r) => r.value?.toString() === 'drop:end'), 'the QoS 1 message is in Kafka');
  const dropLogs = proxy.logs.filter((l) => l.msg === 'QoS 0 publishes dropped: in-flight bound reached');
  assert.equal(dropLogs.length, 1, 'one warning per 10 s, not one per message');
  console.log(`[backpressure] drop policy: sent ${COUNT} QoS 0, dropped ${dropped}, produced ${kept - 1}`);
});

test('maxInflightBytesPerConnection: a connection sending large payloads is paused alone, another is still read and acknowledged', { timeout: 60000 }, async () => {
  const LARGE = 100 * 1024;
  const LARGE_COUNT = 20;
  // Records wait up to 2 s for a batch (far below batchMaxBytes), so Kafka answers slowly and the
  // large sender's records stay in flight; its bound (256 KiB) stops it after 3 records, while the
  // global bounds (64 MiB, 1000 records) are never near.
  const proxy = await startProxy(`
mappings:
  - name: all
    match: '^bp/(.+)$'
    topic: ${topic}
auth: { anonymous: true }
http: { port: 0 }
kafka: { lingerMs: 2000 }
limits: { maxInflightBytes: 67108864, maxInflightMessages: 1000, maxInflightPerConnection: 1000, maxInflightBytesPerConnection: 262144 }
`);
  proxies.push(proxy);
  await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
  const large = await mqtt.connectAsync(proxy.url, { clientId: 'bytes-large', protocolVersion: 5 });
  const small = await mqtt.connectAsync(proxy.url, { clientId: 'bytes-small', protocolVersion: 4 });
  try {
    const payload = Buffer.alloc(LARGE, 0x61);
    const largeAcks = Array.from({ length: LARGE_COUNT }, (_, i) => large.publishAsync('bp/bytes-large', Buffer.concat([Buffer.from(`large:${i}:`), payload]), { qos: 1 }));
    let paused = 0;
    const deadline = Date.now() + 5000;
    while ((paused = await gaugeValue(proxy, 'mqtt_kafka_proxy_paused_clients')) === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(paused, 1, 'the large sender is paused');
    const heldByLarge = await gaugeValue(proxy, 'mqtt_kafka_proxy_inflight_messages');
    assert.ok(heldByLarge >= 3 && heldByLarge < LARGE_COUNT, `the large sender stopped after a few records (${heldByLarge} in flight)`);

    // While it is paused, the other connection is read: its 10 publishes join those in flight.
    const smallAcks = Array.from({ length: 10 }, (_, i) => small.publishAsync('bp/bytes-small', `small:${i}`, { qos: 1 }));
    let inflight = heldByLarge;
    const readBy = Date.now() + 1500;
    while ((inflight = await gaugeValue(proxy, 'mqtt_kafka_proxy_inflight_messages')) < heldByLarge + 10 && Date.now() < readBy) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(inflight, heldByLarge + 10, 'the small sender was read while the large one was paused');
    assert.equal(await gaugeValue(proxy, 'mqtt_kafka_proxy_paused_clients'), 1, 'only the large sender is paused');
    await Promise.all(smallAcks);

    // The large sender is read again after each batch and finishes; nothing global was reached.
    await Promise.all(largeAcks);
    assert.ok(!proxy.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('in-flight bound reached')), 'the global bound was never reached');
    const records = await readRecords(topic, 100_000, { timeoutMs: 10000, settleMs: 1000 });
    assert.equal(countOf(records, 'small'), 10);
    assert.equal(countOf(records, 'large'), LARGE_COUNT);
    console.log(`[backpressure] bytes per connection: large sender paused with ${heldByLarge} records (${Math.round((heldByLarge * LARGE) / 1024)} KiB) in flight; small sender read meanwhile`);
  } finally {
    await Promise.all([large.endAsync(), small.endAsync()]);
  }
});
