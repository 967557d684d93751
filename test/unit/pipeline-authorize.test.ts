// Authorization comes before mapping: a denied PUBLISH never reaches the router or Kafka.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../src/server/load-config.js';
import type { RecordSink } from '../../src/kafka/producer.js';
import { compileRouter, type Router } from '../../src/mapping/router.js';
import type { InboundPublish, MqttSession } from '../../src/mqtt/types.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { NOT_AUTHORIZED_RULE_LABEL, PublishPipeline } from '../../src/pipeline/pipeline.js';

const config = parseConfig(
  `
mappings:
  - { name: telemetry, match: '^devices/([^/]+)/telemetry$', topic: iot.telemetry }
auth: { anonymous: true }
`,
  'test.yaml',
);

test('a denied publish is answered without being routed; counted under a fixed rule label', async () => {
  const routed: string[] = [];
  const real = compileRouter(config);
  const router: Router = { ruleNames: real.ruleNames, route: (input) => (routed.push(input.topic), real.route(input)) };
  const produced: string[] = [];
  const sink = {
    produce: (record: { topic: string }, _delivery: unknown, done: (error: null) => void) => {
      produced.push(record.topic);
      done(null);
    },
  } as unknown as RecordSink;
  const metrics = createMetrics();
  const pipeline = new PublishPipeline({
    router,
    sink,
    logger: pino({ level: 'silent' }),
    metrics,
    limits: config.limits,
    reads: { pause: () => undefined, resume: () => undefined },
    authorize: (_session, message) => (message.topic.startsWith('devices/mine/') ? 'allow' : 'deny'),
  });
  const session: MqttSession = { clientId: 'c1', username: 'mine', protocolVersion: 5, remoteAddress: '127.0.0.1', listener: 'tcp:1883' };
  pipeline.attach(session);
  const publish = (topic: string): Promise<string> =>
    new Promise((resolve) => {
      const message: InboundPublish = { topic, payload: Buffer.from('x'), qos: 1, retain: false, will: false, properties: undefined, receivedAt: Date.now() };
      pipeline.onPublish(session, message, {
        accept: () => resolve('accepted'),
        reject: (code) => resolve(`rejected ${code}`),
        fail: (code) => resolve(`failed ${code}`),
        gone: false,
      });
    });

  assert.equal(await publish('devices/other/telemetry'), 'rejected 135');
  assert.deepEqual(routed, [], 'the router never saw the denied publish');
  assert.equal(await publish('devices/mine/telemetry'), 'accepted');
  assert.deepEqual(routed, ['devices/mine/telemetry']);
  assert.deepEqual(produced, ['iot.telemetry']);

  const received = (await metrics.publishesReceived.get()).values.map((v) => [v.labels.rule, v.value]);
  assert.deepEqual(received.sort(), [
    [NOT_AUTHORIZED_RULE_LABEL, 1],
    ['telemetry', 1],
  ]);
});
