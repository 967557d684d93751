// The sessions topic at start, and a session kept across a restart of a single proxy: created
// compacted when absent; a topic without compaction stops the proxy with the reason; a graceful
// stop writes the sessions it ends, and the next process resumes them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommandProducer, subscriber } from '../helpers/commands.js';
import { createTopics, testBrokers, uniqueName, withAdmin } from '../helpers/kafka.js';
import { startProxy, waitFor } from '../helpers/proxy.js';
import { parsePrometheusText, sampleSum } from '../helpers/prometheus.js';
import { sleep, until } from '../helpers/reader.js';

const commands = uniqueName('sessions-store.commands');
const config = (sessions: string): string => `
mappings:
  - { name: none, match: '^never$', topic: ${commands} }
delivery:
  - { name: commands, kafka: ${commands}, mqttTopic: 'devices/\${key}/commands' }
retained: { enabled: false }
sessions: { topic: ${sessions} }
auth: { anonymous: true }
http: { port: 0 }
`;

describe('the sessions topic', () => {
  test('absent: created with cleanup.policy=compact; the proxy is ready once it has read it', async () => {
    const topic = uniqueName('sessions-store.new');
    const proxy = await startProxy(config(topic));
    try {
      await waitFor(() => proxy.proxy.readiness().ready, 20000, 'ready');
      const [description] = await withAdmin((admin) => admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ['cleanup.policy'] }] }));
      assert.equal(description?.configs.find((c) => c.name === 'cleanup.policy')?.value, 'compact');
    } finally {
      await proxy.stop();
    }
  });

  test('without compaction: the proxy does not start, and says why', async () => {
    const plain = uniqueName('sessions-store.plain');
    await createTopics([plain], undefined, 1, { 'cleanup.policy': 'delete' });
    await assert.rejects(startProxy(config(plain)), (error: Error) => /sessions\.topic.*cleanup\.policy=delete/s.test(error.message));
  });

  test('a graceful stop writes the sessions it ends: the next process resumes them with what was written meanwhile', async () => {
    await createTopics([commands], testBrokers(), 1);
    const topic = uniqueName('sessions-store.restart');
    const producer = new CommandProducer(testBrokers());
    const options = { protocolVersion: 5 as const, clientId: 'restart-dev', clean: false, properties: { sessionExpiryInterval: 300 } };
    let proxy = await startProxy(config(topic));
    try {
      await waitFor(() => proxy.proxy.readiness().ready, 20000, 'ready');
      const first = await subscriber(proxy.url, { 'devices/restart-dev/commands': { qos: 1 } }, options);
      first.client.on('error', () => undefined);
      await producer.send(commands, [{ key: 'restart-dev', value: 'before' }]);
      await until(() => first.received.length === 1, 15000, 'the first command');
      // Stopped at once: the session is stored by the stop, not by the once-a-second write.
      await proxy.stop();
      await first.client.endAsync(true);
      await producer.send(commands, [{ key: 'restart-dev', value: 'while-down-1' }, { key: 'restart-dev', value: 'while-down-2' }]);
      proxy = await startProxy(config(topic));
      await waitFor(() => proxy.proxy.readiness().ready, 20000, 'ready');
      const again = await subscriber(proxy.url, {}, options);
      await until(() => again.received.length === 2, 15000, 'the commands written while the proxy was down');
      assert.deepEqual(again.received.map((r) => r.payload), ['while-down-1', 'while-down-2'], 'the one delivered before is not sent again');
      assert.equal((again.client as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket?.sessionPresent, true);
      const metrics = parsePrometheusText(await (await fetch(`${proxy.adminUrl}/metrics`)).text());
      assert.equal(sampleSum(metrics, 'mqtt_kafka_proxy_sessions', { state: 'connected' }), 1);
      assert.equal(sampleSum(metrics, 'mqtt_kafka_proxy_sessions', { state: 'stored' }), 1);
      assert.equal(sampleSum(metrics, 'mqtt_kafka_proxy_session_events_total', { event: 'resumed' }), 1);
      await sleep(300);
      await again.client.endAsync();
    } finally {
      await proxy.stop();
      await producer.close();
    }
  });
});

