/**
 * docs/security.md "Exposing the proxy: mTLS on 8883 and wss on 443 behind HAProxy", run as written:
 * the fenced blocks marked `<!-- exposed-sample: NAME -->` are read from docs/security.md, the shell blocks run
 * in a temporary configuration directory (certificates, password hash, JWT keys and tokens), the
 * proxy starts from the sample configuration and users file, a real HAProxy from the sample
 * haproxy.cfg, and MQTT.js clients go through HAProxy on both paths.
 *
 * Substituted, and only these, because a test machine has no 10.0.0.0/8 hosts, no root for ports
 * 443/8883, no /etc to write, and a Kafka shared with other tests (each `substitute` fails the test
 * when its text is no longer in the sample, so the page cannot drift away from what is tested):
 * - proxy listener ports 8883 / 8084 -> 0 (ephemeral), HAProxy binds :8883 / :443 -> free loopback
 *   ports, HAProxy's backend address 10.0.1.10 and the admin check port 9090 -> where the proxy
 *   listens;
 * - HAProxy's address 10.0.0.5/32 in trustedCidrs / trustedProxies -> 127.0.0.1/32, the address
 *   HAProxy connects to the proxy from;
 * - /etc/haproxy/certs/ -> the temporary directory's tls/ (what the page says to copy there);
 * - the Kafka topic iot.telemetry -> a unique topic; the brokers -> KAFKA_BROKERS (an override, as
 *   --kafka-brokers does); the admin port 9090 -> an ephemeral one (an override: port 0 in the file
 *   would turn the admin server off);
 * - the users file's placeholder hash -> the hash the page's `passwd` command printed;
 * - mosquitto_pub's `-h mqtt.example.com -p 8883` -> `-h 127.0.0.1 -p PORT --insecure`: the name
 *   does not resolve here and mosquitto_pub cannot be given a TLS server name of its own (--insecure
 *   skips only the name check; the chain is still verified against the CA).
 * Clients connect to 127.0.0.1 with TLS server name mqtt.example.com (the certificate's name) and
 * from their own 127.0.0.x source addresses, so the proxy's view of the client address is tested.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { createTopics, headerText, readRecords, testBrokers, testKafkaClient, uniqueName } from '../helpers/kafka.js';
import pino from 'pino';
import { loadConfig } from '../../src/server/load-config.js';
import type { ProxyConfig } from '../../src/config/types.js';
import { createProxy, type BoundListener, type Proxy } from '../../src/server.js';
import { waitFor } from '../helpers/proxy.js';

const execFileAsync = promisify(execFile);
const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((path) => existsSync(path));
const skip = HAPROXY === undefined && !process.env.CI ? 'haproxy is not installed (apt-get install haproxy); CI installs it' : false;

// dist/test/integration -> the repository root.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SERVER_NAME = 'mqtt.example.com';
const GATEWAY_PASSWORD = 'gateway-eu-1 long password';

/** The page that holds the sample, relative to the repository root. */
const SAMPLE_PAGE = 'docs/security.md';

/** The blocks of SAMPLE_PAGE marked `<!-- exposed-sample: NAME -->`, by NAME. */
function pageSamples(): Map<string, string> {
  const page = readFileSync(join(root, SAMPLE_PAGE), 'utf8');
  const samples = new Map<string, string>();
  for (const match of page.matchAll(/<!-- exposed-sample: (\S+) -->\n```[^\n]*\n([\s\S]*?)\n```\n/g)) {
    samples.set(match[1]!, `${match[2]!}\n`);
  }
  return samples;
}

function sample(samples: Map<string, string>, name: string): string {
  const text = samples.get(name);
  if (text === undefined) throw new Error(`${SAMPLE_PAGE} has no block marked <!-- exposed-sample: ${name} -->`);
  return text;
}

/** Replaces every `from` with `to`; fails when `from` is not in the text (the sample changed). */
function substitute(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`${SAMPLE_PAGE} sample no longer contains ${JSON.stringify(from)}: update the test`);
  return text.split(from).join(to);
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

async function waitForPort(port: number, output: () => string): Promise<void> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const open = await new Promise<boolean>((done) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`HAProxy did not listen on ${port}: ${output()}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

describe('docs/security.md: exposing the proxy on 8883 (mTLS) and 443 (wss) behind HAProxy', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mkp-exposed-'));
  const kafkaTopic = uniqueName('iot.telemetry');
  let samples: Map<string, string>;
  let proxy: Proxy;
  let proxyConfig: ProxyConfig;
  let adminPort: number;
  const logs: Array<Record<string, unknown>> = [];
  let haproxy: ChildProcess | undefined;
  let haproxyOutput = '';
  const frontends = { mqtts: 0, wss: 0 };
  let ca: Buffer;
  const statsSocket = join(dir, 'haproxy.sock');

  /**
   * Runs a sample shell block in the configuration directory, `mqtt-kafka-proxy` on the PATH.
   * Synchronous: only for blocks that do not need the proxy (it runs in this process).
   */
  function shell(script: string, input?: string): string {
    return execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: dir,
      input: input ?? '',
      env: { ...process.env, PATH: `${join(root, 'bin')}:${process.env.PATH ?? ''}` },
      stdio: ['pipe', 'pipe', 'pipe'],
    }).toString();
  }

  /** A token from the sample's `jwt` function (asynchronously: the proxy is serving meanwhile). */
  async function jwt(subject: string, seconds: number): Promise<string> {
    const script = `${sample(samples, 'jwt.sh')}jwt ${subject} ${seconds}`;
    const { stdout } = await execFileAsync('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir });
    return stdout.trim();
  }

  before(async () => {
    if (HAPROXY === undefined) throw new Error('haproxy is required in CI: .ci/run installs it');
    samples = pageSamples();

    shell(sample(samples, 'certificates.sh'));
    shell(sample(samples, 'jwt-keys.sh'));
    const hash = shell(sample(samples, 'passwd.sh'), `${GATEWAY_PASSWORD}\n`).trim();
    assert.match(hash, /^scrypt\$32768\$8\$1\$/);
    ca = readFileSync(join(dir, 'tls', 'ca.crt'));

    writeFileSync(join(dir, 'users.yaml'), substitute(sample(samples, 'users.yaml'), 'scrypt$32768$8$1$...', hash));
    let config = sample(samples, 'topic-mappings.yaml');
    config = substitute(config, 'port: 8883', 'port: 0');
    config = substitute(config, 'port: 8084', 'port: 0');
    config = substitute(config, '10.0.0.5/32', '127.0.0.1/32');
    config = substitute(config, 'topic: iot.telemetry', `topic: ${kafkaTopic}`);
    const configFile = join(dir, 'topic-mappings.yaml');
    writeFileSync(configFile, config);

    await createTopics([kafkaTopic]);
    // Loaded from the file as the command line does, so its relative paths are taken from its directory.
    proxyConfig = loadConfig(configFile, { kafkaBrokers: testBrokers(), ...testKafkaClient() });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    proxy = createProxy(proxyConfig, { logger: pino({ level: 'debug' }, sink), adminPort: 0 });
    const listeners: readonly BoundListener[] = await proxy.start();
    adminPort = proxy.adminAddress!.port;
    const [tlsListener, wssListener] = listeners;
    assert.equal(tlsListener?.protocol, 'tls');
    assert.equal(wssListener?.protocol, 'wss');

    frontends.mqtts = await freePort();
    frontends.wss = await freePort();
    let haproxyCfg = sample(samples, 'haproxy.cfg');
    haproxyCfg = substitute(haproxyCfg, 'bind :8883', `bind 127.0.0.1:${frontends.mqtts}`);
    haproxyCfg = substitute(haproxyCfg, 'bind :443', `bind 127.0.0.1:${frontends.wss}`);
    haproxyCfg = substitute(haproxyCfg, '10.0.1.10:8883', `127.0.0.1:${tlsListener.port}`);
    haproxyCfg = substitute(haproxyCfg, '10.0.1.10:8084', `127.0.0.1:${wssListener.port}`);
    haproxyCfg = substitute(haproxyCfg, 'check port 9090', `check port ${adminPort}`);
    haproxyCfg = substitute(haproxyCfg, '/etc/haproxy/certs/', `${join(dir, 'tls')}/`);
    // Added, not substituted: a stats socket, so the test can see what HAProxy's health checks say.
    haproxyCfg = `global\n  stats socket ${statsSocket}\n${haproxyCfg}`;
    const haproxyFile = join(dir, 'haproxy.cfg');
    writeFileSync(haproxyFile, haproxyCfg);
    // The configuration must be valid as a whole (-c), not merely good enough to start.
    execFileSync(HAPROXY, ['-c', '-f', haproxyFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy = spawn(HAPROXY, ['-db', '-f', haproxyFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout?.on('data', (chunk: Buffer) => (haproxyOutput += chunk.toString()));
    haproxy.stderr?.on('data', (chunk: Buffer) => (haproxyOutput += chunk.toString()));
    await waitForPort(frontends.mqtts, () => haproxyOutput);
    await waitForPort(frontends.wss, () => haproxyOutput);
    await waitFor(() => logs.some((l) => l.msg === 'connected to Kafka'), 20000, 'Kafka connection');
  });

  after(async () => {
    haproxy?.kill('SIGTERM');
    await proxy?.stop({ delayMs: 0, drainTimeoutMs: 5000 });
    rmSync(dir, { recursive: true, force: true });
  });

  type Outcome = { connected: true; client: mqtt.MqttClient } | { connected: false; code: number | undefined; error: string };

  function settle(client: mqtt.MqttClient): Promise<Outcome> {
    return new Promise((done) => {
      let settled = false;
      const finish = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        if (!outcome.connected) client.end(true);
        done(outcome);
      };
      client.once('connect', () => finish({ connected: true, client }));
      client.once('error', (error) => finish({ connected: false, code: (error as { code?: number }).code, error: error.message }));
      client.once('close', () => finish({ connected: false, code: undefined, error: 'closed' }));
    });
  }

  /** MQTT over TLS through HAProxy :8883, from `localAddress`, with the device certificate when `device` is set. */
  function connectMqtts(localAddress: string, clientId: string, device?: string): Promise<Outcome> {
    const credentials = device === undefined ? {} : { cert: readFileSync(join(dir, 'tls', `${device}.crt`)), key: readFileSync(join(dir, 'tls', `${device}.key`)) };
    const client = new mqtt.MqttClient(
      () => tls.connect({ socket: net.connect({ host: '127.0.0.1', port: frontends.mqtts, localAddress }), servername: SERVER_NAME, ca, ...credentials }),
      { clientId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 },
    );
    return settle(client);
  }

  /** MQTT over WebSocket through HAProxy :443, from `localAddress`. */
  function connectWss(localAddress: string, clientId: string, username: string, password: string, protocolVersion: 4 | 5 = 5): Promise<Outcome> {
    // ws passes these to https.request: the CA, the certificate's name, the source address.
    const wsOptions = { ca, servername: SERVER_NAME, localAddress };
    const client = mqtt.connect(`wss://127.0.0.1:${frontends.wss}/mqtt`, {
      clientId,
      username,
      password,
      protocolVersion,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      wsOptions,
    });
    return settle(client);
  }

  async function connected(outcome: Promise<Outcome>): Promise<mqtt.MqttClient> {
    const result = await outcome;
    if (!result.connected) throw new Error(`connection refused: ${result.code} ${result.error}\n${haproxyOutput}`);
    return result.client;
  }

  const remoteAddressOf = (clientId: string): unknown =>
    logs.find((l) => l.msg === 'client connected' && l.clientId === clientId)?.remoteAddress;

  /** The records so far, once `count` have arrived (and no more within the settle time). */
  async function records(count: number): Promise<Array<{ key: string; value: string; mqttTopic: unknown }>> {
    const read = await readRecords(kafkaTopic, count);
    return read.map((r) => ({ key: r.key?.toString() ?? '', value: r.value?.toString() ?? '', mqttTopic: headerText(r.headers, 'mqtt.topic') }));
  }

  /** HAProxy's `show stat`: status and check result of each backend server, by backend name. */
  async function serverStates(): Promise<Map<string, { status: string; check: string }>> {
    const csv = await new Promise<string>((done, fail) => {
      let text = '';
      const socket = net.connect(statsSocket, () => socket.end('show stat\n'));
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => done(text));
      socket.on('error', fail);
    });
    const [header = '', ...rows] = csv.replace(/^# /, '').trim().split('\n');
    const columns = header.split(',');
    const states = new Map<string, { status: string; check: string }>();
    for (const row of rows) {
      const cells = row.split(',');
      const cell = (name: string): string => cells[columns.indexOf(name)] ?? '';
      if (cell('svname') === 'mkp-1') states.set(cell('pxname'), { status: cell('status'), check: cell('check_status') });
    }
    return states;
  }

  test("HAProxy's checks of /readyz on the admin port find the proxy up behind both frontends", async () => {
    let states = await serverStates();
    const deadline = Date.now() + 8000;
    while ([...states.values()].filter((s) => s.check === 'L7OK').length < 2 && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 200));
      states = await serverStates();
    }
    assert.deepEqual(Object.fromEntries(states), {
      mqtt_kafka_proxy_tls: { status: 'UP', check: 'L7OK' },
      mqtt_kafka_proxy_wss: { status: 'UP', check: 'L7OK' },
    });
  });

  test('8883, mTLS: the device certificate is the identity (Kafka key); a client without one is refused', async () => {
    const device = await connected(connectMqtts('127.0.0.7', 'sensor-17-client', 'sensor-17'));
    await device.publishAsync('devices/sensor-17/telemetry', 'from MQTT.js', { qos: 1 });
    await device.endAsync();
    assert.deepEqual(await records(1), [{ key: 'sensor-17', value: 'from MQTT.js', mqttTopic: 'devices/sensor-17/telemetry' }]);

    // The sample's mosquitto_pub line, run in the configuration directory.
    let mosquitto = sample(samples, 'device.sh');
    mosquitto = substitute(mosquitto, '-h mqtt.example.com -p 8883', `-h 127.0.0.1 -p ${frontends.mqtts} --insecure`);
    // Asynchronously: the proxy runs in this process and must go on serving meanwhile.
    await execFileAsync('bash', ['-euo', 'pipefail', '-c', mosquitto], { cwd: dir, timeout: 10000 });
    assert.deepEqual((await records(2))[1], { key: 'sensor-17', value: '{"t":21.5}', mqttTopic: 'devices/sensor-17/telemetry' });

    const anonymous = await connectMqtts('127.0.0.11', 'no-certificate');
    assert.equal(anonymous.connected, false);
    await waitFor(() => logs.some((l) => l.msg === 'client certificate refused' && l.remoteAddress === '127.0.0.11'), 5000, 'refusal log');
    const refusal = logs.find((l) => l.msg === 'client certificate refused' && l.remoteAddress === '127.0.0.11');
    assert.equal(refusal?.reason, 'no-certificate');
    assert.equal(refusal?.verifyError, 'no certificate');

    // Refused in the handshake: with TLS 1.2 (the server's Finished last) the client never
    // completes it and gets the alert; the log names the client HAProxy's PROXY header named.
    const refused = await new Promise<{ secured: boolean; code: string | undefined }>((resolve) => {
      let secured = false;
      let code: string | undefined;
      const socket = tls.connect({
        socket: net.connect({ host: '127.0.0.1', port: frontends.mqtts, localAddress: '127.0.0.14' }),
        servername: SERVER_NAME,
        ca,
        maxVersion: 'TLSv1.2',
      });
      socket.once('secureConnect', () => (secured = true));
      socket.on('error', (error: Error & { code?: string }) => (code ??= error.code));
      socket.once('close', () => resolve({ secured, code }));
    });
    assert.deepEqual(refused, { secured: false, code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' });
    await waitFor(() => logs.some((l) => l.msg === 'client certificate refused' && l.remoteAddress === '127.0.0.14'), 5000, 'handshake refusal log');
  });

  test('443, wss: a password from the users file; a wrong one gets 0x86 (MQTT 5) and 4 (MQTT 3.1.1)', async () => {
    const gateway = await connected(connectWss('127.0.0.8', 'gateway-client', 'gateway-eu-1', GATEWAY_PASSWORD));
    await gateway.publishAsync('devices/gateway-eu-1/telemetry', 'from the gateway', { qos: 1 });
    await gateway.endAsync();
    const read = await records(3);
    assert.deepEqual(read[2], { key: 'gateway-eu-1', value: 'from the gateway', mqttTopic: 'devices/gateway-eu-1/telemetry' });

    const wrong5 = await connectWss('127.0.0.12', 'wrong-5', 'gateway-eu-1', 'not the password');
    assert.equal(wrong5.connected, false);
    assert.equal(!wrong5.connected && wrong5.code, 0x86);
    const wrong4 = await connectWss('127.0.0.13', 'wrong-4', 'gateway-eu-1', 'not the password', 4);
    assert.equal(!wrong4.connected && wrong4.code, 4);
  });

  test('443, wss: a JWT made as the page says is accepted; an expired one gets 0x86', async () => {
    const app = await connected(connectWss('127.0.0.9', 'app-client', 'any', await jwt('app-7', 3600)));
    await app.publishAsync('devices/app-7/telemetry', 'from the app', { qos: 1 });
    await app.endAsync();
    const read = await records(4);
    assert.deepEqual(read[3], { key: 'app-7', value: 'from the app', mqttTopic: 'devices/app-7/telemetry' });

    // Past the default 30 s clock tolerance.
    const expired = await connectWss('127.0.0.14', 'expired-client', 'any', await jwt('app-7', -120));
    assert.equal(!expired.connected && expired.code, 0x86);
    assert.ok(logs.some((l) => l.msg === 'authentication failed' && l.reason === 'expired-token' && l.remoteAddress === '127.0.0.14'));
  });

  test("ACL devices/%u/#: a publish under another identity gets PUBACK 0x87 and never reaches Kafka", async () => {
    const gateway = await connected(connectWss('127.0.0.8', 'gateway-acl', 'gateway-eu-1', GATEWAY_PASSWORD));
    await assert.rejects(gateway.publishAsync('devices/sensor-17/telemetry', 'forged', { qos: 1 }), (error: Error & { code?: number }) => {
      assert.equal(error.code, 0x87);
      return true;
    });
    // The same client may still publish in its own subtree: the denial did not end the connection.
    await gateway.publishAsync('devices/gateway-eu-1/telemetry', 'after the denial', { qos: 1 });
    await gateway.endAsync();
    const read = await records(5);
    assert.equal(read.length, 5, 'nothing beyond the five accepted records');
    assert.ok(!read.some((r) => r.value === 'forged'));
    assert.equal(read[4]?.value, 'after the denial');
  });

  test("the proxy sees each client's own address, not HAProxy's: PROXY v2 on 8883, X-Forwarded-For on 443", () => {
    assert.equal(remoteAddressOf('sensor-17-client'), '127.0.0.7');
    assert.equal(remoteAddressOf('gateway-client'), '127.0.0.8');
    assert.equal(remoteAddressOf('app-client'), '127.0.0.9');
  });

  test('graceful drain (what SIGTERM does): HAProxy takes the replica out of both backends before its listeners close', async (t) => {
    const { delayMs } = proxyConfig.drain;
    const started = Date.now();
    const stopping = proxy.stop({ delayMs, drainTimeoutMs: 5000 });
    let states = await serverStates();
    while ([...states.values()].some((s) => s.status.startsWith('UP')) && Date.now() - started < delayMs) {
      await new Promise((done) => setTimeout(done, 100));
      states = await serverStates();
    }
    const outAfterMs = Date.now() - started;
    assert.deepEqual([...states.values()].map((s) => s.status), ['DOWN', 'DOWN'], `still in rotation after ${outAfterMs} ms`);
    assert.ok(outAfterMs < delayMs, `out of rotation after ${outAfterMs} ms, within drain.delayMs (${delayMs} ms)`);
    t.diagnostic(`out of rotation ${outAfterMs} ms after the drain began (drain.delayMs ${delayMs} ms)`);
    await stopping;
  });
});
