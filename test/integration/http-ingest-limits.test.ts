/**
 * HTTP ingest limits with raw sockets: requests in flight per address (429) and per listener (503),
 * both with Retry-After; a slow body (408); idle keep-alive connections closed; the client address
 * from X-Forwarded-For only behind a trusted proxy, and from a PROXY protocol header.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { post } from '../helpers/http-ingest.js';
import { createTopics, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const topic = uniqueName('http.limits');
let proxy: RunningProxy;
let limitedPort: number;
let proxiedPort: number;

before(async () => {
  await createTopics([topic]);
  proxy = await startProxy(`
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: 0 }
  - protocol: http
    host: 127.0.0.1
    port: 0
    trustedProxies: [127.0.0.1/32]
    ingest: { maxRequestsInFlight: 2, maxRequestsInFlightPerAddress: 1, bodyTimeoutMs: 1500, keepAliveTimeoutMs: 700, retryAfterSeconds: 3 }
  - protocol: http
    host: 127.0.0.1
    port: 0
    proxyProtocol: { trustedCidrs: [127.0.0.1/32] }
mappings: [{ name: all, match: '^.+$', topic: ${topic} }]
auth: { anonymous: true }
http: { port: 0 }
`);
  limitedPort = proxy.listeners[1]!.port;
  proxiedPort = proxy.listeners[2]!.port;
  await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
});

after(async () => {
  await proxy?.stop();
});

/** A request whose body never finishes: it stays in flight until the body timeout. */
async function heldRequest(port: number, extraHeaders = ''): Promise<{ socket: net.Socket; answer: Promise<string> }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`POST /publish/held HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n${extraHeaders}\r\npartial`);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { socket, answer };
}

test('in flight per address: 429; per listener: 503; both with Retry-After; a slow body gets 408', async () => {
  const url = `http://127.0.0.1:${limitedPort}/publish/x`;
  const first = await heldRequest(limitedPort);
  const sameAddress = await post(url, 'x');
  assert.equal(sameAddress.status, 429);
  assert.equal(sameAddress.headers['retry-after'], '3');
  // Behind the trusted proxy (127.0.0.1), X-Forwarded-For names another client: not over its bound.
  const otherClient = await post(url, 'x', { 'x-forwarded-for': '10.0.0.2' });
  assert.equal(otherClient.status, 200, JSON.stringify(otherClient.body));
  const second = await heldRequest(limitedPort, 'x-forwarded-for: 10.0.0.3\r\n');
  const full = await post(url, 'x', { 'x-forwarded-for': '10.0.0.4' });
  assert.equal(full.status, 503);
  assert.equal(full.body.error, 'overloaded');
  assert.equal(full.headers['retry-after'], '3');
  assert.ok(proxy.logs.some((l) => l.msg === 'HTTP ingest answered 503: too many requests in flight on this listener'), 'the 503 is logged with its cause');
  for (const held of [first, second]) assert.match(await held.answer, /^HTTP\/1\.1 408 /);
  const after = await post(url, 'x');
  assert.equal(after.status, 200, 'the bounds are released');
});

test('an idle keep-alive connection is closed after keepAliveTimeoutMs', async () => {
  const socket = net.connect(limitedPort, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const openedAt = Date.now();
  socket.write('POST /publish/k HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\nk');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await new Promise((resolve) => socket.on('close', resolve));
  const openFor = Date.now() - openedAt;
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.ok(openFor >= 600 && openFor < 5000, `closed after ${openFor} ms`);
});

test('a PROXY protocol header names the client', async () => {
  const socket = net.connect(proxiedPort, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('PROXY TCP4 10.9.8.7 127.0.0.1 5555 80\r\nPOST /publish/p HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 1\r\n\r\np');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await new Promise((resolve) => socket.on('close', resolve));
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.ok(proxy.logs.some((l) => l.msg === 'client authenticated' && l.remoteAddress === '10.9.8.7'), 'the request was seen from the PROXY source');
});

test('a graceful stop answers the requests waiting for Kafka, then refuses new ones', async () => {
  const draining = await startProxy(`
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: 0 }
  - { protocol: http, host: 127.0.0.1, port: 0 }
kafka: { lingerMs: 1500 }
mappings: [{ name: all, match: '^.+$', topic: ${topic} }]
auth: { anonymous: true }
http: { port: 0 }
`);
  await waitFor(() => draining.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
  const url = `http://127.0.0.1:${draining.listeners[1]!.port}/publish/drain`;
  // Waits 1.5 s for company in the produce lane: on its way to Kafka when the stop begins.
  const waiting = post(url, 'in flight');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stopped = draining.stop();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const late = await post(url, 'late').catch((error: unknown) => ({ status: 0, body: { error: (error as Error).message } }));
  const answer = await waiting;
  await stopped;
  assert.equal(answer.status, 200, `the request in flight was answered: ${JSON.stringify(answer.body)}`);
  assert.ok(late.status === 0 || late.status === 503, `a request after the stop began is refused (${late.status})`);
});
