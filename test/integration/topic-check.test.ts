// Static target topics are checked when the proxy connects to Kafka, not at the first message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopics, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

/** What /readyz answers: the status and the body, which names the reason when not ready. */
async function readyz(proxy: RunningProxy): Promise<{ status: number; body: string }> {
  const response = await fetch(`${proxy.adminUrl}/readyz`);
  return { status: response.status, body: await response.text() };
}

function config(present: string, missing: string, unmapped: string, requireTopics: boolean): string {
  return `
mappings:
  - name: present
    match: '^a/'
    topic: ${present}
  - name: typo
    match: '^b/'
    topic: ${missing}
  - name: per-kind
    match: '^c/([^/]+)$'
    topic: 'never-checked.$1'
unmapped: { topic: ${unmapped} }
kafka: { requireTopics: ${requireTopics} }
auth: { anonymous: true }
http: { port: 0 }
`;
}

test('missing static target topics are reported at startup, naming rule and topic', async () => {
  const present = uniqueName('check-present');
  const missing = uniqueName('check-missing');
  const unmapped = uniqueName('check-unmapped');
  await createTopics([present]);
  const proxy = await startProxy(config(present, missing, unmapped, false));
  try {
    await waitFor(() => proxy.logs.filter((l) => l.topic !== undefined && l.rule !== undefined && l.level === 40).length >= 2, 15000, 'warnings');
    const warnings = proxy.logs.filter((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.startsWith('target Kafka topic'));
    assert.deepEqual(
      warnings.map((l) => [l.rule, l.topic]).sort(),
      [
        ['typo', missing],
        ['unmapped', unmapped],
      ].sort(),
    );
    assert.match(String(warnings[0]?.msg), /does not exist: publishes routed to it are refused/);
    assert.ok(!proxy.logs.some((l) => String(l.msg).includes('never-checked')), 'templated topics are not checked');
    assert.equal(proxy.proxy.kafka.ready, true, 'without requireTopics a missing topic does not hold readiness back');
    await waitFor(() => proxy.proxy.kafka.connected, 15000, 'Kafka connection');
    assert.deepEqual(await readyz(proxy), { status: 200, body: 'ready\n' });
    assert.deepEqual(proxy.proxy.kafka.missingTopics.map((m) => m.topic).sort(), [missing, unmapped].sort());
  } finally {
    await proxy.stop();
  }
});

test('with kafka.requireTopics the proxy is not ready until every static target topic exists', { timeout: 60000 }, async () => {
  const present = uniqueName('check-present');
  const missing = uniqueName('check-missing');
  const unmapped = uniqueName('check-unmapped');
  await createTopics([present]);
  const proxy = await startProxy(config(present, missing, unmapped, true));
  try {
    await waitFor(() => proxy.proxy.kafka.connected, 15000, 'Kafka connection');
    await waitFor(() => proxy.logs.some((l) => l.topic === missing && l.requireTopics === true), 15000, 'the warning');
    assert.match(String(proxy.logs.find((l) => l.topic === missing)?.msg), /stays not ready until it exists/);
    assert.equal(proxy.proxy.kafka.ready, false);
    const before = await readyz(proxy);
    assert.equal(before.status, 503);
    assert.match(before.body, new RegExp(`^not ready: target Kafka topics missing: .*${missing}`));
    assert.match(before.body, new RegExp(unmapped));

    await createTopics([missing]);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    assert.equal(proxy.proxy.kafka.ready, false, 'one topic is still missing');
    assert.deepEqual(proxy.proxy.kafka.missingTopics, [{ rule: 'unmapped', topic: unmapped }]);
    const oneLeft = await readyz(proxy);
    assert.equal(oneLeft.status, 503);
    assert.match(oneLeft.body, new RegExp(`^not ready: target Kafka topics missing: .*${unmapped}`));
    assert.doesNotMatch(oneLeft.body, new RegExp(missing), 'the topic created is no longer named');

    await createTopics([unmapped]);
    await waitFor(() => proxy.proxy.kafka.ready, 15000, 'readiness once the topics exist');
    assert.deepEqual(await readyz(proxy), { status: 200, body: 'ready\n' });
    assert.ok(proxy.logs.some((l) => l.msg === 'every target Kafka topic exists now'));
    const warned = proxy.logs.filter((l) => l.topic === missing && l.level === 40).length;
    assert.equal(warned, 1, 'each missing topic is reported once, not at every recheck');
  } finally {
    await proxy.stop();
  }
});
