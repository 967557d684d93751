/**
 * HTTP ingest against the real Kafka: POST /publish/{topic} and batches, with curl and Node's
 * fetch, answered with the Kafka position only once Kafka has the record; every error status;
 * Basic, Bearer and the ACL with %u; the OpenAPI document; the metrics.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashPassword } from '../../src/auth/password-hash.js';
import http from 'node:http';
import { basic, curl, ingestUrl, post, postVia } from '../helpers/http-ingest.js';
import { nowSeconds, signJwt } from '../helpers/jwt.js';
import { createTopics, headerText, readRecords, uniqueName } from '../helpers/kafka.js';
import { getText, parsePrometheusText, sampleSum } from '../helpers/prometheus.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const FAST = { N: 1024, r: 8, p: 1 };
const SECRET = 'http-ingest-test-secret-of-at-least-32-bytes';
const dir = mkdtempSync(join(tmpdir(), 'mkp-http-ingest-'));
const usersFile = join(dir, 'users.yaml');
const topic = uniqueName('http.devices');
const jwtTopic = uniqueName('http.jwt');

const config = `
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: 0 }
  - protocol: http
    host: 127.0.0.1
    port: 0
    ingest: { headers: [x-request-id], maxBodyBytes: 4096, maxBatchMessages: 5 }
mappings:
  - name: devices
    match: '^devices/(?<deviceId>[^/]+)/.+$'
    topic: ${topic}
    key: '\${deviceId}'
  - name: jwt
    match: '^jwt/.+$'
    topic: ${jwtTopic}
    key: '\${username}'
unmapped: reject
auth:
  anonymous: false
  usersFile: ${usersFile}
  jwt: { secret: ${SECRET} }
http: { port: 0 }
`;

let proxy: RunningProxy;
let url: string;
const alice = basic('alice', 'alice-pw');

before(async () => {
  writeFileSync(
    usersFile,
    `users:
  - username: alice
    password: '${await hashPassword('alice-pw', FAST)}'
    acl:
      - allow: devices/%u/#
acl:
  authenticated:
    - allow: jwt/%u/#
    - allow: unmapped/#
`,
  );
  await createTopics([topic, jwtTopic], undefined, 3);
  proxy = await startProxy(config);
  url = ingestUrl(proxy);
  await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
});

after(async () => {
  await proxy?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('single messages', () => {
  test('fetch: 200 with the Kafka topic, partition and offset of the record, which carries the payload, key and headers', async () => {
    const payload = Buffer.from([0x00, 0xff, 0x10, 0xc3, 0x28]);
    const answer = await post(`${url}/publish/devices/alice/telemetry`, payload, {
      authorization: alice,
      'content-type': 'application/octet-stream',
      'x-request-id': 'req-1',
      'x-other': 'not forwarded',
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.topic, topic);
    const records = await readRecords(topic, 1, { until: (r) => r.some((record) => record.key?.toString() === 'alice' && headerText(record.headers, 'x-request-id') === 'req-1') });
    const record = records.find((r) => headerText(r.headers, 'x-request-id') === 'req-1')!;
    assert.deepEqual(record.value, payload);
    assert.equal(answer.body.partition, record.partition);
    assert.equal(answer.body.offset, Number(record.offset));
    assert.equal(headerText(record.headers, 'mqtt.topic'), 'devices/alice/telemetry');
    assert.equal(headerText(record.headers, 'mqtt.qos'), '1');
    assert.equal(headerText(record.headers, 'mqtt.content_type'), 'application/octet-stream');
    assert.equal(headerText(record.headers, 'mqtt.client_id'), 'http-alice');
    assert.equal(headerText(record.headers, 'x-other'), undefined, 'only the configured headers are forwarded');
  });

  test('curl: a percent-encoded topic, and the MQTT-Topic header for a topic with an empty level', async () => {
    const encoded = await curl(['-X', 'POST', '-H', `authorization: ${alice}`, '--data-binary', 'caf\u00e9', `${url}/publish/devices%2Falice%2Fcaf%C3%A9`]);
    assert.equal(encoded.status, 200, JSON.stringify(encoded.body));
    const header = await curl(['-X', 'POST', '-u', 'alice:alice-pw', '-H', 'mqtt-topic: devices/alice//x%3Fy', '--data-binary', 'empty level', `${url}/publish`]);
    assert.equal(header.status, 200, JSON.stringify(header.body));
    const records = await readRecords(topic, 3, { until: (r) => r.some((record) => headerText(record.headers, 'mqtt.topic') === 'devices/alice//x?y') });
    assert.ok(records.some((r) => headerText(r.headers, 'mqtt.topic') === 'devices/alice/café' && r.value?.toString() === 'café'));
    assert.ok(records.some((r) => r.value?.toString() === 'empty level'));
  });
});

describe('batches', () => {
  test('curl, application/x-ndjson: each message answered; a bad line refused alone', async () => {
    const body = [
      JSON.stringify({ topic: 'devices/alice/a', payload: 'one' }),
      '{not json',
      JSON.stringify({ payload: { n: 2 } }),
      JSON.stringify({ topic: 'devices/alice/b', payload: 'dGhyZWU=', encoding: 'base64', headers: { h: 'v' } }),
    ].join('\n');
    const answer = await curl(['-X', 'POST', '-u', 'alice:alice-pw', '-H', 'content-type: application/x-ndjson', '--data-binary', body, `${url}/batch/devices/alice/default`]);
    assert.equal(answer.status, 207);
    const results = answer.body.results as Array<Record<string, unknown>>;
    assert.deepEqual(results.map((r) => r.status), [200, 400, 200, 200]);
    assert.ok(results.every((r) => r.status !== 200 || (r.topic === topic && typeof r.offset === 'number')));
    const records = await readRecords(topic, 3, { until: (r) => r.some((record) => record.value?.toString() === 'three') });
    const three = records.find((r) => r.value?.toString() === 'three')!;
    assert.equal(headerText(three.headers, 'h'), 'v');
    const json = records.find((r) => r.value?.toString() === '{"n":2}')!;
    assert.equal(headerText(json.headers, 'mqtt.topic'), 'devices/alice/default');
    assert.equal(headerText(json.headers, 'mqtt.content_type'), 'application/json');
  });

  test('fetch, a JSON array: 200 when every message is written, offsets distinct', async () => {
    const messages = Array.from({ length: 5 }, (_, i) => ({ topic: `devices/alice/n${i}`, payload: `array-${i}` }));
    const answer = await post(`${url}/batch`, JSON.stringify(messages), { authorization: alice, 'content-type': 'application/json' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const results = answer.body.results as Array<{ status: number; partition: number; offset: number }>;
    assert.equal(results.length, 5);
    assert.equal(new Set(results.map((r) => `${r.partition}:${r.offset}`)).size, 5);
  });

  test('413 for more messages than maxBatchMessages; 400 for a batch of another content type', async () => {
    const six = Array.from({ length: 6 }, () => JSON.stringify({ topic: 'devices/alice/x', payload: 'x' })).join('\n');
    const tooMany = await post(`${url}/batch`, six, { authorization: alice, 'content-type': 'application/x-ndjson' });
    assert.equal(tooMany.status, 413);
    const plain = await post(`${url}/batch`, 'text', { authorization: alice, 'content-type': 'text/plain' });
    assert.equal(plain.status, 400);
    assert.equal(plain.body.error, 'bad-request');
  });
});

describe('errors', () => {
  test('400 for a topic with a wildcard or bad percent-encoding', async () => {
    for (const path of ['/publish/devices/alice/%2B', '/publish/devices/alice/%23', '/publish/devices/%FF']) {
      const answer = await post(`${url}${path}`, 'x', { authorization: alice });
      assert.equal(answer.status, 400, path);
      assert.equal(answer.body.error, 'bad-topic');
    }
  });

  test('401 with WWW-Authenticate without credentials and with a wrong password (curl and fetch)', async () => {
    const none = await curl(['-X', 'POST', '--data-binary', 'x', `${url}/publish/devices/alice/t`]);
    assert.equal(none.status, 401);
    assert.match(none.headers['www-authenticate'] ?? '', /Basic/);
    const wrong = await post(`${url}/publish/devices/alice/t`, 'x', { authorization: basic('alice', 'nope') });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers['www-authenticate'] ?? '', /Bearer/);
  });

  test('403 where the ACL (%u) denies; 404 for an unmapped topic; 404 and 405 for other paths and methods', async () => {
    const denied = await post(`${url}/publish/devices/bob/telemetry`, 'x', { authorization: alice });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error, 'forbidden');
    const unmapped = await post(`${url}/publish/unmapped/x`, 'x', { authorization: alice });
    assert.equal(unmapped.status, 404);
    assert.equal(unmapped.body.error, 'unmapped');
    const other = await post(`${url}/nothing`, 'x', { authorization: alice });
    assert.equal(other.status, 404);
    assert.equal(other.body.error, 'not-found');
    const get = await fetch(`${url}/publish/devices/alice/t`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  test('413 for a body over maxBodyBytes, by Content-Length and by a chunked body', async () => {
    const declared = await post(`${url}/publish/devices/alice/big`, Buffer.alloc(5000), { authorization: alice });
    assert.equal(declared.status, 413);
    const chunked = await curl(['-X', 'POST', '-u', 'alice:alice-pw', '-H', 'transfer-encoding: chunked', '--data-binary', 'x'.repeat(5000), `${url}/publish/devices/alice/big`]);
    assert.equal(chunked.status, 413);
  });
});

describe('authentication', () => {
  test('Bearer JWT: the token subject is the username for the ACL and the key', async () => {
    const token = signJwt({ sub: 'carol', exp: nowSeconds() + 300 }, { hs256: SECRET });
    const answer = await curl(['-X', 'POST', '-H', `authorization: Bearer ${token}`, '--data-binary', 'from carol', `${url}/publish/jwt/carol/x`]);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.topic, jwtTopic);
    const records = await readRecords(jwtTopic, 1);
    assert.equal(records[0]!.key?.toString(), 'carol');
    const expired = signJwt({ sub: 'carol', exp: nowSeconds() - 60 }, { hs256: SECRET });
    const refused = await post(`${url}/publish/jwt/carol/x`, 'x', { authorization: `Bearer ${expired}` });
    assert.equal(refused.status, 401);
    const denied = await post(`${url}/publish/jwt/dave/x`, 'x', { authorization: `Bearer ${token}` });
    assert.equal(denied.status, 403);
  });

  test('Basic on a keep-alive connection: many requests, one password check', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const before = proxy.logs.filter((l) => l.msg === 'client authenticated').length;
    for (let i = 0; i < 5; i++) {
      const answer = await postVia(agent, `${url}/publish/devices/alice/keepalive`, `k${i}`, { authorization: alice });
      assert.equal(answer.status, 200);
    }
    const checks = proxy.logs.filter((l) => l.msg === 'client authenticated').length - before;
    assert.equal(checks, 1, `${checks} checks for 5 requests on one connection`);
    // Another password on the same connection is checked, and refused.
    const wrong = await postVia(agent, `${url}/publish/devices/alice/keepalive`, 'k', { authorization: basic('alice', 'other') });
    assert.equal(wrong.status, 401);
    agent.destroy();
  });
});

test('GET /openapi.json describes the endpoints', async () => {
  const response = await fetch(`${url}/openapi.json`);
  assert.equal(response.status, 200);
  const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
  assert.equal(document.openapi, '3.1.0');
  assert.ok('/publish/{topic}' in document.paths && '/batch' in document.paths);
});

test('metrics: the publish and record families with transport="http", and the requests by status', async () => {
  const samples = parsePrometheusText((await getText(proxy.adminUrl, '/metrics')).body);
  const P = 'mqtt_kafka_proxy_';
  assert.ok(sampleSum(samples, `${P}publishes_received_total`, { transport: 'http', rule: 'devices' }) > 0);
  assert.ok(sampleSum(samples, `${P}records_total`, { transport: 'http', outcome: 'acked' }) > 0);
  assert.ok(sampleSum(samples, `${P}http_requests_total`, { status: '200' }) > 0);
  assert.ok(sampleSum(samples, `${P}http_requests_total`, { status: '401' }) > 0);
  assert.equal(sampleSum(samples, `${P}records_total`, { transport: 'mqtt' }), 0);
});
