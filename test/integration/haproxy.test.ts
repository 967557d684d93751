/**
 * PROXY protocol v2 through a real HAProxy in TCP mode (`send-proxy-v2`), in front of a tcp and a
 * tls listener: the proxy sees the client's own address, not HAProxy's.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import mqtt from 'mqtt';
import { TestCertificates, type CertificateAuthority } from '../helpers/certs.js';
import { createTopics, headerText, readRecords, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((path) => existsSync(path));
const skip = HAPROXY === undefined && !process.env.CI ? 'haproxy is not installed (apt-get install haproxy); CI installs it' : false;

const kafkaTopic = uniqueName('haproxy');
const certs = new TestCertificates();
let ca: CertificateAuthority;
let proxy: RunningProxy;
let haproxy: ChildProcess | undefined;
let haproxyOutput = '';
const frontends = { tcp: 0, tls: 0 };

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`HAProxy did not listen on ${port}: ${haproxyOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('PROXY v2 through HAProxy', { skip }, () => {
  before(async () => {
    if (HAPROXY === undefined) throw new Error('haproxy is required in CI: .ci/run installs it');
    ca = certs.createCa('haproxy-ca');
    const server = certs.issueServer(ca, 'haproxy-server');
    await createTopics([kafkaTopic]);
    proxy = await startProxy(`
listeners:
  - { protocol: tcp, host: 127.0.0.1, port: 0, proxyProtocol: { trustedCidrs: [127.0.0.1/32] } }
  - { protocol: tls, host: 127.0.0.1, port: 0, proxyProtocol: { trustedCidrs: [127.0.0.1/32] }, tls: { cert: ${server.certFile}, key: ${server.keyFile} } }
mappings:
  - { name: all, match: '^t/(.+)$', topic: ${kafkaTopic}, key: '\${clientId}' }
auth: { anonymous: true }
http: { port: 0 }
`);
    frontends.tcp = await freePort();
    frontends.tls = await freePort();
    const configFile = join(certs.dir, 'haproxy.cfg');
    // HAProxy connects to the backends from 127.0.0.1 (trusted) and prepends a PROXY v2 header.
    writeFileSync(
      configFile,
      `global
  maxconn 100
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend mqtt
  bind 127.0.0.1:${frontends.tcp}
  default_backend mqtt_proxy
frontend mqtts
  bind 127.0.0.1:${frontends.tls}
  default_backend mqtts_proxy
backend mqtt_proxy
  server mkp 127.0.0.1:${proxy.listeners[0]?.port} send-proxy-v2
backend mqtts_proxy
  server mkp 127.0.0.1:${proxy.listeners[1]?.port} send-proxy-v2
`,
    );
    haproxy = spawn(HAPROXY, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout?.on('data', (chunk: Buffer) => (haproxyOutput += chunk.toString()));
    haproxy.stderr?.on('data', (chunk: Buffer) => (haproxyOutput += chunk.toString()));
    await waitForPort(frontends.tcp);
    await waitForPort(frontends.tls);
    await waitFor(() => proxy.logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
  });

  after(async () => {
    haproxy?.kill('SIGTERM');
    await proxy?.stop();
    certs.remove();
  });

  /** MQTT.js over a socket from `localAddress`, so the client has an address of its own. */
  async function publishFrom(localAddress: string, clientId: string, secure: boolean): Promise<void> {
    const port = secure ? frontends.tls : frontends.tcp;
    const client = new mqtt.MqttClient(
      () => {
        const socket = net.connect({ host: '127.0.0.1', port, localAddress });
        return secure ? tls.connect({ socket, host: '127.0.0.1', ca: ca.cert }) : socket;
      },
      { clientId, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5 },
    );
    await new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
      client.once('close', () => reject(new Error(`${clientId}: connection closed before CONNACK`)));
    });
    await client.publishAsync(`t/${clientId}`, `from ${localAddress}`, { qos: 1 });
    await client.endAsync();
  }

  function remoteAddressOf(clientId: string): unknown {
    return proxy.logs.find((l) => l.msg === 'client connected' && l.clientId === clientId)?.remoteAddress;
  }

  test('tcp: the proxy sees 127.0.0.5 (the client), not 127.0.0.1 (HAProxy)', async () => {
    await publishFrom('127.0.0.5', 'behind-haproxy', false);
    assert.equal(remoteAddressOf('behind-haproxy'), '127.0.0.5');
    const accepted = proxy.logs.find((l) => l.msg === 'PROXY header accepted' && l.remoteAddress === '127.0.0.5');
    assert.equal(accepted?.version, 2);
    assert.equal(accepted?.proxy, '127.0.0.1', "the socket's own peer is HAProxy");
  });

  test('tls: the PROXY header comes before the TLS handshake; the client address still comes through', async () => {
    await publishFrom('127.0.0.6', 'tls-behind-haproxy', true);
    assert.equal(remoteAddressOf('tls-behind-haproxy'), '127.0.0.6');
    const records = await readRecords(kafkaTopic, 2);
    assert.deepEqual(records.map((r) => r.value?.toString()).sort(), ['from 127.0.0.5', 'from 127.0.0.6']);
    assert.deepEqual(records.map((r) => headerText(r.headers, 'mqtt.client_id')).sort(), ['behind-haproxy', 'tls-behind-haproxy']);
  });
});
