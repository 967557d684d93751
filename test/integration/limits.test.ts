import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { once } from 'node:events';
import tls from 'node:tls';
import mqtt from 'mqtt';
import { TestCertificates } from '../helpers/certs.js';
import { createTopics, headerText, readRecords, uniqueName } from '../helpers/kafka.js';
import { closed, connectOrThrow, counterValue, tryConnect } from '../helpers/mqtt-connect.js';
import { catchAllConfig, startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const topic = uniqueName('limits.all');

const config = (limits: string): string => catchAllConfig(topic, `limits: ${limits}\n`);

/** Connection limits get a proxy of their own: other tests' connections would count. */
let connectionsProxy: RunningProxy;
let proxy: RunningProxy;

before(async () => {
  await createTopics([topic]);
  connectionsProxy = await startProxy(config('{ maxConnections: 3, maxConnectionsPerAddress: 2 }'));
  proxy = await startProxy(
    config(`{ maxPacketSize: 1024, connectTimeoutSeconds: 1, maxClientIdLength: 30, minKeepAliveSeconds: 5, maxKeepAliveSeconds: 120, publishRatePerSecond: 5, publishRateBurst: 10 }`),
  );
  await waitFor(() => [connectionsProxy, proxy].every((p) => p.logs.some((l) => l.msg === 'connected to Kafka')), 20000, 'Kafka connection');
});

after(async () => {
  await Promise.all([connectionsProxy.stop(), proxy.stop()]);
});

const hits = (p: RunningProxy, limit: string): Promise<number> => counterValue(p.proxy.metrics.limitsHit, { limit });
const limitLogged = (p: RunningProxy, limit: string): boolean => p.logs.some((l) => l.limit === limit && l.level === 40);

describe('connection limits', () => {
  test('per source address, then in total: the connection over the limit is closed before CONNECT is read', async () => {
    const open: mqtt.MqttClient[] = [];
    try {
      const port = connectionsProxy.port;
      open.push(await connectOrThrow({ port, version: 4, localAddress: '127.0.0.2' }));
      open.push(await connectOrThrow({ port, version: 5, localAddress: '127.0.0.2' }));
      const third = await tryConnect({ port, version: 5, localAddress: '127.0.0.2' });
      assert.deepEqual([third.connected, !third.connected && third.error], [false, 'closed']);
      assert.equal(await hits(connectionsProxy, 'max-connections-per-address'), 1);
      assert.ok(limitLogged(connectionsProxy, 'max-connections-per-address'));

      // Another address may still connect, up to the total of 3.
      open.push(await connectOrThrow({ port, version: 4, localAddress: '127.0.0.3' }));
      const fourth = await tryConnect({ port, version: 4, localAddress: '127.0.0.4' });
      assert.deepEqual([fourth.connected, !fourth.connected && fourth.error], [false, 'closed']);
      assert.equal(await hits(connectionsProxy, 'max-connections'), 1);
      assert.ok(limitLogged(connectionsProxy, 'max-connections'));

      // A closed connection frees its place.
      await open.shift()!.endAsync();
      let again: Awaited<ReturnType<typeof tryConnect>> | undefined;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        again = await tryConnect({ port, version: 5, localAddress: '127.0.0.2' });
        if (again.connected) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(again?.connected, 'a place is free again');
      open.push(again.client);
      await again.client.publishAsync('limits/connections/after', 'x', { qos: 1 });
    } finally {
      await Promise.all(open.map((c) => c.endAsync()));
    }
  });
});

describe('connection limits count sockets from accept time', () => {
  test('a flood of TCP sockets that never start their TLS handshake is capped; a real client gets in once they go', async () => {
    const certs = new TestCertificates();
    const ca = certs.createCa('limits-ca');
    const server = certs.issueServer(ca, 'limits-server');
    const tlsProxy = await startProxy(
      catchAllConfig(
        topic,
        `listeners:
  - { protocol: tls, host: 127.0.0.1, port: 0, tls: { cert: ${server.certFile}, key: ${server.keyFile} } }
limits: { maxConnections: 6, maxConnectionsPerAddress: 4, connectTimeoutSeconds: 30 }
`,
      ),
    );
    const flood: net.Socket[] = [];
    try {
      const port = tlsProxy.port;
      const tlsClient = (localAddress: string) =>
        tryTlsConnect({ port, ca: ca.cert, localAddress });
      // From one address: 4 sockets are held in their handshake; the 5th is closed at once.
      for (let i = 0; i < 4; i++) flood.push(await openIdle(port, '127.0.0.2'));
      const overAddress = await openIdle(port, '127.0.0.2');
      assert.ok((await closedWithin(overAddress, 1000)) < 1000, 'closed at once');
      assert.equal(await hits(tlsProxy, 'max-connections-per-address'), 1);
      // From others, up to the total of 6; beyond it every socket is closed at once.
      flood.push(await openIdle(port, '127.0.0.3'), await openIdle(port, '127.0.0.4'));
      const extra = await Promise.all(Array.from({ length: 20 }, (_, i) => openIdle(port, `127.0.0.${10 + i}`)));
      const closedAfter = await Promise.all(extra.map((socket) => closedWithin(socket, 1000)));
      assert.ok(closedAfter.every((ms) => ms < 1000), `every extra socket closed at once: ${closedAfter.join(', ')} ms`);
      assert.equal(await hits(tlsProxy, 'max-connections'), 20);
      assert.ok(limitLogged(tlsProxy, 'max-connections') && limitLogged(tlsProxy, 'max-connections-per-address'));
      for (const socket of flood) assert.equal(socket.destroyed, false, 'the admitted sockets are still waiting in their handshake');
      assert.equal((await tlsClient('127.0.0.5')).connected, false, 'no room for a real client while the flood holds');

      for (const socket of flood.splice(0)) socket.destroy();
      let outcome: Awaited<ReturnType<typeof tlsClient>> | undefined;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        outcome = await tlsClient('127.0.0.5');
        if (outcome.connected) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(outcome?.connected, 'a place is free again');
      await outcome.client.publishAsync('limits/tls/after-flood', 'x', { qos: 1 });
      await outcome.client.endAsync();
    } finally {
      for (const socket of flood) socket.destroy();
      await tlsProxy.stop();
      certs.remove();
    }
  });
});

/** A TCP socket from `localAddress` that says nothing (no ClientHello, no CONNECT). */
async function openIdle(port: number, localAddress: string): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

/** Milliseconds until the proxy closes `socket`; `limitMs` when it is still open then (and it is destroyed). */
async function closedWithin(socket: net.Socket, limitMs: number): Promise<number> {
  const started = Date.now();
  if (socket.destroyed) return 0;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(limitMs);
    }, limitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

/** A real MQTT 5 client over TLS; reports whether it got CONNACK. */
function tryTlsConnect({ port, ca, localAddress }: { port: number; ca: Buffer; localAddress: string }): Promise<
  { connected: true; client: mqtt.MqttClient } | { connected: false }
> {
  return new Promise((resolve) => {
    const client = new mqtt.MqttClient(() => tls.connect({ socket: net.connect({ host: '127.0.0.1', port, localAddress }), servername: 'localhost', ca }), {
      protocolVersion: 5,
      clientId: `tls-${Math.random().toString(16).slice(2, 10)}`,
      reconnectPeriod: 0,
      connectTimeout: 3000,
    });
    const failed = (): void => {
      client.end(true);
      resolve({ connected: false });
    };
    client.once('connect', () => resolve({ connected: true, client }));
    client.once('error', failed);
    client.once('close', failed);
  });
}

describe('per-connection limits', () => {
  test('max packet size is advertised in the MQTT 5 CONNACK; a larger packet gets DISCONNECT 0x95 (MQTT 5) or a close (3.1.1)', async () => {
    const before = await hits(proxy, 'packet-size');
    const v5 = await tryConnect({ port: proxy.port, version: 5 });
    assert.ok(v5.connected);
    assert.equal(v5.connack.properties?.maximumPacketSize, 1024);
    await v5.client.publishAsync('limits/small', Buffer.alloc(900), { qos: 1 });
    const gone5 = closed(v5.client);
    v5.client.publish('limits/large', Buffer.alloc(2000), { qos: 1 });
    assert.equal((await gone5).reasonCode, 0x95);
    v5.client.end(true);

    const v4 = await connectOrThrow({ port: proxy.port, version: 4 });
    const gone4 = closed(v4);
    v4.publish('limits/large4', Buffer.alloc(2000), { qos: 1 });
    assert.equal((await gone4).reasonCode, undefined);
    v4.end(true);
    assert.equal(await hits(proxy, 'packet-size'), before + 2);
    assert.ok(limitLogged(proxy, 'packet-size'));
    const records = await readRecords(topic, 1000, { timeoutMs: 3000, settleMs: 0 });
    const topics = records.map((r) => headerText(r.headers, 'mqtt.topic'));
    assert.ok(topics.includes('limits/small'));
    assert.ok(!topics.includes('limits/large') && !topics.includes('limits/large4'));
  });

  test('connect timeout: a socket that never sends CONNECT is closed', async () => {
    const before = await hits(proxy, 'connect-timeout');
    const socket = net.createConnection({ port: proxy.port, host: '127.0.0.1' });
    const start = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const afterMs = Date.now() - start;
    assert.ok(afterMs >= 900 && afterMs < 3000, `closed after ${afterMs} ms`);
    assert.equal(await hits(proxy, 'connect-timeout'), before + 1);
    assert.ok(limitLogged(proxy, 'connect-timeout'));
  });

  test('keep alive bounds: MQTT 5 gets Server Keep Alive, 3.1.1 out of bounds is refused (return code 2)', async () => {
    const expectations: Array<[number, number | undefined]> = [
      [60, undefined],
      [300, 120],
      [0, 120],
      [2, 5],
    ];
    for (const [requested, serverKeepAlive] of expectations) {
      const outcome = await tryConnect({ port: proxy.port, version: 5, keepalive: requested });
      assert.ok(outcome.connected);
      assert.equal(outcome.connack.properties?.serverKeepAlive, serverKeepAlive, `keepalive ${requested}`);
      await outcome.client.endAsync();
    }
    for (const [requested, accepted] of [
      [60, true],
      [300, false],
      [0, false],
      [2, false],
    ] as const) {
      const outcome = await tryConnect({ port: proxy.port, version: 4, keepalive: requested });
      assert.equal(outcome.connected, accepted, `3.1.1 keepalive ${requested}`);
      if (outcome.connected) await outcome.client.endAsync();
      else assert.equal(outcome.code, 2);
    }
    assert.ok((await hits(proxy, 'keep-alive')) >= 6);
    assert.ok(limitLogged(proxy, 'keep-alive'));
  });

  test('client id length: longer than maxClientIdLength is refused, 0x85 (MQTT 5) / 2 (3.1.1)', async () => {
    const before = await hits(proxy, 'client-id-length');
    const ok = await tryConnect({ port: proxy.port, version: 5, clientId: 'c'.repeat(30) });
    assert.ok(ok.connected);
    await ok.client.endAsync();
    for (const version of [4, 5] as const) {
      const outcome = await tryConnect({ port: proxy.port, version, clientId: 'c'.repeat(31) });
      assert.deepEqual([outcome.connected, !outcome.connected && outcome.code], [false, version === 5 ? 0x85 : 2]);
    }
    assert.equal(await hits(proxy, 'client-id-length'), before + 2);
    assert.ok(limitLogged(proxy, 'client-id-length'));
  });

  test('publish rate: within the rate publishes land; a burst above it gets DISCONNECT 0x96 (MQTT 5) or a close (3.1.1)', async () => {
    const before = await hits(proxy, 'publish-rate');
    const steady = await connectOrThrow({ port: proxy.port, version: 5, clientId: 'steady' });
    // 12 publishes at 4/s: under 5/s.
    for (let i = 0; i < 12; i++) {
      await steady.publishAsync('limits/rate/steady', String(i), { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(steady.connected);
    await steady.endAsync();

    for (const version of [4, 5] as const) {
      const client = await connectOrThrow({ port: proxy.port, version });
      const gone = closed(client);
      for (let i = 0; i < 30; i++) client.publish(`limits/rate/burst${version}`, String(i), { qos: 0 });
      const { reasonCode } = await gone;
      assert.equal(reasonCode, version === 5 ? 0x96 : undefined);
      client.end(true);
    }
    assert.equal(await hits(proxy, 'publish-rate'), before + 2);
    assert.ok(limitLogged(proxy, 'publish-rate'));
    const records = await readRecords(topic, 1000, { timeoutMs: 4000, settleMs: 0 });
    assert.equal(records.filter((r) => headerText(r.headers, 'mqtt.topic') === 'limits/rate/steady').length, 12);
    // The burst allowance (10) got through before the 11th publish closed the connection.
    assert.ok(records.filter((r) => headerText(r.headers, 'mqtt.topic') === 'limits/rate/burst5').length <= 10);
  });
});
