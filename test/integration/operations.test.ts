// The admin HTTP server, the metrics a running proxy exports, readiness and reload, against a real
// Kafka with real MQTT clients.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { parseConfig } from '../../src/server/load-config.js';
import { createTopics, readRecords, testKafkaClient, uniqueName } from '../helpers/kafka.js';
import { tryConnect } from '../helpers/mqtt-connect.js';
import { getText, parsePrometheusText, sampleSum } from '../helpers/prometheus.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const P = 'mqtt_kafka_proxy_';

/** PUBACK reason code (0 when the packet carries none, as MQTT 5 allows for success). */
const reasonCodeOf = (packet: unknown): number => (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;

async function scrape(proxy: RunningProxy) {
  const { status, body, type } = await getText(proxy.adminUrl, '/metrics');
  assert.equal(status, 200);
  assert.match(type ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(body);
}

describe('admin HTTP server and metrics', () => {
  const telemetry = uniqueName('ops.telemetry');
  let proxy: RunningProxy;

  before(async () => {
    await createTopics([telemetry]);
    proxy = await startProxy(`mappings:
  - name: telemetry
    match: '^t/(?<id>[^/]+)$'
    topic: ${telemetry}
    key: '\${id}'
auth: { anonymous: true }
`);
    await waitFor(() => proxy.proxy.readiness().ready, 15000, 'Kafka connected');
  });
  after(() => proxy.stop());

  test('/healthz and /readyz answer 200 once Kafka is connected; unknown paths 404, POST 405', async () => {
    assert.deepEqual(await getText(proxy.adminUrl, '/healthz'), { status: 200, body: 'ok\n', type: 'text/plain; charset=utf-8' });
    assert.equal((await getText(proxy.adminUrl, '/readyz')).status, 200);
    assert.equal((await getText(proxy.adminUrl, '/nope')).status, 404);
    assert.equal((await getText(proxy.adminUrl, '/metrics', 'POST')).status, 405);
    assert.equal((await getText(proxy.adminUrl, '/readyz', 'HEAD')).status, 200);
  });

  test('counts connections, publishes, bytes, records, produce latency; labels never carry client ids or topics', async () => {
    const v5 = await mqtt.connectAsync(proxy.url, { protocolVersion: 5, clientId: 'ops-metrics-v5', reconnectPeriod: 0 });
    const v4 = await mqtt.connectAsync(proxy.url, { protocolVersion: 4, clientId: 'ops-metrics-v4', reconnectPeriod: 0 });
    let samples = await scrape(proxy);
    const listener = `tcp:0`;
    assert.equal(sampleSum(samples, `${P}connections`, { listener, version: '5' }), 1);
    assert.equal(sampleSum(samples, `${P}connections`, { listener, version: '4' }), 1);
    assert.equal(sampleSum(samples, `${P}connects_total`, { listener, outcome: 'accepted' }), 2);

    for (let i = 0; i < 5; i++) await v5.publishAsync(`t/dev-${i}`, Buffer.alloc(100, 1), { qos: 1 });
    await v4.publishAsync('t/dev-q0', Buffer.alloc(10, 1), { qos: 0 });
    // MQTT 5 gets a negative PUBACK for a topic no rule matches.
    await assert.rejects(v5.publishAsync('nowhere', 'x', { qos: 1 }), /Topic Name invalid/);
    await waitFor(() => proxy.proxy.kafkaSent.records >= 6, 10000, 'QoS 0 record produced');
    await new Promise((resolve) => setTimeout(resolve, 200));

    samples = await scrape(proxy);
    assert.equal(sampleSum(samples, `${P}publishes_received_total`, { qos: '1', rule: 'telemetry' }), 5);
    assert.equal(sampleSum(samples, `${P}publishes_received_total`, { qos: '0', rule: 'telemetry' }), 1);
    assert.equal(sampleSum(samples, `${P}publishes_received_total`, { qos: '1', rule: 'unmapped' }), 1);
    assert.equal(sampleSum(samples, `${P}received_bytes_total`), 5 * 100 + 10 + 1);
    assert.equal(sampleSum(samples, `${P}records_total`, { outcome: 'acked' }), 6);
    assert.equal(sampleSum(samples, `${P}records_total`, { outcome: 'rejected', reason: 'unmapped' }), 1);
    assert.ok(sampleSum(samples, `${P}kafka_produce_seconds_count`, { acks: 'all' }) >= 1, 'QoS 1 requests timed');
    assert.ok(sampleSum(samples, `${P}kafka_produce_seconds_count`, { acks: '1' }) >= 1, 'QoS 0 requests timed');
    assert.equal(sampleSum(samples, `${P}inflight_messages`), 0);
    assert.equal(sampleSum(samples, `${P}inflight_bytes`), 0);
    assert.equal(sampleSum(samples, `${P}ready`), 1);
    assert.ok(samples.some((s) => s.name === 'process_cpu_user_seconds_total'), 'default process metrics');
    for (const sample of samples) {
      for (const value of Object.values(sample.labels)) {
        assert.ok(!/ops-metrics|t\/dev|nowhere/.test(value), `no client id or MQTT topic as a label: ${sample.name} ${JSON.stringify(sample.labels)}`);
      }
    }

    await v5.endAsync();
    v4.stream.destroy();
    await waitFor(() => proxy.logs.filter((l) => l.msg === 'client disconnected').length >= 2, 5000, 'both disconnected');
    samples = await scrape(proxy);
    assert.equal(sampleSum(samples, `${P}connections`), 0);
    const reasons = JSON.stringify(samples.filter((s) => s.name === `${P}disconnects_total`));
    assert.equal(sampleSum(samples, `${P}disconnects_total`, { reason: 'client' }), 1, reasons);
    assert.equal(sampleSum(samples, `${P}disconnects_total`, { reason: 'connection-lost' }), 1);
  });
});

describe('refused CONNECTs by reason', () => {
  test('connects_total{outcome="refused"} carries the reason: credentials, authorization, limits', async () => {
    const proxy = await startProxy(`mappings: [{ name: r, match: '^x$', topic: t }]
auth:
  anonymous: false
  jwt: { secret: 'operations-test-secret-of-at-least-32-bytes' }
  failureDelay: { initialMs: 0, maxMs: 0 }
limits: { maxClientIdLength: 23, minKeepAliveSeconds: 10 }
`);
    try {
      const attempts = [
        // No credentials while anonymous access is off: CONNACK 5 / 0x87.
        { options: { version: 4 as const }, code: 5, reason: 'not-authorized' },
        // A password that is no JWT: CONNACK 4 / 0x86.
        { options: { version: 5 as const, username: 'u', password: 'not-a-token' }, code: 0x86, reason: 'bad-credentials' },
        { options: { version: 4 as const, clientId: 'a-client-id-longer-than-twenty-three' }, code: 2, reason: 'client-id-length' },
        // MQTT 3.1.1 cannot be told another keep alive: identifier rejected.
        { options: { version: 4 as const, keepalive: 2 }, code: 2, reason: 'keep-alive' },
      ];
      for (const { options, code, reason } of attempts) {
        const outcome = await tryConnect({ port: proxy.port, ...options });
        assert.equal(outcome.connected, false, reason);
        assert.equal(outcome.connected ? undefined : outcome.code, code, `${reason}: CONNACK code`);
      }
      const samples = await scrape(proxy);
      const listener = 'tcp:0';
      for (const { reason } of attempts) {
        assert.equal(sampleSum(samples, `${P}connects_total`, { listener, outcome: 'refused', reason }), 1, reason);
      }
      assert.equal(sampleSum(samples, `${P}connects_total`, { outcome: 'refused' }), attempts.length, 'nothing else counted');
      assert.equal(sampleSum(samples, `${P}connects_total`, { outcome: 'accepted' }), 0);
    } finally {
      await proxy.stop();
    }
  });
});

describe('readiness', () => {
  test('/readyz is 503 while Kafka is not reachable, /healthz stays 200', async () => {
    const proxy = await startProxy(`mappings: [{ name: r, match: '^x$', topic: t }]\nauth: { anonymous: true }\nkafka: { connectionTimeoutMs: 200 }\n`, {
      brokers: ['127.0.0.1:1'],
    });
    try {
      const ready = await getText(proxy.adminUrl, '/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.body, /not connected to Kafka/);
      assert.equal((await getText(proxy.adminUrl, '/healthz')).status, 200);
      assert.equal(sampleSum(await scrape(proxy), `${P}ready`), 0);
    } finally {
      await proxy.stop();
    }
  });

  test('stop() turns /readyz 503 for the drain delay while MQTT is still served, then closes', async () => {
    const topic = uniqueName('ops.delay');
    await createTopics([topic]);
    const proxy = await startProxy(`mappings: [{ name: r, match: '^d/.*$', topic: ${topic} }]\nauth: { anonymous: true }\n`);
    await waitFor(() => proxy.proxy.readiness().ready, 15000, 'ready');
    const client = await mqtt.connectAsync(proxy.url, { protocolVersion: 5, clientId: 'ops-delay', reconnectPeriod: 0 });
    client.on('error', () => undefined);
    const stopping = proxy.proxy.stop({ delayMs: 1500, drainTimeoutMs: 5000 });
    const during = await getText(proxy.adminUrl, '/readyz');
    assert.equal(during.status, 503);
    assert.match(during.body, /draining/);
    // Still serving: a publish during the delay is produced and acknowledged.
    const ack = await client.publishAsync('d/during-delay', 'x', { qos: 1 });
    assert.equal(reasonCodeOf(ack), 0);
    const disconnected = new Promise<number | undefined>((resolve) => client.once('disconnect', (packet) => resolve(packet.reasonCode)));
    await stopping;
    assert.equal(await disconnected, 0x8b, 'MQTT 5 client told: server shutting down');
    await assert.rejects(getText(proxy.adminUrl, '/healthz'), 'admin server closed after the drain');
    const records = await readRecords(topic, 1, { timeoutMs: 10000, settleMs: 200 });
    assert.equal(records.length, 1);
    client.end(true);
  });
});

describe('reload', () => {
  const before1 = uniqueName('ops.reload.a');
  const after1 = uniqueName('ops.reload.b');
  const rules = (topic: string) => `mappings:
  - name: devices
    match: '^r/(?<id>[^/]+)$'
    topic: ${topic}
    key: '\${id}'
auth: { anonymous: true }
`;
  let proxy: RunningProxy;

  before(async () => {
    await createTopics([before1, after1]);
    proxy = await startProxy(rules(before1));
    await waitFor(() => proxy.proxy.readiness().ready, 15000, 'ready');
  });
  after(() => proxy.stop());

  test('a connected client keeps publishing across a reload and the new mapping takes effect', async () => {
    const client = await mqtt.connectAsync(proxy.url, { protocolVersion: 5, clientId: 'ops-reload', reconnectPeriod: 0 });
    let closed = false;
    client.on('close', () => (closed = true));
    let sent = 0;
    let reloadedAt = -1;
    // Publishing continuously, one QoS 1 after another; the reload happens in the middle.
    while (sent < 60) {
      if (sent === 30) {
        const result = await proxy.proxy.reload(parseConfig(rules(after1), 'test.yaml', { kafkaBrokers: proxy.config.kafka.brokers, port: 0, ...testKafkaClient() }));
        assert.deepEqual(result, { outcome: 'applied', restartRequired: [] });
        reloadedAt = sent;
      }
      const ack = await client.publishAsync(`r/m-${sent}`, `m-${sent}`, { qos: 1 });
      assert.equal(reasonCodeOf(ack), 0);
      sent++;
    }
    assert.equal(closed, false, 'the connection stayed up');
    await client.endAsync();
    const old = await readRecords(before1, 30, { timeoutMs: 10000, settleMs: 300 });
    const fresh = await readRecords(after1, 30, { timeoutMs: 10000, settleMs: 300 });
    assert.deepEqual(old.map((r) => r.value?.toString()), Array.from({ length: reloadedAt }, (_, i) => `m-${i}`));
    assert.deepEqual(fresh.map((r) => r.value?.toString()), Array.from({ length: 60 - reloadedAt }, (_, i) => `m-${i + reloadedAt}`));
  });

  test('an invalid config is refused with its problem logged; the running mappings stay', async () => {
    const bad = `mappings:\n  - name: devices\n    match: '^r/(unclosed$'\n    topic: x\nauth: { anonymous: true }\n`;
    const result = await proxy.proxy.reload(() => parseConfig(bad, 'new.yaml'));
    assert.equal(result.outcome, 'refused');
    assert.match(result.problem ?? '', /new\.yaml: mappings\[0\] "devices"\.match: invalid regular expression/);
    const line = proxy.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('reload refused'));
    assert.ok(line, 'a log line says the reload was refused');
    assert.match(String(line.msg), /mappings\[0\] "devices"\.match/);
    assert.equal(line.level, 50, 'at error level');

    const client = await mqtt.connectAsync(proxy.url, { protocolVersion: 5, clientId: 'ops-after-refusal', reconnectPeriod: 0 });
    await client.publishAsync('r/still', 'still', { qos: 1 });
    await client.endAsync();
    const records = await readRecords(after1, 31, { timeoutMs: 10000, settleMs: 300 });
    assert.equal(records.at(-1)?.value?.toString(), 'still', 'the running (reloaded) mapping still routes');
    const samples = await scrape(proxy);
    assert.equal(sampleSum(samples, `${P}config_reloads_total`, { outcome: 'refused' }), 1);
    assert.equal(sampleSum(samples, `${P}config_reloads_total`, { outcome: 'applied' }), 1);
  });

  test('settings that need a restart are named in the log and kept; registered parts get the new config', async () => {
    const seen: number[] = [];
    const unregister = proxy.proxy.onReload({ name: 'test-part', reload: (config) => void seen.push(config.limits.connectTimeoutSeconds) });
    const next = parseConfig(`${rules(after1)}listeners: [{ port: 0, host: 127.0.0.2 }]\nlimits: { connectTimeoutSeconds: 7 }\n`, 'test.yaml', {
      kafkaBrokers: proxy.config.kafka.brokers,
      ...testKafkaClient(),
    });
    const result = await proxy.proxy.reload(next);
    unregister();
    assert.equal(result.outcome, 'applied');
    assert.deepEqual(result.restartRequired, ['listeners', 'limits']);
    assert.deepEqual(seen, [7]);
    assert.equal(proxy.proxy.config.listeners[0]?.host, proxy.config.listeners[0]?.host, 'the running listeners are what config reports');
    const warning = proxy.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('take effect only after a restart'));
    assert.deepEqual(warning?.sections, ['listeners', 'limits']);
  });
});
