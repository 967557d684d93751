/**
 * HTTP ingest while Kafka is down, on a broker of this test's own: requests are answered 503 with
 * Retry-After (Kafka unavailable, or the in-flight bound once it is reached), each logged with its
 * cause; nothing of them is written or acknowledged; once Kafka is back the same requests get 200.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { curl, ingestUrl, post, type HttpAnswer } from '../helpers/http-ingest.js';
import { createTopics, readRecords, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const kafkaDev = path.join(root, 'scripts', 'kafka-dev');
const port = process.env.OUTAGE_KAFKA_PORT ?? '29192';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mkp-http-outage-kafka-'));
const kafkaEnv = { ...process.env, KAFKA_PORT: port, KAFKA_DATA_DIR: dataDir };
const brokers = [`127.0.0.1:${port}`];
const topic = uniqueName('http.outage');

function kafka(command: 'start' | 'stop'): void {
  execFileSync(kafkaDev, [command], { env: kafkaEnv, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120000 });
}

let proxy: RunningProxy;
let url: string;

before(async () => {
  kafka('start');
  await createTopics([topic], brokers);
  proxy = await startProxy(
    `
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: 0 }
  - { protocol: http, host: 127.0.0.1, port: 0, ingest: { retryAfterSeconds: 2 } }
mappings: [{ name: all, match: '^outage/(?<id>.+)$', topic: ${topic}, key: '\${id}' }]
kafka: { requestTimeoutMs: 3000, connectionTimeoutMs: 1000 }
limits: { maxInflightMessages: 4 }
auth: { anonymous: true }
http: { port: 0 }
`,
    { brokers },
  );
  url = ingestUrl(proxy);
  await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 30000, 'Kafka connection');
});

after(async () => {
  await proxy?.stop();
  execFileSync(kafkaDev, ['stop', '--clean'], { env: kafkaEnv, stdio: 'ignore' });
  rmSync(dataDir, { recursive: true, force: true });
});

test('Kafka down: 503 with Retry-After, nothing written, nothing acknowledged; Kafka back: 200', { timeout: 240000 }, async () => {
  const before = await post(`${url}/publish/outage/before`, 'before');
  assert.equal(before.status, 200, JSON.stringify(before.body));

  kafka('stop');
  const during = Array.from({ length: 10 }, (_, i) => `during-${i}`);
  // Ten at once: four fill the in-flight bound and wait for Kafka; the others are refused at once.
  const answers: HttpAnswer[] = await Promise.all(during.map((id) => post(`${url}/publish/outage/${id}`, id)));
  const batch = await curl(['-X', 'POST', '-H', 'content-type: application/x-ndjson', '--data-binary', '{"topic":"outage/during-batch","payload":"b"}', `${url}/batch`]);
  answers.push(batch);
  for (const answer of answers) {
    assert.ok(answer.status === 503 || answer.status === 207, `status ${answer.status} ${JSON.stringify(answer.body)}`);
    assert.equal(answer.headers['retry-after'], '2');
  }
  const errors = answers.map((a) => (a.status === 207 ? (a.body.results as Array<{ error: string }>)[0]!.error : a.body.error));
  assert.ok(errors.includes('kafka-unavailable'), `Kafka unavailable answered (${errors.join(',')})`);
  assert.ok(errors.includes('overloaded'), `the in-flight bound answered (${errors.join(',')})`);
  assert.ok(proxy.logs.some((l) => l.status === 503 && l.error === 'kafka-unavailable' && typeof l.cause === 'string'), '503 logged with its cause');

  // Long enough for the Kafka client to have given up on every request it was still retrying.
  await new Promise((resolve) => setTimeout(resolve, 8000));
  kafka('start');
  const retried: Record<string, number> = {};
  for (const id of during) {
    const deadline = Date.now() + 90000;
    for (;;) {
      const answer = await post(`${url}/publish/outage/${id}`, id).catch(() => undefined);
      if (answer?.status === 200) {
        retried[id] = answer.body.offset as number;
        break;
      }
      if (Date.now() > deadline) throw new Error(`${id} not accepted after Kafka came back`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  const records = await readRecords(topic, 1 + during.length, { brokers, settleMs: 1500 });
  const keys = records.map((r) => r.key?.toString());
  assert.equal(keys.filter((k) => k === 'during-batch').length, 0, 'the batch refused during the outage was not written');
  for (const id of during) assert.equal(keys.filter((k) => k === id).length, 1, `${id} written once, by its retry (keys ${keys.join(',')})`);
  for (const record of records) {
    const id = record.key?.toString();
    if (id !== undefined && id in retried) assert.equal(Number(record.offset), retried[id], `${id}: the answered offset is the record's`);
  }
});
