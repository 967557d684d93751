/**
 * Secure defaults of an exposed proxy, end to end: the TLS 1.2 suites a tls / wss listener accepts
 * (checked with `openssl s_client`, the certificates made here), the default cap on connections
 * from one public client address (addresses named by PROXY headers), and the warning at start for
 * anonymous access on a listener not on loopback.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { TestCertificates, type CertificateAuthority, type CertificateFiles } from '../helpers/certs.js';
import { uniqueName } from '../helpers/kafka.js';
import { counterValue } from '../helpers/mqtt-connect.js';
import { catchAllConfig, startProxy, type RunningProxy } from '../helpers/proxy.js';
import { connectPacket } from '../helpers/raw-mqtt.js';

const execFileAsync = promisify(execFile);
const topic = uniqueName('secure.defaults');
const certs = new TestCertificates();
let ca: CertificateAuthority;
let server: CertificateFiles;
let proxy: RunningProxy;

/** Listener indexes in the config below. */
const L = { tlsDefault: 0, wssDefault: 1, tlsCustom: 2, proxied: 3 } as const;
const CUSTOM = 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256';

before(async () => {
  ca = certs.createCa('secure-ca');
  server = certs.issueServer(ca, 'secure-server');
  const files = `cert: ${server.certFile}, key: ${server.keyFile}`;
  proxy = await startProxy(
    `listeners:
  - { protocol: tls, host: 127.0.0.1, port: 0, tls: { ${files} } }
  - { protocol: wss, host: 127.0.0.1, port: 0, tls: { ${files} } }
  - { protocol: tls, host: 127.0.0.1, port: 0, tls: { ${files}, ciphers: '${CUSTOM}' } }
  - { protocol: tcp, host: 127.0.0.1, port: 0, proxyProtocol: { trustedCidrs: [127.0.0.1/32] } }
${catchAllConfig(topic, 'limits: { maxConnectionsPerPublicAddress: 3 }')}`,
  );
});

after(async () => {
  await proxy.stop();
  certs.remove();
});

const portOf = (index: number): number => proxy.listeners[index]!.port;

/** `openssl s_client` against a listener: whether the handshake completed, and the suite chosen. */
async function sClient(port: number, args: readonly string[]): Promise<{ ok: boolean; cipher: string | undefined; output: string }> {
  const run = execFileAsync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', ca.certFile, ...args], { timeout: 10_000 });
  // s_client waits for stdin; closing it ends the session right after the handshake.
  run.child.stdin?.end();
  try {
    const { stdout, stderr } = await run;
    return { ok: true, cipher: /Cipher is (\S+)/.exec(stdout)?.[1], output: `${stdout}\n${stderr}` };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    const output = `${failed.stdout ?? ''}\n${failed.stderr ?? ''}`;
    return { ok: false, cipher: /Cipher is (\S+)/.exec(output)?.[1], output };
  }
}

describe('TLS 1.2: ECDHE with AEAD only (Mozilla intermediate), configurable per listener', () => {
  test('openssl s_client -cipher ECDHE-ECDSA-AES128-SHA -tls1_2 fails on the default tls and wss listeners', async () => {
    for (const index of [L.tlsDefault, L.wssDefault]) {
      const result = await sClient(portOf(index), ['-cipher', 'ECDHE-ECDSA-AES128-SHA', '-tls1_2']);
      assert.equal(result.ok, false, `listener ${index} accepted a CBC / SHA-1 suite: ${result.output}`);
      assert.match(result.output, /handshake failure|no shared cipher|alert/i);
    }
  });

  test('an ECDHE AEAD suite over TLS 1.2 and TLS 1.3 succeed on the default listener', async () => {
    for (const suite of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-ECDSA-AES256-GCM-SHA384']) {
      const result = await sClient(portOf(L.tlsDefault), ['-cipher', suite, '-tls1_2']);
      assert.equal(result.ok, true, result.output);
      assert.equal(result.cipher, suite);
    }
    const tls13 = await sClient(portOf(L.tlsDefault), ['-tls1_3']);
    assert.equal(tls13.ok, true, tls13.output);
    assert.match(tls13.cipher ?? '', /^TLS_/);
  });

  test('a listener given its own tls.ciphers accepts what it lists (here the CBC suite the default refuses)', async () => {
    const result = await sClient(portOf(L.tlsCustom), ['-cipher', 'ECDHE-ECDSA-AES128-SHA', '-tls1_2']);
    assert.equal(result.ok, true, result.output);
    assert.equal(result.cipher, 'ECDHE-ECDSA-AES128-SHA');
  });
});

/** A socket that sends a PROXY v1 header naming `client`, then CONNECT; resolves whether CONNACK came. */
function proxiedConnect(client: string, clientId: string, sockets: net.Socket[]): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: portOf(L.proxied) });
    sockets.push(socket);
    socket.once('connect', () => socket.write(Buffer.concat([Buffer.from(`PROXY TCP4 ${client} 127.0.0.1 40000 1883\r\n`), connectPacket(clientId)])));
    socket.once('data', (data) => resolve(data[0] === 0x20));
    socket.once('close', () => resolve(false));
    socket.on('error', () => undefined);
  });
}

describe('limits.maxConnectionsPerPublicAddress', () => {
  test('caps connections from one public client address named by a load balancer; private addresses are not capped', async () => {
    const sockets: net.Socket[] = [];
    try {
      const before = await counterValue(proxy.proxy.metrics.limitsHit, { limit: 'max-connections-per-address' });
      const publicOnes = [];
      for (let i = 0; i < 4; i++) publicOnes.push(await proxiedConnect('203.0.113.50', `public-${i}`, sockets));
      assert.deepEqual(publicOnes, [true, true, true, false]);
      const privateOnes = [];
      for (let i = 0; i < 5; i++) privateOnes.push(await proxiedConnect('10.20.30.40', `private-${i}`, sockets));
      assert.deepEqual(privateOnes, [true, true, true, true, true]);
      assert.equal(await counterValue(proxy.proxy.metrics.limitsHit, { limit: 'max-connections-per-address' }), before + 1);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
});

describe('auth.anonymous: true', () => {
  test('warns once at start when a listener is not on loopback, naming it; not when every listener is on loopback', async () => {
    const exposed = await startProxy(catchAllConfig(topic));
    const loopback = await startProxy(`listeners: [{ protocol: tcp, host: 127.0.0.1, port: 0 }]\n${catchAllConfig(topic)}`);
    try {
      const warnings = (p: RunningProxy) => p.logs.filter((l) => l.level === 40 && l.setting === 'auth.anonymous');
      assert.equal(warnings(exposed).length, 1);
      assert.deepEqual(warnings(exposed)[0]!.listeners, [`tcp://0.0.0.0:0`]);
      assert.match(String(warnings(exposed)[0]!.msg), /not on loopback: clients presenting no credentials are accepted/);
      assert.equal(warnings(loopback).length, 0);
      // This proxy itself has every listener on 127.0.0.1.
      assert.equal(warnings(proxy).length, 0);
    } finally {
      await Promise.all([exposed.stop(), loopback.stop()]);
    }
  });
});
