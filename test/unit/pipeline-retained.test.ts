// A PUBLISH with RETAIN 1 is acknowledged once its record AND its retained message are in Kafka,
// in arrival order with every other acknowledgement; a failed retained write means no acknowledgement.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { RecordSink } from '../../src/kafka/producer.js';
import type { KafkaRecord } from '../../src/kafka/record.js';
import { compileRouter } from '../../src/mapping/router.js';
import type { InboundPublish, MqttSession } from '../../src/mqtt/types.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { PublishPipeline } from '../../src/pipeline/pipeline.js';
import { parseConfig } from '../../src/server/load-config.js';
import { RetainedWriteError, type RetainedMessage, type RetainedStore } from '../../src/state/retained-store.js';

const config = parseConfig(`mappings:\n  - { name: all, match: '^.*$', topic: iot.all }\nauth: { anonymous: true }\n`, 'test.yaml');

interface Pending<T> {
  readonly value: T;
  resolve(): void;
  reject(error: Error): void;
}

/** A retained store whose writes are answered by the test. */
class HeldStore implements RetainedStore {
  readonly ready = Promise.resolve();
  readonly writes: Array<Pending<RetainedMessage>> = [];
  matching(): readonly RetainedMessage[] {
    return [];
  }
  set(message: RetainedMessage): Promise<void> {
    return new Promise((resolve, reject) => this.writes.push({ value: message, resolve, reject }));
  }
  async close(): Promise<void> {}
}

function setup(retained: RetainedStore | undefined) {
  const records: Array<{ record: KafkaRecord; done: (error: null) => void }> = [];
  const sink = { produce: (record: KafkaRecord, _d: unknown, done: (error: null) => void) => records.push({ record, done }) } as unknown as RecordSink;
  const pipeline = new PublishPipeline({
    router: compileRouter(config),
    sink,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    limits: config.limits,
    reads: { pause: () => undefined, resume: () => undefined },
    ...(retained !== undefined && { retained }),
  });
  const session: MqttSession = { clientId: 'c1', username: undefined, protocolVersion: 5, remoteAddress: '127.0.0.1', listener: 'tcp:1883' };
  pipeline.attach(session);
  const answers: string[] = [];
  const publish = (topic: string, payload: string, retain: boolean, qos: 0 | 1 | 2 = 1, will = false): void => {
    const message: InboundPublish = { topic, payload: Buffer.from(payload), qos, retain, will, properties: { contentType: 'text/plain' }, receivedAt: 1234 };
    pipeline.onPublish(session, message, {
      accept: () => answers.push(`${topic}: accepted`),
      reject: (code) => answers.push(`${topic}: rejected ${code}`),
      fail: (code) => answers.push(`${topic}: failed ${code}`),
      gone: false,
    });
  };
  return { records, answers, publish, pipeline };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('retained PUBLISH through the pipeline', () => {
  it('acknowledged only after both the mapped record and the retained message are in Kafka, whichever answers last', async () => {
    const store = new HeldStore();
    const { records, answers, publish } = setup(store);
    publish('a/1', 'x', true);
    assert.equal(records.length, 1);
    assert.equal(store.writes.length, 1);
    assert.deepEqual(store.writes[0]!.value, { topic: 'a/1', payload: Buffer.from('x'), qos: 1, properties: { contentType: 'text/plain' }, storedAt: 1234 });
    records[0]!.done(null);
    await tick();
    assert.deepEqual(answers, [], 'the record alone is not enough');
    store.writes[0]!.resolve();
    await tick();
    assert.deepEqual(answers, ['a/1: accepted']);

    publish('a/2', 'y', true);
    store.writes[1]!.resolve();
    await tick();
    assert.deepEqual(answers, ['a/1: accepted'], 'the retained message alone is not enough');
    records[1]!.done(null);
    await tick();
    assert.deepEqual(answers, ['a/1: accepted', 'a/2: accepted']);
  });

  it('MQTT-4.6.0-2: a later PUBLISH produced first waits for the retained one before it', async () => {
    const store = new HeldStore();
    const { records, answers, publish } = setup(store);
    publish('slow', 'x', true);
    publish('fast', 'y', false);
    records[0]!.done(null);
    records[1]!.done(null);
    await tick();
    assert.deepEqual(answers, []);
    store.writes[0]!.resolve();
    await tick();
    assert.deepEqual(answers, ['slow: accepted', 'fast: accepted']);
  });

  it('a retained write that fails means no acknowledgement: retriable -> the client must retransmit (0x89), refused -> 0x83', async () => {
    const store = new HeldStore();
    const { records, answers, publish } = setup(store);
    publish('t/1', 'x', true);
    publish('t/2', 'x', true);
    for (const r of records) r.done(null);
    store.writes[0]!.reject(new RetainedWriteError('timeout', 'not read back in time'));
    store.writes[1]!.reject(new RetainedWriteError('misconfigured', 'the retained topic is not compacted'));
    await tick();
    assert.deepEqual(answers, ['t/1: failed 137', 't/2: rejected 131']);
  });

  it('MQTT-3.3.1-10: an empty retained payload is produced as any PUBLISH and handed to the store, which clears', async () => {
    const store = new HeldStore();
    const { records, publish } = setup(store);
    publish('c/1', '', true);
    assert.equal(records[0]!.record.value.length, 0);
    assert.equal(store.writes[0]!.value.payload.length, 0);
  });

  it('RETAIN 0 never touches the store; without a store RETAIN 1 is produced as today', async () => {
    const store = new HeldStore();
    const a = setup(store);
    a.publish('n/1', 'x', false);
    assert.equal(store.writes.length, 0);
    const b = setup(undefined);
    b.publish('n/2', 'x', true);
    b.records[0]!.done(null);
    await tick();
    assert.deepEqual(b.answers, ['n/2: accepted']);
  });

  it('a QoS 0 retained PUBLISH is written to the store too, and not held', async () => {
    const store = new HeldStore();
    const { answers, publish } = setup(store);
    publish('q/0', 'x', true, 0);
    assert.equal(store.writes.length, 1);
    assert.deepEqual(answers, ['q/0: accepted']);
  });

  it('MQTT-3.1.2-17: a Will with Will Retain 1 is retained too, and counted as published once both are in Kafka', async () => {
    const store = new HeldStore();
    const { records, answers, publish } = setup(store);
    publish('wills/c1', 'gone', true, 1, true);
    assert.equal(store.writes[0]?.value.topic, 'wills/c1');
    records[0]!.done(null);
    await tick();
    assert.deepEqual(answers, []);
    store.writes[0]!.resolve();
    await tick();
    assert.deepEqual(answers, ['wills/c1: accepted']);
  });
});
