// Slow and abusive peers: each is bounded, and a well-behaved client next to them is unaffected.
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { captureClientHello, TestCertificates } from '../helpers/certs.js';
import { counterValue } from '../helpers/mqtt-connect.js';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { createTopics, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';
import { connectPacket, publishPacket } from '../helpers/raw-mqtt.js';

const topic = uniqueName('slow-peers');
let proxy: RunningProxy;
const certs = new TestCertificates();

before(async () => {
  await createTopics([topic]);
  const ca = certs.createCa('slow-ca');
  const server = certs.issueServer(ca, 'slow-server');
  proxy = await startProxy(
    `
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: 0 }
  - { protocol: tls, host: 127.0.0.1, port: 0, tls: { cert: ${server.certFile}, key: ${server.keyFile} } }
  - { protocol: ws, host: 127.0.0.1, port: 0 }
mappings: [{ name: good, match: '^good/', topic: ${topic} }]
unmapped: reject
auth: { anonymous: true }
http: { port: 0 }
limits: { connectTimeoutSeconds: 1 }
`,
    { logLevel: 'info', maxLogs: 200 },
  );
  await waitFor(() => proxy.proxy.kafka.connected, 20000, 'Kafka connection');
});

after(async () => {
  await proxy?.stop();
  certs.remove();
});

/** Listener indexes in the config above. */
const L = { tcp: 0, tls: 1, ws: 2 } as const;

async function openSocket(listener: number = L.tcp): Promise<net.Socket> {
  const socket = net.connect({ port: proxy.listeners[listener]!.port, host: '127.0.0.1', noDelay: true });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

/**
 * Milliseconds until the proxy closes `socket` (fails after `limitMs`). A reset counts as closed: the
 * proxy destroys a socket that is still sending, and the kernel answers the unread bytes with a RST.
 * (Not events.once: it rejects on the 'error' event that comes before such a 'close'.)
 */
async function closedAfter(socket: net.Socket, started: number, limitMs: number): Promise<number> {
  const timer = setTimeout(() => socket.destroy(new Error('still open')), limitMs);
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  clearTimeout(timer);
  assert.ok(socket.errored?.message !== 'still open', `the proxy did not close the connection within ${limitMs} ms`);
  return Date.now() - started;
}

/** A device that behaves: QoS 1 publishes, each must be acknowledged within `maxMs`. */
async function goodPublishes(count: number, maxMs: number): Promise<number> {
  const client = await mqtt.connectAsync(proxy.url, { protocolVersion: 5, clientId: uniqueName('good'), reconnectPeriod: 0 });
  let slowest = 0;
  try {
    for (let i = 0; i < count; i++) {
      const started = Date.now();
      await client.publishAsync('good/x', String(i), { qos: 1 });
      slowest = Math.max(slowest, Date.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await client.endAsync();
  }
  assert.ok(slowest < maxMs, `slowest PUBACK took ${slowest} ms`);
  return slowest;
}

test('slowloris: silent, half-CONNECT and drip-fed connections are closed after limits.connectTimeoutSeconds', async () => {
  const started = Date.now();
  const silent = await openSocket();
  const half = await openSocket();
  half.write(connectPacket('half', 4).subarray(0, 7));
  const drip = await openSocket();
  const hello = connectPacket('drip', 5);
  let sent = 0;
  const dripper = setInterval(() => {
    if (sent < hello.length - 1 && !drip.destroyed) drip.write(hello.subarray(sent, ++sent));
  }, 100);
  // Cleared whatever happens: a timer left running would keep this file's process alive.
  const [silentMs, halfMs, dripMs] = await Promise.all([
    closedAfter(silent, started, 4000),
    closedAfter(half, started, 4000),
    closedAfter(drip, started, 4000),
    goodPublishes(20, 1000),
  ]).finally(() => clearInterval(dripper));
  console.log(`slowloris: closed after ${silentMs} ms (silent), ${halfMs} ms (half CONNECT), ${dripMs} ms (drip-fed, ${sent} bytes sent)`);
  for (const ms of [silentMs, halfMs, dripMs]) assert.ok(ms >= 900 && ms < 3500, `closed after ${ms} ms, expected about 1 s`);
});

test('slowloris on tls and ws: a handshake or upgrade that never completes is closed after limits.connectTimeoutSeconds', async () => {
  const clientHello = await captureClientHello();
  const timeoutsBefore = await counterValue(proxy.proxy.metrics.limitsHit, { limit: 'connect-timeout' });
  const upgrade = Buffer.from('GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n');
  const started = Date.now();
  const tlsSilent = await openSocket(L.tls);
  const tlsHalf = await openSocket(L.tls);
  tlsHalf.write(clientHello.subarray(0, 20));
  const tlsDrip = await openSocket(L.tls);
  const wsSilent = await openSocket(L.ws);
  const wsDrip = await openSocket(L.ws);
  // Drip-fed: a byte every 100 ms, never the last one (the TLS and HTTP idle timers never fire).
  let sent = 0;
  const dripper = setInterval(() => {
    sent++;
    if (sent < clientHello.length && !tlsDrip.destroyed) tlsDrip.write(clientHello.subarray(sent - 1, sent));
    if (sent < upgrade.length && !wsDrip.destroyed) wsDrip.write(upgrade.subarray(sent - 1, sent));
  }, 100);
  const sockets = [tlsSilent, tlsHalf, tlsDrip, wsSilent, wsDrip];
  const closedMs = await Promise.all(sockets.map((socket) => closedAfter(socket, started, 4000))).finally(() => {
    clearInterval(dripper);
    for (const socket of sockets) socket.destroy();
  });
  console.log(`slowloris on tls / ws: closed after ${closedMs.join(', ')} ms (tls silent, half ClientHello, drip-fed; ws silent, drip-fed)`);
  for (const ms of closedMs) assert.ok(ms >= 900 && ms < 2500, `closed after ${ms} ms, expected about 1 s`);
  assert.ok((await counterValue(proxy.proxy.metrics.limitsHit, { limit: 'connect-timeout' })) >= timeoutsBefore + 5, 'each counted as connect-timeout');
  await waitFor(() => proxy.logs.some((l) => l.limit === 'connect-timeout' && String(l.msg).startsWith('handshake not completed')), 2000, 'limit log');
});

/** PUBLISHes the proxy has answered with a rejection so far (each is logged once). */
function rejectedSoFar(): number {
  let total = 0;
  for (const [msg, count] of proxy.logCounts) if (msg.startsWith('publish rejected: no mapping rule')) total += count;
  return total;
}

test('a client that never reads its PUBACKs stops being read; others keep getting theirs', { timeout: 120000 }, async () => {
  const abuser = await openSocket();
  abuser.pause(); // never read: acknowledgements pile up in the kernel buffers, then in the proxy's socket
  abuser.write(connectPacket('never-reads', 5));
  await new Promise((resolve) => setTimeout(resolve, 200));
  // QoS 1 publishes no rule maps: each is answered at once (no Kafka round trip) with a negative
  // PUBACK carrying a reason string, so the answers fill the buffers quickly.
  const longTopic = `abuse/${'x'.repeat(190)}`;
  const batch = Buffer.concat(Array.from({ length: 500 }, (_, i) => publishPacket(longTopic, 1, i + 1, 5, 'p')));
  const heapBefore = process.memoryUsage().heapUsed;

  // Write until the proxy stops reading: a write that does not drain within 3 s.
  let written = 0;
  let stalled = false;
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    const flushed = abuser.write(batch);
    written += 500;
    if (!flushed) {
      const drained = await Promise.race([once(abuser, 'drain').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
      if (!drained) {
        stalled = true;
        break;
      }
    }
  }
  assert.ok(stalled, `the proxy kept reading: ${written} publishes written, ${rejectedSoFar()} answered, whose answers were never read`);
  const takenAtStall = rejectedSoFar();

  // While stalled: the proxy takes nothing more from the abuser, and a well-behaved client is served.
  const slowest = await goodPublishes(40, 1000);
  const takenLater = rejectedSoFar();
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  console.log(
    `never-reading client: ${written} QoS 1 publishes written, ${takenAtStall} answered before the proxy stopped reading ` +
      `(${takenLater - takenAtStall} after), ${abuser.writableLength} bytes left queued on its side; ` +
      `heap +${(heapGrowth / 1048576).toFixed(1)} MiB; another client's slowest PUBACK ${slowest} ms`,
  );
  assert.ok(takenLater - takenAtStall <= 1000, `the proxy went on reading the abuser (${takenLater - takenAtStall} more publishes)`);
  assert.ok(takenAtStall < written, 'some of what the abuser wrote was never read');
  assert.ok(heapGrowth < 64 * 1048576, 'memory held for the abuser is bounded');
  abuser.destroy();
});
