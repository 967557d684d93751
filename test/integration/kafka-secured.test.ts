// The proxy against a Kafka that only talks SASL_SSL: TLS with a private CA, SCRAM and PLAIN users.
// It runs a broker of its own (scripts/kafka-dev with KAFKA_SASL_SSL_PORT): the shared one has no
// secured listener. Its PLAINTEXT listener is used only by the test to create and read topics.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { createTopics, readRecords, uniqueName } from '../helpers/kafka.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const kafkaDev = path.join(root, 'scripts', 'kafka-dev');
const port = Number(process.env.SASL_KAFKA_PORT ?? '29292');
const saslPort = port + 2;
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mkp-secured-kafka-'));
const password = `pw-${uniqueName('s').slice(2)}`;
const kafkaEnv = {
  ...process.env,
  KAFKA_PORT: String(port),
  KAFKA_CONTROLLER_PORT: String(port + 1),
  KAFKA_SASL_SSL_PORT: String(saslPort),
  KAFKA_SASL_USER: 'device-gateway',
  KAFKA_SASL_PASSWORD: password,
  KAFKA_DATA_DIR: dataDir,
};
const plaintext = [`127.0.0.1:${port}`];
const secured = [`127.0.0.1:${saslPort}`];
const caFile = path.join(dataDir, 'tls', 'ca.pem');
const passwordFile = path.join(dataDir, 'proxy-password');
const topic = uniqueName('secured');

before(() => {
  execFileSync(kafkaDev, ['start'], { env: kafkaEnv, stdio: ['ignore', 'ignore', 'inherit'], timeout: 150000 });
  writeFileSync(passwordFile, `${password}\n`);
});

after(() => {
  execFileSync(kafkaDev, ['stop', '--clean'], { env: kafkaEnv, stdio: 'ignore' });
  rmSync(dataDir, { recursive: true, force: true });
});

function config(sasl: string, ssl = `ssl: { ca: ${caFile} }`): string {
  return `
mappings:
  - name: all
    match: '^secured/(?<id>.+)$'
    topic: ${topic}
    key: '\${id}'
kafka:
  ${ssl}
  sasl: ${sasl}
  requestTimeoutMs: 4000
  connectionTimeoutMs: 2000
auth: { anonymous: true }
http: { port: 0 }
`;
}

async function publishThrough(proxy: RunningProxy, id: string): Promise<void> {
  const client = await mqtt.connectAsync(proxy.url, { protocolVersion: 5, clientId: `secured-${id}`, reconnectPeriod: 0 });
  try {
    const ack = await client.publishAsync(`secured/${id}`, `payload-${id}`, { qos: 1 });
    assert.equal((ack as { reasonCode?: number } | undefined)?.reasonCode ?? 0, 0, `PUBACK for ${id} is a success`);
  } finally {
    await client.endAsync();
  }
}

function assertPasswordNeverLogged(proxy: RunningProxy): void {
  assert.ok(!JSON.stringify(proxy.logs).includes(password), 'the SASL password appears in no log line');
}

test('SASL_SSL: records go through TLS and SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN, and are read back', { timeout: 180000 }, async () => {
  await createTopics([topic], plaintext);
  const mechanisms = [
    ['scram-sha-512', `{ mechanism: scram-sha-512, username: device-gateway, passwordFile: ${passwordFile} }`],
    ['scram-sha-256', `{ mechanism: scram-sha-256, username: device-gateway, passwordEnv: MKP_TEST_KAFKA_PASSWORD }`],
    ['plain', `{ mechanism: plain, username: device-gateway, password: ${password} }`],
  ] as const;
  process.env.MKP_TEST_KAFKA_PASSWORD = password;
  for (const [mechanism, sasl] of mechanisms) {
    const proxy = await startProxy(config(sasl), { brokers: secured });
    try {
      await waitFor(() => proxy.proxy.kafka.ready, 30000, `Kafka readiness over ${mechanism}`);
      const connected = proxy.logs.find((l) => l.msg === 'connected to Kafka');
      assert.equal(connected?.sasl, mechanism);
      assert.equal(connected?.tls, true);
      await publishThrough(proxy, mechanism);
      assertPasswordNeverLogged(proxy);
      assert.ok(!JSON.stringify(proxy.config).includes(password), 'the password does not show when the config is printed');
    } finally {
      await proxy.stop();
    }
  }
  const records = await readRecords(topic, 3, { brokers: plaintext });
  assert.deepEqual(records.map((r) => r.key?.toString()).sort(), ['plain', 'scram-sha-256', 'scram-sha-512']);
  assert.deepEqual(records.map((r) => r.value?.toString()).sort(), ['payload-plain', 'payload-scram-sha-256', 'payload-scram-sha-512']);
});

test('a wrong SASL password: a clear error, never ready, clients told to retry later, nothing crashes', { timeout: 120000 }, async () => {
  const proxy = await startProxy(config('{ mechanism: scram-sha-512, username: device-gateway, password: not-the-password }'), {
    brokers: secured,
  });
  try {
    await waitFor(() => proxy.logs.some((l) => l.msg === 'cannot connect to Kafka, retrying'), 60000, 'the credentials error');
    const line = proxy.logs.find((l) => l.msg === 'cannot connect to Kafka, retrying');
    assert.match(String(line?.err), /SASL credentials \(check kafka\.sasl\).*authentication failed/i);
    assert.equal(line?.level, 50, 'logged at error level');
    assert.equal(proxy.proxy.kafka.ready, false);
    assert.ok(!JSON.stringify(proxy.logs).includes('not-the-password'), 'the wrong password is not logged either');

    const v5 = await mqtt.connectAsync(proxy.url, { protocolVersion: 5, clientId: 'secured-wrong-v5', reconnectPeriod: 0 });
    const disconnect = new Promise<number>((resolve) => v5.on('disconnect', (packet) => resolve(packet.reasonCode ?? 0)));
    let acked = false;
    v5.publish('secured/wrong', 'x', { qos: 1 }, (error) => {
      if (!error) acked = true;
    });
    assert.equal(await disconnect, 0x89, 'MQTT 5 client gets DISCONNECT 0x89 server busy');
    assert.equal(acked, false, 'nothing acknowledged');
    v5.end(true);

    const v4 = await mqtt.connectAsync(proxy.url, { protocolVersion: 4, clientId: 'secured-wrong-v4', reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => v4.on('close', () => resolve()));
    v4.publish('secured/wrong', 'x', { qos: 1 });
    await closed;
    assert.equal(proxy.proxy.kafka.ready, false, 'still not ready');
  } finally {
    await proxy.stop();
  }
});

test('a broker certificate from an unknown CA is refused by default, with an error naming kafka.ssl', { timeout: 120000 }, async () => {
  const proxy = await startProxy(config(`{ mechanism: plain, username: device-gateway, password: ${password} }`, 'ssl: true'), {
    brokers: secured,
  });
  try {
    await waitFor(() => proxy.logs.some((l) => l.msg === 'cannot connect to Kafka, retrying'), 60000, 'the TLS error');
    const line = proxy.logs.find((l) => l.msg === 'cannot connect to Kafka, retrying');
    assert.match(String(line?.err), /TLS with Kafka failed \(check kafka\.ssl\)/);
    assert.equal(proxy.proxy.kafka.ready, false);
  } finally {
    await proxy.stop();
  }
});
