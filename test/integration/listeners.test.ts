/**
 * Every way in, end to end: tcp, tls, ws and wss listeners reaching Kafka with real MQTT.js
 * clients; mTLS accepted and refused in the handshake; ${certCN} in a Kafka key; PROXY protocol v1 from a trusted
 * peer and refused from an untrusted one; X-Forwarded-For from a trusted proxy; certificates
 * rotated while a client stays connected.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { writeFileSync } from 'node:fs';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { encodeProxyV2 } from '../../src/listeners/proxy-protocol.js';
import { captureClientHello, handshakeAlertCode, TestCertificates, type CertificateAuthority, type CertificateFiles } from '../helpers/certs.js';
import { createTopics, readRecords, uniqueName } from '../helpers/kafka.js';
import { connectPacket } from '../helpers/raw-mqtt.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const kafkaTopic = uniqueName('listeners');
const certs = new TestCertificates();
let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let server: CertificateFiles;
let rotating: CertificateFiles;
let manual: CertificateFiles;
let deviceCert: CertificateFiles;
let sanOnlyCert: CertificateFiles;
let strangerCert: CertificateFiles;
let proxy: RunningProxy;

/** Listener indexes in the config below. */
const L = { tcp: 0, tls: 1, ws: 2, wss: 3, mtls: 4, proxied: 5, wsTrusted: 6, rotating: 7, manual: 8, wssMtls: 9, proxiedTls: 10 } as const;

function port(index: number): number {
  const listener = proxy.listeners[index];
  assert.ok(listener, `listener ${index}`);
  return listener.port;
}

before(async () => {
  ca = certs.createCa('test-ca');
  otherCa = certs.createCa('other-ca');
  server = certs.issueServer(ca, 'server');
  rotating = certs.issueServer(ca, 'rotating');
  manual = certs.issueServer(ca, 'manual');
  deviceCert = certs.issueClient(ca, 'device-42');
  sanOnlyCert = certs.issueClient(ca, 'san-only', { commonName: null, sans: ['DNS:gateway-7.example', 'IP:10.1.2.3'] });
  strangerCert = certs.issueClient(otherCa, 'stranger');
  await createTopics([kafkaTopic]);
  const tlsFiles = `{ cert: ${server.certFile}, key: ${server.keyFile} }`;
  const mtlsFiles = `{ cert: ${server.certFile}, key: ${server.keyFile}, ca: ${ca.certFile}, requestCert: true }`;
  proxy = await startProxy(`
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: 0 }
  - { protocol: tls, host: 127.0.0.1, port: 0, tls: ${tlsFiles} }
  - { protocol: ws, host: 127.0.0.1, port: 0 }
  - { protocol: wss, host: 127.0.0.1, port: 0, path: /custom/mqtt, tls: ${tlsFiles} }
  - { protocol: tls, host: 127.0.0.1, port: 0, tls: ${mtlsFiles} }
  - { protocol: tcp, host: 127.0.0.1, port: 0, proxyProtocol: { trustedCidrs: [127.0.0.1/32, '::1'], headerTimeoutMs: 1000 } }
  - { protocol: ws, host: 127.0.0.1, port: 0, trustedProxies: [127.0.0.1/32] }
  - { protocol: tls, host: 127.0.0.1, port: 0, tls: { cert: ${rotating.certFile}, key: ${rotating.keyFile}, watchIntervalMs: 100 } }
  - { protocol: tls, host: 127.0.0.1, port: 0, tls: { cert: ${manual.certFile}, key: ${manual.keyFile}, watchIntervalMs: 0 } }
  - { protocol: wss, host: 127.0.0.1, port: 0, tls: ${mtlsFiles} }
  - { protocol: tls, host: 127.0.0.1, port: 0, tls: ${mtlsFiles}, proxyProtocol: { trustedCidrs: [127.0.0.0/30] } }
mappings:
  - name: all
    match: '^t/(.+)$'
    topic: ${kafkaTopic}
    key: '\${certCN}|\${clientId}'
auth: { anonymous: true }
http: { port: 0 }
limits: { maxPacketSize: 2000 }
`);
  await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
});

after(async () => {
  await proxy.stop();
  certs.remove();
});

const base = { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5 } as const;

async function publishOnce(url: string, clientId: string, options: mqtt.IClientOptions = {}): Promise<void> {
  const client = await mqtt.connectAsync(url, { ...base, clientId, ...options }, false);
  try {
    await client.publishAsync(`t/${clientId}`, Buffer.from(`from ${clientId}`), { qos: 1 });
  } finally {
    await client.endAsync();
  }
}

/** Resolves with the error when the client cannot connect (and fails the test if it can). */
async function connectError(url: string, clientId: string, options: mqtt.IClientOptions): Promise<Error> {
  try {
    const client = await mqtt.connectAsync(url, { ...base, clientId, ...options }, false);
    await client.endAsync();
  } catch (error) {
    return error as Error;
  }
  assert.fail(`${clientId} connected, it should have been refused`);
}

function remoteAddressOf(clientId: string): unknown {
  return proxy.logs.find((l) => l.msg === 'client connected' && l.clientId === clientId)?.remoteAddress;
}

describe('each listener type reaches Kafka', () => {
  test('tcp, tls, ws and wss: one QoS 1 publish each, found in Kafka with its client id', async () => {
    await publishOnce(`mqtt://127.0.0.1:${port(L.tcp)}`, 'via-tcp');
    await publishOnce(`mqtts://127.0.0.1:${port(L.tls)}`, 'via-tls', { ca: ca.cert });
    await publishOnce(`ws://127.0.0.1:${port(L.ws)}/mqtt`, 'via-ws');
    await publishOnce(`wss://127.0.0.1:${port(L.wss)}/custom/mqtt`, 'via-wss', { ca: ca.cert });
    await publishOnce(`mqtts://localhost:${port(L.tls)}`, 'via-tls-v4', { ca: ca.cert, protocolVersion: 4 });

    const records = await readRecordsFor(['via-tcp', 'via-tls', 'via-ws', 'via-wss', 'via-tls-v4']);
    for (const [clientId, record] of records) {
      assert.equal(record.value?.toString(), `from ${clientId}`);
      // No client certificate: ${certCN} renders empty.
      assert.equal(record.key?.toString(), `|${clientId}`);
    }
    assert.equal(proxy.logs.find((l) => l.clientId === 'via-wss' && l.msg === 'client connected')?.listener, proxy.listeners[L.wss]?.name);
  });

  test("each connection's own log lines carry its client id, remote address and listener", async () => {
    for (const [index, url, clientId] of [
      [L.tcp, `mqtt://127.0.0.1:${port(L.tcp)}`, 'log-fields-tcp'],
      [L.ws, `ws://127.0.0.1:${port(L.ws)}/mqtt`, 'log-fields-ws'],
    ] as const) {
      const client = await mqtt.connectAsync(url, { ...base, clientId }, false);
      // A refused SUBSCRIBE is logged by the MQTT engine's per-connection logger, a produced
      // PUBLISH by the pipeline's: both are children made for this connection.
      await assert.rejects(client.subscribeAsync('anything/#'), /SUBACK|subscri/i, 'an ingest proxy refuses subscriptions');
      await client.publishAsync(`t/${clientId}`, 'x', { qos: 1 });
      await client.endAsync();
      for (const msg of ['subscribe refused', 'publish produced']) {
        const line = proxy.logs.find((l) => l.msg === msg && l.clientId === clientId);
        assert.ok(line, `${clientId}: a "${msg}" line`);
        assert.equal(line.listener, proxy.listeners[index]!.name, `${msg}: listener`);
        assert.equal(line.remoteAddress, '127.0.0.1', `${msg}: remote address`);
      }
    }
  });

  test('a TLS client that does not trust the CA, or asks for TLS 1.1, does not get in', async () => {
    const untrusted = await connectError(`mqtts://127.0.0.1:${port(L.tls)}`, 'no-ca', {});
    assert.match(untrusted.message, /self-signed|unable to (get|verify)/i);
    const before = await tlsHandshakeFailures();
    const old = await new Promise<Error>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: port(L.tls), ca: ca.cert, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
      socket.once('secureConnect', () => reject(new Error('TLS 1.1 was accepted')));
      socket.once('error', resolve);
    });
    assert.match(old.message, /version|protocol/i);
    await waitFor(() => proxy.logs.some((l) => l.msg === 'TLS handshake failed'), 5000, 'handshake failure log');
    assert.ok((await tlsHandshakeFailures()) > before, 'tls-handshake counted');
  });

  test('ws: a message larger than maxPacketSize plus 64 KiB closes the connection (1009)', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${port(L.ws)}/mqtt`, 'mqtt');
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    assert.equal(socket.protocol, 'mqtt');
    socket.send(Buffer.alloc(2000 + 64 * 1024 + 1));
    const code = await new Promise<number>((resolve) => socket.once('close', resolve));
    assert.equal(code, 1009);
  });

  test('ws: wrong path answered 404, plain HTTP answered 426, a foreign subprotocol 400', async () => {
    const wrongPath = await fetch(`http://127.0.0.1:${port(L.ws)}/other`);
    assert.equal(wrongPath.status, 404);
    const plain = await fetch(`http://127.0.0.1:${port(L.ws)}/mqtt`);
    assert.equal(plain.status, 426);
    await connectError(`ws://127.0.0.1:${port(L.ws)}/nope`, 'ws-wrong-path', {});
    const status = await rawUpgradeStatus(port(L.ws), '/mqtt', 'chat');
    assert.equal(status, 400);
    assert.equal(await rawUpgradeStatus(port(L.ws), '/mqtt', undefined), 101, 'no subprotocol offered: accepted');
  });
});

describe('mTLS', () => {
  test('a client certificate from the CA is accepted; its CN, else its first SAN, renders as ${certCN}', async () => {
    const url = `mqtts://127.0.0.1:${port(L.mtls)}`;
    await publishOnce(url, 'mtls-device', { ca: ca.cert, cert: deviceCert.cert, key: deviceCert.key });
    await publishOnce(url, 'mtls-san', { ca: ca.cert, cert: sanOnlyCert.cert, key: sanOnlyCert.key, protocolVersion: 4 });
    await publishOnce(`wss://127.0.0.1:${port(L.wssMtls)}/mqtt`, 'wss-mtls', { ca: ca.cert, cert: deviceCert.cert, key: deviceCert.key });
    const records = await readRecordsFor(['mtls-device', 'mtls-san', 'wss-mtls']);
    assert.equal(records.get('mtls-device')?.key?.toString(), 'device-42|mtls-device');
    assert.equal(records.get('mtls-san')?.key?.toString(), 'gateway-7.example|mtls-san');
    assert.equal(records.get('wss-mtls')?.key?.toString(), 'device-42|wss-mtls');
  });

  test('no certificate, or one from another CA, is refused in the TLS handshake; logged and counted', async () => {
    const before = { none: await authFailures('no-certificate'), bad: await authFailures('bad-certificate') };
    const logsBefore = proxy.logs.length;
    const mtls = port(L.mtls);
    // TLS 1.2: the server's Finished comes last, so a refusal in the handshake means the client
    // never completes it. No certificate: OpenSSL's alert; another CA: Node closes before Finished.
    const none12 = await handshake(mtls, { maxVersion: 'TLSv1.2' });
    assert.deepEqual([none12.secured, handshakeAlertCode(none12.error?.code)], [false, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE']);
    const stranger12 = await handshake(mtls, { maxVersion: 'TLSv1.2', cert: strangerCert.cert, key: strangerCert.key });
    assert.equal(stranger12.secured, false, 'no secureConnect for a certificate from another CA');
    assert.ok(stranger12.error !== undefined && stranger12.received === 0, JSON.stringify(stranger12));
    // TLS 1.3: the client's Finished comes last, so the refusal arrives as an alert after it.
    const none13 = await handshake(mtls, { minVersion: 'TLSv1.3' });
    assert.equal(none13.error?.code, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    assert.equal(none13.received, 0, 'not a byte of MQTT');
    // wss: the same in the handshake, before any HTTP byte.
    const wssNone = await handshake(port(L.wssMtls), { maxVersion: 'TLSv1.2' });
    assert.deepEqual([wssNone.secured, handshakeAlertCode(wssNone.error?.code)], [false, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE']);

    // MQTT clients get nowhere either.
    await connectError(`mqtts://127.0.0.1:${mtls}`, 'mtls-none', { ca: ca.cert });
    await connectError(`mqtts://127.0.0.1:${mtls}`, 'mtls-stranger', { ca: ca.cert, cert: strangerCert.cert, key: strangerCert.key });
    await connectError(`wss://127.0.0.1:${port(L.wssMtls)}/mqtt`, 'wss-mtls-none', { ca: ca.cert });
    const refusals = (): typeof proxy.logs => proxy.logs.slice(logsBefore).filter((l) => l.msg === 'client certificate refused');
    await waitFor(() => refusals().length >= 7, 5000, 'refusal logs');
    assert.deepEqual(
      refusals().map((l) => l.reason).sort(),
      ['bad-certificate', 'bad-certificate', 'no-certificate', 'no-certificate', 'no-certificate', 'no-certificate', 'no-certificate'],
      JSON.stringify(refusals()),
    );
    for (const refusal of refusals()) assert.equal(refusal.remoteAddress, '127.0.0.1', JSON.stringify(refusal));
    assert.match(String(refusals().find((l) => l.reason === 'bad-certificate')?.verifyError), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    const failures = proxy.logs.slice(logsBefore).filter((l) => l.msg === 'TLS handshake failed');
    assert.deepEqual(failures, [], 'a refusal is not also a handshake failure');
    for (const id of ['mtls-none', 'mtls-stranger', 'wss-mtls-none']) assert.equal(remoteAddressOf(id), undefined, `${id} never reached MQTT`);
    assert.equal(await authFailures('no-certificate'), before.none + 5);
    assert.equal(await authFailures('bad-certificate'), before.bad + 2);
  });
});

interface HandshakeOutcome {
  /** Whether the client saw its handshake complete ('secureConnect'). */
  readonly secured: boolean;
  readonly error: (Error & { code?: string }) | undefined;
  /** Application bytes read before the connection ended. */
  readonly received: number;
}

/** A raw TLS client (trusting the test CA) run until the server closes the connection. */
async function handshake(tlsPort: number, options: tls.ConnectionOptions): Promise<HandshakeOutcome> {
  return new Promise((resolve) => {
    let secured = false;
    let error: (Error & { code?: string }) | undefined;
    let received = 0;
    const socket = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: ca.cert, ...options });
    socket.once('secureConnect', () => (secured = true));
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.on('error', (e) => (error ??= e));
    const timer = setTimeout(() => socket.destroy(new Error('the server did not close the connection')), 5000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ secured, error, received });
    });
  });
}

describe('PROXY protocol and X-Forwarded-For', () => {
  test('PROXY v1 from a trusted peer: the client address in the header is the connection address', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: port(L.proxied) });
    await new Promise((resolve) => socket.once('connect', resolve));
    // Header and CONNECT in one write: the bytes after the header must reach MQTT intact.
    socket.write(Buffer.concat([Buffer.from('PROXY TCP4 198.51.100.23 127.0.0.1 40000 1883\r\n'), connectPacket('proxied-v1')]));
    const connack = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
    assert.equal(connack[0], 0x20, 'CONNACK');
    socket.destroy();
    await waitFor(() => remoteAddressOf('proxied-v1') !== undefined, 5000, 'connect log');
    assert.equal(remoteAddressOf('proxied-v1'), '198.51.100.23');
  });

  test('a PROXY header from an untrusted address closes the connection; without one it is a direct client', async () => {
    const before = await proxyProtocolErrors();
    const socket = net.connect({ host: '127.0.0.1', port: port(L.proxied), localAddress: '127.0.0.2' });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.9 127.0.0.1 40000 1883\r\n'), connectPacket('spoofer')]));
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    await new Promise((resolve) => socket.once('close', resolve));
    assert.equal(Buffer.concat(received).length, 0, 'no CONNACK');
    assert.equal(remoteAddressOf('spoofer'), undefined);
    const refusal = proxy.logs.find((l) => l.msg === 'PROXY protocol: connection refused' && l.reason === 'untrusted-header');
    assert.equal(refusal?.remoteAddress, '127.0.0.2');
    assert.equal(await proxyProtocolErrors(), before + 1);

    // MQTT.js cannot choose its source address itself: give it the socket.
    const direct = new mqtt.MqttClient(() => net.connect({ host: '127.0.0.1', port: port(L.proxied), localAddress: '127.0.0.2' }), {
      ...base,
      clientId: 'direct-untrusted',
    });
    await new Promise((resolve, reject) => {
      direct.once('connect', resolve);
      direct.once('error', reject);
    });
    await direct.publishAsync('t/direct-untrusted', 'direct', { qos: 1 });
    await direct.endAsync();
    assert.equal(remoteAddressOf('direct-untrusted'), '127.0.0.2');
  });

  test('tls + mTLS behind PROXY v1, the ClientHello in the same segment as the header', async () => {
    const client = new mqtt.MqttClient(
      () => {
        const raw = net.connect({ host: '127.0.0.1', port: port(L.proxiedTls) });
        // Corked: the header and the TLS ClientHello leave in one write.
        raw.cork();
        raw.write('PROXY TCP6 2001:db8::77 ::1 50000 8883\r\n');
        const secure = tls.connect({ socket: raw, host: '127.0.0.1', ca: ca.cert, cert: deviceCert.cert, key: deviceCert.key });
        process.nextTick(() => raw.uncork());
        return secure;
      },
      { ...base, clientId: 'proxied-tls' },
    );
    await new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
      client.once('close', () => reject(new Error('closed before CONNACK')));
    });
    await client.publishAsync('t/proxied-tls', 'through', { qos: 1 });
    await client.endAsync();
    assert.equal(remoteAddressOf('proxied-tls'), '2001:db8::77');
    const records = await readRecordsFor(['proxied-tls']);
    assert.equal(records.get('proxied-tls')?.key?.toString(), 'device-42|proxied-tls');
  });

  test('tls behind PROXY v2: a ClientHello in the same write as the header is answered', async () => {
    const clientHello = await captureClientHello(ca.cert);
    const header = encodeProxyV2('proxy', { source: { address: '192.0.2.10', port: 1234 }, destination: { address: '127.0.0.1', port: 8883 } });
    const socket = net.connect({ host: '127.0.0.1', port: port(L.proxiedTls) });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.concat([header, clientHello]));
    const answer = await new Promise<Buffer>((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('close', () => reject(new Error('closed without a ServerHello')));
    });
    socket.destroy();
    assert.equal(answer[0], 0x16, 'a TLS handshake record (ServerHello)');
  });

  test('PROXY v2 LOCAL (a health check) keeps the peer address', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: port(L.proxied) });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.concat([encodeProxyV2('local'), connectPacket('proxied-local')]));
    const connack = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
    assert.equal(connack[0], 0x20, 'CONNACK');
    socket.destroy();
    await waitFor(() => remoteAddressOf('proxied-local') !== undefined, 5000, 'connect log');
    assert.equal(remoteAddressOf('proxied-local'), '127.0.0.1');
  });

  test('a trusted peer that stalls inside the header, or sends a broken one, is closed', async () => {
    const closedAfter = async (bytes: Buffer): Promise<number> => {
      const started = Date.now();
      const socket = net.connect({ host: '127.0.0.1', port: port(L.proxied) });
      socket.on('data', () => assert.fail('nothing is written back'));
      socket.write(bytes);
      await new Promise((resolve) => socket.once('close', resolve));
      return Date.now() - started;
    };
    const stalled = await closedAfter(Buffer.from('PROXY TCP4 198.51.100.1 '));
    assert.ok(stalled >= 900 && stalled < 4000, `closed after headerTimeoutMs (1000), took ${stalled} ms`);
    await closedAfter(Buffer.from('PROXY TCP4 1.2.3.999 127.0.0.1 1 2\r\n'));
    const reasons = proxy.logs.filter((l) => l.msg === 'PROXY protocol: connection refused').map((l) => l.reason);
    assert.ok(reasons.includes('timeout') && reasons.includes('invalid-header'), JSON.stringify(reasons));
  });

  test('a trusted peer without a PROXY header is refused', async () => {
    const error = await connectError(`mqtt://127.0.0.1:${port(L.proxied)}`, 'trusted-no-header', {});
    assert.ok(error);
    await waitFor(() => proxy.logs.some((l) => l.msg === 'PROXY protocol: connection refused' && l.reason === 'missing-header'), 5000, 'log');
  });

  test('X-Forwarded-For is believed from a trusted proxy only', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.50, 127.0.0.1' };
    await publishOnce(`ws://127.0.0.1:${port(L.wsTrusted)}/mqtt`, 'xff-trusted', { wsOptions: { headers } });
    await publishOnce(`ws://127.0.0.1:${port(L.ws)}/mqtt`, 'xff-ignored', { wsOptions: { headers } });
    assert.equal(remoteAddressOf('xff-trusted'), '203.0.113.50');
    assert.equal(remoteAddressOf('xff-ignored'), '127.0.0.1');
  });
});

describe('certificate rotation', () => {
  test('new files are picked up while a connected client keeps publishing; new clients see the new serial', async () => {
    const url = `mqtts://127.0.0.1:${port(L.rotating)}`;
    assert.equal(await servedSerial(port(L.rotating)), rotating.serialNumber);
    const client = await mqtt.connectAsync(url, { ...base, clientId: 'rotation-keeper', ca: ca.cert });
    let closed = false;
    client.on('close', () => (closed = true));
    await client.publishAsync('t/rotation-keeper', 'before', { qos: 1 });

    const next = certs.issueServer(ca, 'rotating-next');
    certs.replace(rotating, next);
    await waitFor(() => proxy.logs.some((l) => l.msg === 'certificates reloaded' && l.serialNumber === next.serialNumber), 10000, 'reload');
    assert.equal(await servedSerial(port(L.rotating)), next.serialNumber);

    // A broken rotation keeps the certificate in use.
    writeFileSync(rotating.keyFile, 'not a key');
    await waitFor(() => proxy.logs.some((l) => l.msg === 'new certificate files are unusable; the current certificate stays in use'), 10000, 'failure log');
    assert.equal(await servedSerial(port(L.rotating)), next.serialNumber);

    await client.publishAsync('t/rotation-keeper', 'after', { qos: 1 });
    assert.equal(closed, false, 'the connected client was never disconnected');
    await client.endAsync();
    const records = (await readRecords(kafkaTopic, 1000, { timeoutMs: 3000 })).filter((r) => r.key?.toString() === '|rotation-keeper');
    assert.deepEqual(records.map((r) => r.value?.toString()), ['before', 'after']);
  });

  test('reloadCertificates() (SIGHUP) reloads a listener that does not watch its files', async () => {
    const next = certs.issueServer(ca, 'manual-next');
    certs.replace(manual, next);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await servedSerial(port(L.manual)), manual.serialNumber, 'not watched: still the old one');
    const results = proxy.proxy.reloadCertificates();
    assert.deepEqual(results[L.manual], { listener: proxy.listeners[L.manual]?.name, outcome: 'reloaded', serialNumber: next.serialNumber });
    assert.equal(results[L.tcp]?.outcome, 'none');
    assert.equal(results[L.tls]?.outcome, 'unchanged');
    assert.equal(await servedSerial(port(L.manual)), next.serialNumber);
  });
});

async function readRecordsFor(clientIds: readonly string[]): Promise<Map<string, Awaited<ReturnType<typeof readRecords>>[number]>> {
  const deadline = Date.now() + 20000;
  for (;;) {
    const records = await readRecords(kafkaTopic, 1000, { timeoutMs: 1500, settleMs: 0 });
    const found = new Map<string, (typeof records)[number]>();
    for (const record of records) {
      const clientId = record.key?.toString().split('|')[1];
      if (clientId !== undefined && clientIds.includes(clientId)) found.set(clientId, record);
    }
    if (found.size === clientIds.length || Date.now() > deadline) {
      assert.deepEqual([...found.keys()].sort(), [...clientIds].sort(), 'one record per client');
      return found;
    }
  }
}

async function servedSerial(tlsPort: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: ca.cert }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

async function rawUpgradeStatus(httpPort: number, path: string, subprotocol: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: httpPort }, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
          (subprotocol === undefined ? '' : `Sec-WebSocket-Protocol: ${subprotocol}\r\n`) +
          '\r\n',
      );
    });
    socket.once('data', (chunk: Buffer) => {
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString())?.[1]));
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

async function counterValue(name: string, label: string): Promise<number> {
  const text = await proxy.proxy.metrics.registry.getSingleMetricAsString(name);
  let total = 0;
  for (const line of text.split('\n')) if (line.includes(label)) total += Number(line.split(' ').pop());
  return total;
}

const proxyProtocolErrors = (): Promise<number> => counterValue('mqtt_kafka_proxy_protocol_errors_total', 'kind="proxy-protocol-');
const authFailures = (reason: string): Promise<number> => counterValue('mqtt_kafka_proxy_auth_failures_total', `reason="${reason}"`);
const tlsHandshakeFailures = (): Promise<number> => counterValue('mqtt_kafka_proxy_protocol_errors_total', 'kind="tls-handshake"');
