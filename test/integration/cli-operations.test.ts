// Operating the proxy from its command line, as a child process: drain on SIGTERM under load, reload
// on SIGHUP (the configuration, certificates, users and JWT secret) and on file change, `check`, `map` and `--log-pretty`.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import mqtt, { type MqttClient } from 'mqtt';
import { hashPassword } from '../../src/auth/password-hash.js';
import { TestCertificates } from '../helpers/certs.js';
import { nowSeconds, signJwt } from '../helpers/jwt.js';
import { exitWithin, findLog, freePort, runCli, spawnCli, waitUntil, type CliProcess } from '../helpers/cli.js';
import { createTopics, readRecords, testBrokers, uniqueName } from '../helpers/kafka.js';

let dir: string;
const running: CliProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mkp-cli-ops-'));
});
after(async () => {
  for (const run of running) if (run.isRunning()) run.child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function start(args: readonly string[]): CliProcess {
  const run = spawnCli(args);
  running.push(run);
  return run;
}

/** Replaces the file the way editors and ConfigMap updates do: write aside, then rename over it. */
async function replaceFile(file: string, text: string): Promise<void> {
  const aside = `${file}.tmp-${Date.now()}`;
  await writeFile(aside, text);
  await rename(aside, file);
}

/**
 * A directory laid out as the kubelet mounts a ConfigMap: the data in a timestamped directory,
 * `..data` a symlink to it, and each file a symlink through `..data`.
 */
async function configMapVolume(root: string, name: string, text: string): Promise<{ file: string; update(text: string): Promise<void> }> {
  await mkdir(root);
  let generation = 0;
  const writeGeneration = async (content: string): Promise<string> => {
    const stamped = `..2026_11_30_02_00_00.${String(++generation).padStart(9, '0')}`;
    await mkdir(join(root, stamped));
    await writeFile(join(root, stamped, name), content);
    return stamped;
  };
  await symlink(await writeGeneration(text), join(root, '..data'));
  await symlink(join('..data', name), join(root, name));
  return {
    file: join(root, name),
    // The kubelet's atomic update: a new timestamped directory, a new symlink beside `..data`,
    // renamed over it; then the old directory goes. The file's own symlink never changes.
    async update(next) {
      const previous = `..2026_11_30_02_00_00.${String(generation).padStart(9, '0')}`;
      const stamped = await writeGeneration(next);
      await symlink(stamped, join(root, '..data_tmp'));
      await rename(join(root, '..data_tmp'), join(root, '..data'));
      await rm(join(root, previous), { recursive: true });
    },
  };
}

async function httpStatus(url: string): Promise<{ status: number; body: string } | 'refused'> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return 'refused';
  }
}

async function waitReady(run: CliProcess): Promise<number> {
  await waitUntil(() => findLog(run, 'listening') !== undefined && findLog(run, 'connected to Kafka') !== undefined, 'ready', 20000, run);
  return findLog(run, 'listening')!.port as number;
}

describe('SIGTERM under load from several clients', () => {
  const topic = uniqueName('cli-ops.drain');
  const delayMs = 2000;
  const clients: MqttClient[] = [];
  const acked = new Set<string>();
  /** /readyz answers after SIGTERM; `signalled`: the CLI had logged the signal before the request. */
  const readyz: Array<{ at: number; signalled: boolean; status: number | 'refused'; body: string }> = [];
  let run: CliProcess;
  let exit: Awaited<ReturnType<typeof exitWithin>>;
  let signalledAt = 0;
  let ackedDuringDelay = 0;
  let stoppingLoggedAt = 0;
  /** Per client: the DISCONNECT reason codes received, and whether the proxy closed the connection. */
  const goodbyes: Array<{ protocolVersion: 4 | 5; disconnects: number[]; closedByServer: boolean }> = [];
  let endingClients = false;

  before(async () => {
    await createTopics([topic], undefined, 3);
    const adminPort = await freePort();
    const file = join(dir, 'drain.yaml');
    await writeFile(
      file,
      `listeners: [{ protocol: tcp, host: 127.0.0.1, port: 0 }]
kafka: { brokers: [${testBrokers().join(', ')}], lingerMs: 40 }
mappings:
  - name: drain
    match: '^drain/(?<client>[^/]+)/(?<n>[0-9]+)$'
    topic: ${topic}
    key: '\${client}'
auth: { anonymous: true }
http: { port: ${adminPort}, host: 127.0.0.1 }
drain: { delayMs: ${delayMs}, timeoutMs: 5000 }
`,
    );
    run = start(['--config', file]);
    const port = await waitReady(run);
    const admin = `http://127.0.0.1:${adminPort}`;
    const firstReady = await httpStatus(`${admin}/readyz`);
    assert.deepEqual(firstReady, { status: 200, body: 'ready\n' });

    // Four devices, MQTT 5 and 3.1.1, each publishing QoS 1 every 3 ms without waiting for acks.
    const timers: NodeJS.Timeout[] = [];
    for (const [index, protocolVersion] of ([5, 5, 4, 4] as const).entries()) {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        protocolVersion,
        clientId: `drain-${index}`,
        reconnectPeriod: 0,
      });
      client.on('error', () => undefined);
      const goodbye = { protocolVersion, disconnects: [] as number[], closedByServer: false };
      goodbyes.push(goodbye);
      client.on('disconnect', (packet) => goodbye.disconnects.push(packet.reasonCode ?? 0));
      client.on('close', () => {
        if (!endingClients) goodbye.closedByServer = true;
      });
      clients.push(client);
      let n = 0;
      timers.push(
        setInterval(() => {
          if (!client.connected) return;
          const payload = `drain-${index}/${n++}`;
          client.publish(`drain/${payload}`, payload, { qos: 1 }, (error) => {
            if (error) return;
            acked.add(payload);
            if (signalledAt > 0 && stoppingLoggedAt === 0) ackedDuringDelay++;
          });
        }, 3),
      );
    }
    try {
      await waitUntil(() => acked.size >= 300, '300 PUBACKs', 20000, run);
      signalledAt = Date.now();
      run.child.kill('SIGTERM');
      const polling = (async () => {
        while (run.isRunning()) {
          const signalled = findLog(run, 'signal received, draining') !== undefined;
          const answer = await httpStatus(`${admin}/readyz`);
          readyz.push({ at: Date.now() - signalledAt, signalled, status: answer === 'refused' ? 'refused' : answer.status, body: answer === 'refused' ? '' : answer.body });
          if (stoppingLoggedAt === 0 && findLog(run, 'stopping: no new connections or publishes')) stoppingLoggedAt = Date.now() - signalledAt;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      exit = await exitWithin(run, delayMs + 15000);
      await polling;
    } finally {
      for (const timer of timers) clearInterval(timer);
      endingClients = true;
      for (const client of clients) client.end(true);
    }
  });

  test('exits with code 0', () => {
    assert.ok(exit !== null, `still running ${delayMs + 15000} ms after SIGTERM:\n${run.stdout().slice(-2000)}`);
    assert.deepEqual(exit, { code: 0, signal: null }, run.stderr());
  });

  test('MQTT 5 clients got DISCONNECT 0x8B (server shutting down); 3.1.1 clients were closed by the proxy', () => {
    assert.equal(goodbyes.length, 4);
    for (const [index, { protocolVersion, disconnects, closedByServer }] of goodbyes.entries()) {
      assert.ok(closedByServer, `drain-${index} (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}): the proxy closed the connection before the process exited`);
      if (protocolVersion === 5) assert.deepEqual(disconnects, [0x8b], `drain-${index}: one DISCONNECT, 0x8B`);
      else assert.deepEqual(disconnects, [], `drain-${index}: 3.1.1 has no server DISCONNECT, the socket is closed`);
    }
  });

  test('/readyz turned 503 during the delay while MQTT was still served', () => {
    // From the moment the CLI took the signal (delivery takes a few ms) until the delay ends.
    const duringDelay = readyz.filter((r) => r.signalled && r.at < delayMs - 200);
    assert.ok(duringDelay.length >= 3, `polled during the delay: ${JSON.stringify(readyz.slice(0, 5))}`);
    assert.ok(duringDelay.every((r) => r.status === 503 && r.body.includes('draining')), JSON.stringify(duringDelay));
    // Timed by the proxy's own log clock: polling from here can lag behind on a busy machine.
    const signalTime = findLog(run, 'signal received, draining')?.time;
    const stoppingTime = findLog(run, 'stopping: no new connections or publishes')?.time;
    assert.ok(typeof signalTime === 'number' && typeof stoppingTime === 'number', 'the signal and the listeners closing were logged');
    const closedAfter = stoppingTime - signalTime;
    assert.ok(closedAfter >= delayMs - 100, `listeners closed ${closedAfter} ms after SIGTERM, not before the ${delayMs} ms delay`);
    assert.ok(ackedDuringDelay > 50, `devices kept being acknowledged during the delay (${ackedDuringDelay} PUBACKs)`);
  });

  test('every PUBACKed message is in Kafka', async (t) => {
    const records = await readRecords(topic, acked.size, { timeoutMs: 15000, settleMs: 1000 });
    const inKafka = new Set(records.map((r) => r.value?.toString()));
    const lost = [...acked].filter((payload) => !inKafka.has(payload));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.size} PUBACKed messages missing from Kafka (${records.length} records)`);
    const inflight = findLog(run, 'stopping: no new connections or publishes')?.inFlight;
    assert.equal(typeof inflight, 'number');
    t.diagnostic(`${acked.size} PUBACKed (${ackedDuringDelay} during the ${delayMs} ms delay), ${records.length} records in Kafka, ${inflight} in flight when the listeners closed`);
  });

  test('every record in Kafka was PUBACKed first: the acknowledgements went out before the clients were closed', async () => {
    const records = await readRecords(topic, acked.size, { timeoutMs: 15000, settleMs: 500 });
    const unacked = records.map((r) => r.value?.toString() ?? '').filter((payload) => !acked.has(payload));
    const byClient: Record<string, number> = {};
    for (const payload of unacked) byClient[payload.split('/')[0]!] = (byClient[payload.split('/')[0]!] ?? 0) + 1;
    // A record in Kafka its device never saw acknowledged is sent again after reconnecting: a duplicate.
    assert.deepEqual(byClient, {}, `records in Kafka never PUBACKed, by client (drain-2 and drain-3 speak 3.1.1)`);
  });
});

describe('reload', () => {
  const topicA = uniqueName('cli-ops.reload-a');
  const topicB = uniqueName('cli-ops.reload-b');
  const config = (topic: string, extra = '') => `listeners: [{ protocol: tcp, host: 127.0.0.1, port: 0 }]
kafka: { brokers: [${testBrokers().join(', ')}] }
mappings:
  - name: devices
    match: '^dev/(?<id>[^/]+)$'
    topic: ${topic}
    key: '\${id}'
auth: { anonymous: true }
http: { port: 0 }
${extra}`;

  before(() => createTopics([topicA, topicB]));

  async function publishSome(client: MqttClient, prefix: string, count: number): Promise<string[]> {
    const payloads: string[] = [];
    for (let i = 0; i < count; i++) {
      const payload = `${prefix}-${i}`;
      await client.publishAsync(`dev/${payload}`, payload, { qos: 1 });
      payloads.push(payload);
    }
    return payloads;
  }

  test('SIGHUP applies new mappings without dropping the client; a bad file is refused and the running config stays', async () => {
    const file = join(dir, 'reload.yaml');
    await writeFile(file, config(topicA));
    const run = start(['--config', file]);
    const port = await waitReady(run);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, clientId: 'reload-sighup', reconnectPeriod: 0 });
    let closed = false;
    client.on('close', () => (closed = true));

    const first = await publishSome(client, 'before', 10);
    await replaceFile(file, config(topicB));
    run.child.kill('SIGHUP');
    await waitUntil(() => findLog(run, 'configuration reloaded') !== undefined, 'configuration reloaded', 10000, run);
    const second = await publishSome(client, 'after', 10);

    await replaceFile(file, config(topicA).replace("'^dev/(?<id>[^/]+)$'", () => "'^dev/(unclosed$'"));
    run.child.kill('SIGHUP');
    await waitUntil(() => run.logs.some((l) => String(l.msg).startsWith('reload refused')), 'reload refused', 10000, run);
    const refusal = run.logs.find((l) => String(l.msg).startsWith('reload refused'))!;
    assert.match(String(refusal.msg), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: mappings\\[0\\] "devices"\\.match: invalid regular expression`));
    const third = await publishSome(client, 'kept', 5);
    assert.equal(closed, false, 'the client stayed connected through both reloads');
    await client.endAsync();

    run.child.kill('SIGTERM');
    assert.deepEqual(await exitWithin(run, 10000), { code: 0, signal: null });
    const a = await readRecords(topicA, first.length, { timeoutMs: 10000, settleMs: 300 });
    const b = await readRecords(topicB, second.length + third.length, { timeoutMs: 10000, settleMs: 300 });
    assert.deepEqual(a.map((r) => r.value?.toString()), first);
    assert.deepEqual(b.map((r) => r.value?.toString()), [...second, ...third]);
  });

  test('reload.watch: a changed file is applied without a signal', async () => {
    const topicC = uniqueName('cli-ops.reload-c');
    await createTopics([topicC]);
    const file = join(dir, 'watch.yaml');
    await writeFile(file, config(topicB, 'reload: { watch: true }\n'));
    const run = start(['--config', file]);
    const port = await waitReady(run);
    await waitUntil(() => findLog(run, 'watching the configuration file for changes') !== undefined, 'watching', 5000, run);
    await replaceFile(file, config(topicC, 'reload: { watch: true }\n'));
    await waitUntil(() => findLog(run, 'configuration reloaded') !== undefined, 'configuration reloaded', 10000, run);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, clientId: 'reload-watch', reconnectPeriod: 0 });
    const sent = await publishSome(client, 'watched', 3);
    await client.endAsync();
    run.child.kill('SIGTERM');
    assert.deepEqual(await exitWithin(run, 10000), { code: 0, signal: null });
    const c = await readRecords(topicC, 3, { timeoutMs: 10000, settleMs: 300 });
    assert.deepEqual(c.map((r) => r.value?.toString()), sent);
  });
});

describe('reload.watch with a Kubernetes ConfigMap volume', () => {
  test('swapping the ..data symlink to a new timestamped directory applies the new mapping', async () => {
    const topicOld = uniqueName('cli-ops.configmap-a');
    const topicNew = uniqueName('cli-ops.configmap-b');
    await createTopics([topicOld, topicNew]);
    const config = (topic: string) => `listeners: [{ protocol: tcp, host: 127.0.0.1, port: 0 }]
kafka: { brokers: [${testBrokers().join(', ')}] }
mappings: [{ name: devices, match: '^cm/(?<id>[^/]+)$', topic: ${topic}, key: '\${id}' }]
auth: { anonymous: true }
http: { port: 0 }
reload: { watch: true }
`;
    const volume = await configMapVolume(join(dir, 'configmap'), 'topic-mappings.yaml', config(topicOld));
    const run = start(['--config', volume.file]);
    const port = await waitReady(run);
    await waitUntil(() => findLog(run, 'watching the configuration file for changes') !== undefined, 'watching', 5000, run);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, clientId: 'configmap-watch', reconnectPeriod: 0 });
    let closed = false;
    client.on('close', () => (closed = true));
    await client.publishAsync('cm/before', 'before', { qos: 1 });

    await volume.update(config(topicNew));
    await waitUntil(() => findLog(run, 'configuration reloaded') !== undefined, 'configuration reloaded', 10000, run);
    await client.publishAsync('cm/after', 'after', { qos: 1 });
    assert.equal(closed, false, 'the client stayed connected');
    await client.endAsync();
    run.child.kill('SIGTERM');
    assert.deepEqual(await exitWithin(run, 10000), { code: 0, signal: null });
    assert.deepEqual((await readRecords(topicOld, 1, { timeoutMs: 10000, settleMs: 300 })).map((r) => r.value?.toString()), ['before']);
    assert.deepEqual((await readRecords(topicNew, 1, { timeoutMs: 10000, settleMs: 300 })).map((r) => r.value?.toString()), ['after']);
  });
});

describe('SIGHUP re-reads certificates, the users file and the JWT secret', () => {
  const topic = uniqueName('cli-ops.sighup-files');
  const certs = new TestCertificates();
  const FAST = { N: 1024, r: 8, p: 1 };
  const OLD_SECRET = 'jwt-secret-before-sighup-at-least-32-bytes';
  const NEW_SECRET = 'jwt-secret-after-sighup-also-at-least-32-bytes';

  before(() => createTopics([topic]));
  after(() => certs.remove());

  const usersYaml = async (users: ReadonlyArray<[string, string]>): Promise<string> => {
    const lines = ['users:'];
    for (const [username, password] of users) lines.push(`  - username: ${username}`, `    password: '${await hashPassword(password, FAST)}'`);
    return `${lines.join('\n')}\nacl:\n  authenticated:\n    - allow: dev/%u/#\n`;
  };

  test('a connected client keeps publishing; new connections get the new certificate, the new user and the new secret', async () => {
    const ca = certs.createCa('sighup-ca');
    const server = certs.issueServer(ca, 'sighup-server');
    const usersFile = join(dir, 'sighup-users.yaml');
    const secretFile = join(dir, 'sighup-jwt-secret');
    await writeFile(usersFile, await usersYaml([['alice', 'alice-pw']]));
    await writeFile(secretFile, `${OLD_SECRET}\n`);
    const file = join(dir, 'sighup-files.yaml');
    // Every file watch off (watchIntervalMs: 0): only the signal can make the proxy read them again.
    await writeFile(
      file,
      `listeners:
  - { protocol: tls, host: 127.0.0.1, port: 0, tls: { cert: ${server.certFile}, key: ${server.keyFile}, watchIntervalMs: 0 } }
kafka: { brokers: [${testBrokers().join(', ')}] }
mappings:
  - name: devices
    match: '^dev/(?<user>[^/]+)/(?<n>.+)$'
    topic: ${topic}
    key: '\${username}'
auth:
  usersFile: ${usersFile}
  jwt: { secretFile: ${secretFile} }
  watchIntervalMs: 0
  failureDelay: { initialMs: 1, maxMs: 1 }
http: { port: 0 }
`,
    );
    const run = start(['--config', file]);
    const port = await waitReady(run);
    const connect = (clientId: string, username: string, password: string): Promise<MqttClient> =>
      mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { ca: ca.cert, protocolVersion: 5, clientId, username, password, reconnectPeriod: 0, connectTimeout: 5000 }, false);
    const refused = async (clientId: string, username: string, password: string): Promise<boolean> => {
      try {
        await (await connect(clientId, username, password)).endAsync();
        return false;
      } catch {
        return true;
      }
    };
    const jwtFor = (sub: string, secret: string): string => signJwt({ sub, exp: nowSeconds() + 300 }, { hs256: secret });

    const alice = await connect('sighup-alice', 'alice', 'alice-pw');
    let aliceClosed = false;
    alice.on('close', () => (aliceClosed = true));
    await alice.publishAsync('dev/alice/1', 'alice before', { qos: 1 });
    assert.equal(await servedSerial(port, ca.cert), server.serialNumber);

    // Rotate everything on disk.
    const next = certs.issueServer(ca, 'sighup-server-next');
    certs.replace(server, next);
    await writeFile(usersFile, await usersYaml([['alice', 'alice-pw'], ['bob', 'bob-pw']]));
    await writeFile(secretFile, `${NEW_SECRET}\n`);
    // Nothing watches the files: without the signal, nothing changes.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(await servedSerial(port, ca.cert), server.serialNumber, 'old certificate before SIGHUP');
    assert.equal(await refused('sighup-bob-early', 'bob', 'bob-pw'), true, 'bob unknown before SIGHUP');
    assert.equal(await refused('sighup-jwt-early', 'jwt', jwtFor('carol', NEW_SECRET)), true, 'new secret unknown before SIGHUP');

    run.child.kill('SIGHUP');
    await waitUntil(() => findLog(run, 'signal received, reloading the configuration') !== undefined, 'SIGHUP log', 5000, run);
    await waitUntil(
      () => findLog(run, 'users file reloaded') !== undefined && findLog(run, 'certificates reloaded') !== undefined && findLog(run, 'JWT keys reloaded') !== undefined,
      'files reloaded',
      10000,
      run,
    );
    assert.equal(findLog(run, 'certificates reloaded')?.serialNumber, next.serialNumber);

    await alice.publishAsync('dev/alice/2', 'alice after', { qos: 1 });
    assert.equal(aliceClosed, false, 'the connected client stayed connected');
    assert.equal(await servedSerial(port, ca.cert), next.serialNumber, 'a new TLS connection gets the new certificate');
    const bob = await connect('sighup-bob', 'bob', 'bob-pw');
    await bob.publishAsync('dev/bob/1', 'bob after', { qos: 1 });
    await bob.endAsync();
    const carol = await connect('sighup-carol', 'jwt', jwtFor('carol', NEW_SECRET));
    await carol.publishAsync('dev/carol/1', 'carol after', { qos: 1 });
    await carol.endAsync();
    assert.equal(await refused('sighup-old-jwt', 'jwt', jwtFor('dave', OLD_SECRET)), true, 'the old secret no longer');
    await alice.endAsync();

    run.child.kill('SIGTERM');
    assert.deepEqual(await exitWithin(run, 10000), { code: 0, signal: null });
    const records = await readRecords(topic, 4, { timeoutMs: 10000, settleMs: 300 });
    assert.deepEqual(
      records.map((r) => `${r.key?.toString()}: ${r.value?.toString()}`),
      ['alice: alice before', 'alice: alice after', 'bob: bob after', 'carol: carol after'],
    );
  });
});

/** The serial number of the certificate a new TLS connection to `port` is served. */
async function servedSerial(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('check', () => {
  test('a valid file: exit 0, the effective config with defaults and secrets masked', async () => {
    const file = join(dir, 'check.yaml');
    await writeFile(file, `mappings: [{ name: t, match: '^t$', topic: iot.t }]\nauth: { anonymous: true }\n`);
    const yaml = await runCli(['check', '--config', file]);
    assert.equal(yaml.code, 0, yaml.stderr);
    assert.match(yaml.stdout, /valid/);
    assert.match(yaml.stdout, /drain:\n {2}delayMs: 5000\n {2}timeoutMs: 30000/);
    const json = await runCli(['check', '--config', file, '--json', '--kafka-brokers', 'k1:9092,k2:9092']);
    assert.equal(json.code, 0, json.stderr);
    const view = JSON.parse(json.stdout) as Record<string, Record<string, unknown>>;
    assert.deepEqual(view.kafka!.brokers, ['k1:9092', 'k2:9092'], 'overrides are part of the effective config');
    assert.deepEqual(view.http, { port: 9090, host: '0.0.0.0' });
    assert.equal(view.unmapped, 'reject');
  });

  test('secrets: the Kafka SASL password and the JWT secret are masked, in YAML and JSON', async () => {
    const saslPassword = 'Kafka-Sasl-Pw-7c1f';
    const jwtSecret = 'Jwt-Hs256-Secret-of-at-least-32-bytes-7c1f';
    const file = join(dir, 'check-secrets.yaml');
    await writeFile(
      file,
      `kafka:
  sasl: { mechanism: scram-sha-512, username: mqtt-proxy, password: '${saslPassword}' }
mappings: [{ name: t, match: '^t$', topic: iot.t }]
auth:
  jwt: { secret: '${jwtSecret}' }
`,
    );
    const yaml = await runCli(['check', '--config', file]);
    assert.equal(yaml.code, 0, yaml.stderr);
    for (const output of [yaml.stdout, yaml.stderr]) {
      assert.ok(!output.includes(saslPassword), 'the SASL password is not printed');
      assert.ok(!output.includes(jwtSecret), 'the JWT secret is not printed');
    }
    assert.match(yaml.stdout, /sasl:\n {4}mechanism: scram-sha-512\n {4}username: mqtt-proxy\n {4}password: "\*{8}"/);
    assert.match(yaml.stdout, /jwt:\n {4}secret: "\*{8}"/);
    const json = await runCli(['check', '--config', file, '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.ok(!json.stdout.includes(saslPassword) && !json.stdout.includes(jwtSecret), json.stdout);
    const view = JSON.parse(json.stdout) as { kafka: { sasl: Record<string, unknown> }; auth: { jwt: Record<string, unknown> } };
    assert.equal(view.kafka.sasl.password, '********');
    assert.equal(view.kafka.sasl.username, 'mqtt-proxy', 'names stay readable');
    assert.equal(view.auth.jwt.secret, '********');
  });

  test('MKP_HTTP_PORT and --http-port replace http.port', async () => {
    const file = join(dir, 'check-http-port.yaml');
    await writeFile(file, `mappings: [{ name: t, match: '^t$', topic: iot.t }]\nauth: { anonymous: true }\nhttp: { port: 9090 }\n`);
    const byVariable = await runCli(['check', '--config', file, '--json'], { MKP_HTTP_PORT: '9191' });
    assert.equal(byVariable.code, 0, byVariable.stderr);
    assert.equal((JSON.parse(byVariable.stdout) as { http: { port: number } }).http.port, 9191);
    const byFlag = await runCli(['check', '--config', file, '--json', '--http-port', '0'], { MKP_HTTP_PORT: '9191' });
    assert.equal((JSON.parse(byFlag.stdout) as { http: { port: number } }).http.port, 0, 'the flag wins');
  });

  test('an invalid file: exit 1, every problem on stderr naming file and path', async () => {
    const file = join(dir, 'check-bad.yaml');
    await writeFile(file, `mappings: [{ name: t, match: '^t(', topic: iot.t }]\nauth: { anonymous: true }\ndrain: { delayMs: -5 }\n`);
    const result = await runCli(['check', '--config', file]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.ok(result.stderr.includes(`${file}: mappings[0] "t".match: invalid regular expression`), result.stderr);
    assert.ok(result.stderr.includes(`${file}: drain.delayMs: expected an integer`), result.stderr);
  });
});

describe('map', () => {
  let file: string;
  before(async () => {
    file = join(dir, 'map.yaml');
    await writeFile(
      file,
      `mappings:
  - name: telemetry
    match: '^devices/(?<deviceId>[^/]+)/telemetry$'
    topic: 'iot.\${username}.telemetry'
    key: '\${deviceId}-\${clientId}'
  - name: bad-render
    match: '^raw/(.*)$'
    topic: 'raw.$1'
auth: { anonymous: true }
`,
    );
  });

  test('a matching topic: exit 0 with the rule, the Kafka topic and the key', async () => {
    const result = await runCli(['map', '--config', file, 'devices/d-7/telemetry', '--client-id', 'gw-1', '--username', 'acme']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /rule: +telemetry\n/);
    assert.match(result.stdout, /Kafka topic: iot\.acme\.telemetry\n/);
    assert.match(result.stdout, /key: +"d-7-gw-1"\n/);
    const json = await runCli(['map', '--config', file, 'devices/d-7/telemetry', '--json']);
    assert.deepEqual(JSON.parse(json.stdout), { topic: 'devices/d-7/telemetry', mapped: true, rule: 'telemetry', kafkaTopic: 'iot..telemetry', key: 'd-7-' });
  });

  test('no rule matches: exit 3 saying why', async () => {
    const result = await runCli(['map', '--config', file, 'other/topic']);
    assert.equal(result.code, 3);
    assert.match(result.stdout, /rejected: +unmapped/);
    assert.match(result.stdout, /no mapping rule matches MQTT topic "other\/topic"/);
  });

  test('the rule renders a topic Kafka would refuse: exit 3 naming the rule', async () => {
    const result = await runCli(['map', '--config', file, 'raw/has space']);
    assert.equal(result.code, 3);
    assert.match(result.stdout, /rejected: +invalid-kafka-topic \(rule bad-render\)/);
  });

  test('an invalid config exits 1; a missing topic is a usage error (2)', async () => {
    const bad = join(dir, 'map-bad.yaml');
    await writeFile(bad, `mappings: []\nauth: { anonymous: true }\n`);
    assert.equal((await runCli(['map', '--config', bad, 'x'])).code, 1);
    assert.equal((await runCli(['map', '--config', file])).code, 2);
  });
});

describe('map --kafka (delivery)', () => {
  let file: string;
  before(async () => {
    file = join(dir, 'map-delivery.yaml');
    await writeFile(
      file,
      `mappings: [{ name: all, match: '^(.*)$', topic: iot.all }]
auth: { anonymous: true }
delivery:
  - name: commands
    kafka: iot.commands
    mqttTopic: 'devices/\${key}/commands'
    qos: 1
  - name: mirror
    kafka: iot.telemetry
`,
    );
  });

  test('a record a rule delivers: exit 0 with the rule, the MQTT topic, QoS and properties', async () => {
    const result = await runCli(['map', '--config', file, '--kafka', 'iot.commands', '--key', 'dev-17', '--header', 'region=eu', '--header', 'mqtt.content_type=text/plain']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /rule: +commands\n/);
    assert.match(result.stdout, /MQTT topic: +devices\/dev-17\/commands\n/);
    assert.match(result.stdout, /QoS: +at most 1/);
    assert.match(result.stdout, /properties: +\{"contentType":"text\/plain","userProperties":\{"region":"eu"\}\}/);
    const json = await runCli(['map', '--config', file, '--kafka', 'iot.telemetry', '--header', 'mqtt.topic=devices/d-1/telemetry', '--header', 'mqtt.qos=0', '--partition', '4', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {
      kafkaTopic: 'iot.telemetry',
      partition: 4,
      key: null,
      delivered: true,
      rule: 'mirror',
      mqttTopic: 'devices/d-1/telemetry',
      qos: 0,
      retain: false,
      originClientId: null,
      properties: null,
    });
  });

  test('no rule reads the topic, or the record gives no topic: exit 3 saying why', async () => {
    const none = await runCli(['map', '--config', file, '--kafka', 'iot.other', '--key', 'k']);
    assert.equal(none.code, 3, none.stderr);
    assert.match(none.stdout, /not delivered: no-rule\n/);
    assert.match(none.stdout, /no delivery rule reads Kafka topic iot\.other/);
    const nullKey = await runCli(['map', '--config', file, '--kafka', 'iot.commands']);
    assert.equal(nullKey.code, 3);
    assert.match(nullKey.stdout, /not delivered: no-topic \(rule commands\)/);
    const wildcard = await runCli(['map', '--config', file, '--kafka', 'iot.commands', '--key', 'dev/+', '--json']);
    assert.equal(wildcard.code, 3);
    assert.deepEqual(
      (({ delivered, reason, rule }) => ({ delivered, reason, rule }))(JSON.parse(wildcard.stdout) as Record<string, unknown>),
      { delivered: false, reason: 'bad-topic', rule: 'commands' },
    );
  });

  test('usage errors exit 2: a header without =, a topic and --kafka together, --key without --kafka', async () => {
    for (const args of [
      ['--kafka', 'iot.commands', '--header', 'novalue'],
      ['a/b', '--kafka', 'iot.commands'],
      ['a/b', '--key', 'k'],
    ]) {
      const result = await runCli(['map', '--config', file, ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /mqtt-kafka-proxy: (--header|map):/);
    }
  });

  test('check lists the delivery rules and the retained section with their defaults', async () => {
    const json = await runCli(['check', '--config', file, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const view = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.deepEqual(view.delivery, [
      { name: 'commands', kafka: 'iot.commands', mqttTopic: 'devices/${key}/commands', qos: 1 },
      { name: 'mirror', kafka: 'iot.telemetry', qos: 2 },
    ]);
    assert.deepEqual(view.retained, { topic: 'mqtt.retained', enabled: true });
    const yaml = await runCli(['check', '--config', file]);
    assert.match(yaml.stdout, /delivery:\n {2}- name: commands\n {4}kafka: iot\.commands\n/);
  });
});

describe('--log-pretty', () => {
  test('prints readable lines instead of JSON', async () => {
    const file = join(dir, 'pretty.yaml');
    await writeFile(
      file,
      `listeners: [{ protocol: tcp, host: 127.0.0.1, port: 0 }]\nkafka: { brokers: [${testBrokers().join(', ')}] }\nmappings: [{ name: t, match: '^t$', topic: iot.t }]\nauth: { anonymous: true }\nhttp: { port: 0 }\n`,
    );
    const run = start(['--config', file, '--log-pretty']);
    await waitUntil(() => run.stdout().includes('listening'), 'listening', 20000, run);
    run.child.kill('SIGINT');
    assert.deepEqual(await exitWithin(run, 10000), { code: 0, signal: null });
    const lines = run.stdout().trim().split('\n');
    assert.ok(lines.every((line) => !line.trimStart().startsWith('{')), run.stdout());
    assert.ok(lines.some((line) => /INFO.*listening/.test(line)), run.stdout());
  });
});
