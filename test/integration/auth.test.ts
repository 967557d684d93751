import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type mqtt from 'mqtt';
import { hashPassword } from '../../src/auth/password-hash.js';
import { createTopics, headerText, readRecords, uniqueName } from '../helpers/kafka.js';
import { closed, connectOrThrow, counterValue, tryConnect } from '../helpers/mqtt-connect.js';
import { ecKeys, nowSeconds, rsaKeys, signJwt } from '../helpers/jwt.js';
import { startProxy, waitFor, type RunningProxy } from '../helpers/proxy.js';

// Cheap parameters: the tests hash and check many passwords.
const FAST = { N: 1024, r: 8, p: 1 };
const SECRET = 'integration-test-secret-of-at-least-32-bytes';
const ALICE_PASSWORD = 'alice-Pa55word!';
const dir = mkdtempSync(join(tmpdir(), 'mkp-auth-'));
const usersFile = join(dir, 'users.yaml');
const topic = uniqueName('auth.all');
const dropTopic = uniqueName('auth.drop');

async function usersYaml(extraUsers = ''): Promise<string> {
  return `users:
  - username: alice
    password: '${await hashPassword(ALICE_PASSWORD, FAST)}'
    acl:
      - deny: devices/alice/secret
      - allow: devices/%u/#
  - username: bob
    password: '${await hashPassword('bob-pw', FAST)}'
${extraUsers}acl:
  authenticated:
    - allow: clients/%c/#
    - allow: jwt/%u/#
  anonymous:
    - allow: public/#
`;
}

const config = (deniedPublish311: 'disconnect' | 'drop', kafkaTopic: string): string => `
mappings:
  - name: all
    match: '^(.*)$'
    topic: ${kafkaTopic}
    key: '\${username}'
auth:
  anonymous: true
  usersFile: ${usersFile}
  jwt: { secret: ${SECRET}, clockToleranceSeconds: 0 }
  deniedPublish311: ${deniedPublish311}
  failureDelay: { initialMs: 400, maxMs: 1600 }
http: { port: 0 }
`;

let proxy: RunningProxy;
let dropProxy: RunningProxy;
// Each test that fails logins uses its own source address: failures slow down later attempts from the same one.
let nextAddress = 10;
const freshAddress = (): string => `127.0.0.${nextAddress++}`;

before(async () => {
  writeFileSync(usersFile, await usersYaml());
  await createTopics([topic, dropTopic]);
  proxy = await startProxy(config('disconnect', topic));
  dropProxy = await startProxy(config('drop', dropTopic));
  await waitFor(() => [proxy, dropProxy].every((p) => p.logs.some((l) => l.msg === 'connected to Kafka')), 20000, 'Kafka connection');
});

after(async () => {
  await Promise.all([proxy.stop(), dropProxy.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const connect = (version: 4 | 5, extra: { username?: string; password?: string; clientId?: string; localAddress?: string } = {}, p = proxy) =>
  tryConnect({ port: p.port, version, ...extra });

describe('authentication', () => {
  test('a good password and a good JWT connect, and their publishes reach Kafka keyed by the authenticated identity', async () => {
    const sent: Array<{ key: string; mqttTopic: string }> = [];
    for (const version of [4, 5] as const) {
      const byPassword = await connectOrThrow({ port: proxy.port, version, username: 'alice', password: ALICE_PASSWORD });
      await byPassword.publishAsync(`devices/alice/v${version}`, 'pw', { qos: 1 });
      sent.push({ key: 'alice', mqttTopic: `devices/alice/v${version}` });
      await byPassword.endAsync();
      const token = signJwt({ sub: `jwt-dev-${version}`, exp: nowSeconds() + 300 }, { hs256: SECRET });
      // The MQTT username is not the identity: the token's sub is.
      const byToken = await connectOrThrow({ port: proxy.port, version, username: 'anything', password: token });
      await byToken.publishAsync(`jwt/jwt-dev-${version}/t`, 'jwt', { qos: 1 });
      sent.push({ key: `jwt-dev-${version}`, mqttTopic: `jwt/jwt-dev-${version}/t` });
      await byToken.endAsync();
    }
    const records = await readRecords(topic, sent.length);
    for (const expected of sent) {
      const record = records.find((r) => headerText(r.headers, 'mqtt.topic') === expected.mqttTopic);
      assert.ok(record, expected.mqttTopic);
      assert.equal(record.key?.toString(), expected.key);
    }
  });

  test('wrong password and unknown user: 0x86 (MQTT 5) / 4 (3.1.1), counted by reason, logged without the password', async () => {
    const badPassword = 'not-the-Password-42';
    const before = {
      bad: await counterValue(proxy.proxy.metrics.authFailures, { reason: 'bad-password' }),
      unknown: await counterValue(proxy.proxy.metrics.authFailures, { reason: 'unknown-user' }),
    };
    for (const version of [4, 5] as const) {
      const expected = version === 5 ? 0x86 : 4;
      const wrong = await connect(version, { username: 'alice', password: badPassword, localAddress: freshAddress() });
      assert.deepEqual([wrong.connected, !wrong.connected && wrong.code], [false, expected], `v${version} wrong password`);
      const unknown = await connect(version, { username: 'mallory', password: badPassword, localAddress: freshAddress() });
      assert.deepEqual([unknown.connected, !unknown.connected && unknown.code], [false, expected], `v${version} unknown user`);
    }
    assert.equal(await counterValue(proxy.proxy.metrics.authFailures, { reason: 'bad-password' }), before.bad + 2);
    assert.equal(await counterValue(proxy.proxy.metrics.authFailures, { reason: 'unknown-user' }), before.unknown + 2);
    const lines = proxy.logs.filter((l) => l.msg === 'authentication failed');
    assert.ok(lines.some((l) => l.username === 'mallory' && l.reason === 'unknown-user' && typeof l.remoteAddress === 'string'));
    assert.ok(!JSON.stringify(proxy.logs).includes(badPassword), 'the password is never logged');
  });

  test('expired or forged JWT: 0x86 / 4; the token is not logged', async () => {
    const expired = signJwt({ sub: 'dev', exp: nowSeconds() - 5 }, { hs256: SECRET });
    const forged = signJwt({ sub: 'dev', exp: nowSeconds() + 60 }, { hs256: 'some-other-secret-that-is-32-bytes-long' });
    const unsigned = signJwt({ sub: 'dev', exp: nowSeconds() + 60 }, { none: true });
    const beforeExpired = await counterValue(proxy.proxy.metrics.authFailures, { reason: 'expired-token' });
    for (const version of [4, 5] as const) {
      const expected = version === 5 ? 0x86 : 4;
      for (const token of [expired, forged, unsigned]) {
        // 3.1.1 allows a password only with a username; the proxy ignores it for a JWT.
        const outcome = await connect(version, { username: 'device', password: token, localAddress: freshAddress() });
        assert.deepEqual([outcome.connected, !outcome.connected && outcome.code], [false, expected]);
      }
    }
    assert.equal(await counterValue(proxy.proxy.metrics.authFailures, { reason: 'expired-token' }), beforeExpired + 2);
    assert.ok(!JSON.stringify(proxy.logs).includes(expired.split('.')[2]!), 'the token is never logged');
  });

  test('a JWT expiring mid-connection: MQTT 5 gets DISCONNECT 0xA0, 3.1.1 is closed by the proxy when it expires', async () => {
    const exp = nowSeconds() + 3;
    const expiresAtMs = exp * 1000;
    const token = signJwt({ sub: 'short-lived', exp }, { hs256: SECRET });
    const metric = (): Promise<number> => counterValue(proxy.proxy.metrics.disconnects, { reason: 'credentials-expired' });
    const before = await metric();
    const v5 = await connectOrThrow({ port: proxy.port, version: 5, clientId: 'jwt-expiry-v5', username: 'device', password: token });
    const v4 = await connectOrThrow({ port: proxy.port, version: 4, clientId: 'jwt-expiry-v4', username: 'device', password: token });
    await v5.publishAsync('jwt/short-lived/x', 'still valid', { qos: 1 });
    await v4.publishAsync('jwt/short-lived/y', 'still valid', { qos: 1 });
    const closedAt = (client: mqtt.MqttClient) => closed(client, 8000).then((gone) => ({ ...gone, at: Date.now() }));
    const [gone5, gone4] = await Promise.all([closedAt(v5), closedAt(v4)]);
    assert.equal(gone5.reasonCode, 0xa0);
    // 3.1.1 has no DISCONNECT from the server: what shows it was the expiry is when, and the log.
    assert.equal(gone4.reasonCode, undefined);
    for (const gone of [gone5, gone4]) assert.ok(gone.at >= expiresAtMs, `closed ${expiresAtMs - gone.at} ms before exp`);
    const expiryLine = (clientId: string) => proxy.logs.find((l) => l.msg === 'credentials expired: disconnecting' && l.clientId === clientId);
    for (const clientId of ['jwt-expiry-v5', 'jwt-expiry-v4']) {
      const line = expiryLine(clientId);
      assert.ok(line, `the proxy logged the expiry of ${clientId}`);
      assert.equal(line.username, 'short-lived');
      // The proxy's own clock: not before the token's exp, and not long after it.
      const loggedAt = Number(line.time);
      assert.ok(loggedAt >= expiresAtMs && loggedAt < expiresAtMs + 1500, `${clientId} sent away ${loggedAt - expiresAtMs} ms after exp`);
    }
    assert.equal(v4.connected, false);
    // Counted once the engine has finished with each connection, a moment after the client saw it close.
    let counted = 0;
    const deadline = Date.now() + 3000;
    while ((counted = await metric()) < before + 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(counted, before + 2, 'disconnects_total{reason="credentials-expired"}');
    v5.end(true);
    v4.end(true);
  });

  test('no credentials: anonymous clients are accepted here (auth.anonymous: true) and get the anonymous ACL', async () => {
    const client = await connectOrThrow({ port: proxy.port, version: 5 });
    await client.publishAsync('public/hello', 'anon', { qos: 1 });
    await assert.rejects(client.publishAsync('clients/x/y', 'no', { qos: 1 }), (error: Error & { code?: number }) => error.code === 0x87);
    await client.endAsync();
  });

  test('repeated failures from one address are answered later and later; another address is not slowed', async () => {
    const address = freshAddress();
    const durations: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = Date.now();
      const outcome = await connect(4, { username: 'bob', password: 'guess', localAddress: address });
      assert.equal(outcome.connected, false);
      durations.push(Date.now() - start);
    }
    // Waits of 0, 400, 800 and 1600 ms before each check.
    assert.ok(durations[1]! >= 380 && durations[2]! >= 780 && durations[3]! >= 1580, `durations ${durations.join(', ')}`);
    assert.ok(durations[1]! < durations[2]! && durations[2]! < durations[3]!, `durations ${durations.join(', ')}`);
    const start = Date.now();
    const other = await connect(4, { username: 'bob', password: 'bob-pw', localAddress: freshAddress() });
    assert.ok(other.connected);
    assert.ok(Date.now() - start < 380, 'a different address is not delayed');
    await other.client.endAsync();
  });
});

describe('ACL on publish', () => {
  async function recordsFor(kafkaTopic: string, mqttTopics: string[]): Promise<string[]> {
    const records = await readRecords(kafkaTopic, 1000, { timeoutMs: 3000, settleMs: 0 });
    return records.map((r) => String(headerText(r.headers, 'mqtt.topic'))).filter((t) => mqttTopics.includes(t));
  }

  test('MQTT 5: denied QoS 1 and 2 get 0x87, the client stays connected, acks stay in order, nothing denied reaches Kafka', async () => {
    const before = await counterValue(proxy.proxy.metrics.aclDenials, { version: '5' });
    const client = await connectOrThrow({ port: proxy.port, version: 5, username: 'alice', password: ALICE_PASSWORD, clientId: 'alice-5' });
    const answers: string[] = [];
    const publish = (t: string, qos: 1 | 2) =>
      client.publishAsync(t, t, { qos }).then(
        () => answers.push(`ok ${t}`),
        (error: Error & { code?: number }) => answers.push(`${error.code} ${t}`),
      );
    await Promise.all([
      publish('devices/alice/a5', 1),
      publish('devices/alice/secret', 1),
      publish('devices/bob/x5', 2),
      publish('clients/alice-5/c', 1),
      publish('clients/other/c', 1),
      publish('devices/alice/b5', 2),
    ]);
    assert.deepEqual(answers, [
      'ok devices/alice/a5',
      '135 devices/alice/secret',
      '135 devices/bob/x5',
      'ok clients/alice-5/c',
      '135 clients/other/c',
      'ok devices/alice/b5',
    ]);
    assert.ok(client.connected);
    // QoS 0 has no acknowledgement to carry 0x87: dropped, and the connection stays.
    await client.publishAsync('devices/bob/q0', 'denied', { qos: 0 });
    await client.publishAsync('devices/alice/after-q0', 'ok', { qos: 1 });
    assert.ok(client.connected);
    await client.endAsync();
    assert.equal(await counterValue(proxy.proxy.metrics.aclDenials, { version: '5' }), before + 4);
    const landed = await recordsFor(topic, [
      'devices/alice/a5',
      'devices/alice/secret',
      'devices/bob/x5',
      'clients/alice-5/c',
      'clients/other/c',
      'devices/alice/b5',
      'devices/bob/q0',
      'devices/alice/after-q0',
    ]);
    assert.deepEqual(landed.sort(), ['clients/alice-5/c', 'devices/alice/a5', 'devices/alice/after-q0', 'devices/alice/b5']);
    const line = proxy.logs.find((l) => l.msg === 'publish denied by ACL' && l.topic === 'clients/other/c');
    assert.ok(line);
    assert.equal(line.username, 'alice');
  });

  test('MQTT 3.1.1, deniedPublish311: disconnect — the allowed publish before lands, the denied one closes the connection', async () => {
    const client = await connectOrThrow({ port: proxy.port, version: 4, username: 'bob', password: 'bob-pw', clientId: 'bob-4' });
    await client.publishAsync('clients/bob-4/ok', 'ok', { qos: 1 });
    const gone = closed(client);
    client.publish('devices/alice/x4', 'denied', { qos: 1 });
    await gone;
    client.end(true);
    assert.deepEqual(await recordsFor(topic, ['clients/bob-4/ok', 'devices/alice/x4']), ['clients/bob-4/ok']);
    assert.ok(proxy.logs.some((l) => l.msg === 'publish denied by ACL' && l.topic === 'devices/alice/x4' && l.outcome === 'disconnected'));
  });

  test('MQTT 3.1.1, deniedPublish311: drop — PUBACK as if accepted, connection kept, nothing in Kafka', async () => {
    const before = await counterValue(dropProxy.proxy.metrics.aclDenials, { version: '4' });
    const client = await connectOrThrow({ port: dropProxy.port, version: 4, username: 'bob', password: 'bob-pw', clientId: 'bob-drop' });
    await client.publishAsync('devices/alice/dropped', 'denied', { qos: 1 });
    await client.publishAsync('devices/alice/dropped2', 'denied', { qos: 2 });
    await client.publishAsync('clients/bob-drop/kept', 'ok', { qos: 1 });
    assert.ok(client.connected);
    await client.endAsync();
    assert.equal(await counterValue(dropProxy.proxy.metrics.aclDenials, { version: '4' }), before + 2);
    assert.deepEqual(await recordsFor(dropTopic, ['devices/alice/dropped', 'devices/alice/dropped2', 'clients/bob-drop/kept']), ['clients/bob-drop/kept']);
  });
});

describe('the users file reloads while running', () => {
  test('a new user can log in after the file changes; a broken file keeps the users in force', async () => {
    const carolHash = await hashPassword('carol-pw', FAST);
    let refused = await connect(5, { username: 'carol', password: 'carol-pw', localAddress: freshAddress() });
    assert.equal(refused.connected, false);
    writeFileSync(usersFile, await usersYaml(`  - username: carol\n    password: '${carolHash}'\n`));
    await waitFor(() => proxy.logs.some((l) => l.msg === 'users file reloaded' && l.users === 3), 10000, 'reload');
    const carol = await connectOrThrow({ port: proxy.port, version: 5, username: 'carol', password: 'carol-pw', clientId: 'carol-1' });
    await carol.publishAsync('clients/carol-1/x', 'hi', { qos: 1 });
    await carol.endAsync();

    writeFileSync(usersFile, 'users:\n  - username: carol\n    password: plaintext\n');
    await waitFor(() => proxy.logs.some((l) => l.msg === 'users file not reloaded: keeping the previous users and ACLs'), 10000, 'refused reload');
    const still = await connectOrThrow({ port: proxy.port, version: 4, username: 'carol', password: 'carol-pw' });
    await still.endAsync();

    // reload() does the same on demand (what a SIGHUP handler calls).
    writeFileSync(usersFile, await usersYaml());
    assert.equal(proxy.proxy.accessControl.reload(), true);
    refused = await connect(5, { username: 'carol', password: 'carol-pw', localAddress: freshAddress() });
    assert.deepEqual([refused.connected, !refused.connected && refused.code], [false, 0x86]);
  });
});

describe('SUBSCRIBE is refused', () => {
  for (const version of [4, 5] as const) {
    test(`MQTT ${version === 5 ? '5' : '3.1.1'}: SUBACK 0x80, the client stays connected`, async () => {
      const client: mqtt.MqttClient = await connectOrThrow({ port: proxy.port, version, username: 'alice', password: ALICE_PASSWORD });
      // A filter without wildcards: one with them is refused for that first (Wildcard Subscription Available 0).
      await assert.rejects(client.subscribeAsync('devices/alice/commands', { qos: 1 }), (error: Error & { packet?: { granted?: number[] } }) => {
        assert.deepEqual(error.packet?.granted, [0x80]);
        return true;
      });
      assert.ok(client.connected);
      await client.publishAsync('devices/alice/after-subscribe', 'x', { qos: 1 });
      await client.endAsync();
    });
  }
});

describe('JWT signed with RS256 and ES256, public keys from a PEM file, rotated while running', () => {
  test('tokens from either key connect and publish; one signed by an unknown key or as HS256 with the public key is refused', async () => {
    const rsa = rsaKeys();
    const ec = ecKeys();
    const keyFile = join(dir, 'jwt-keys.pem');
    const pem = (key: typeof rsa.publicKey): string => key.export({ type: 'spki', format: 'pem' }) as string;
    writeFileSync(keyFile, `${pem(rsa.publicKey)}${pem(ec.publicKey)}`);
    const keyTopic = uniqueName('auth.keys');
    await createTopics([keyTopic]);
    const keyed = await startProxy(`
mappings: [{ name: all, match: '^(.*)$', topic: ${keyTopic}, key: '\${username}' }]
auth:
  jwt: { publicKeyFile: ${keyFile}, issuer: https://issuer.example, audience: mqtt-kafka-proxy, usernameClaim: device_id }
http: { port: 0 }
`);
    try {
      const claims = { device_id: 'pk-dev', iss: 'https://issuer.example', aud: 'mqtt-kafka-proxy', exp: nowSeconds() + 120 };
      for (const [name, key] of [
        ['rs256', { rs256: rsa.privateKey }],
        ['es256', { es256: ec.privateKey }],
      ] as const) {
        const client = await connectOrThrow({ port: keyed.port, version: 5, username: 'device', password: signJwt(claims, key) });
        await client.publishAsync(`keys/${name}`, name, { qos: 1 });
        await client.endAsync();
      }
      const records = await readRecords(keyTopic, 2);
      assert.deepEqual(records.map((r) => `${r.key?.toString()} ${headerText(r.headers, 'mqtt.topic')}`).sort(), ['pk-dev keys/es256', 'pk-dev keys/rs256']);
      for (const token of [
        signJwt(claims, { rs256: rsaKeys().privateKey }),
        signJwt(claims, { hs256: pem(rsa.publicKey) }),
        signJwt({ ...claims, aud: 'someone-else' }, { es256: ec.privateKey }),
      ]) {
        const outcome = await tryConnect({ port: keyed.port, version: 5, username: 'device', password: token, localAddress: freshAddress() });
        assert.deepEqual([outcome.connected, !outcome.connected && outcome.code], [false, 0x86]);
      }
      // Nothing else is accepted: no users file, no anonymous access.
      const anonymous = await tryConnect({ port: keyed.port, version: 4, localAddress: freshAddress() });
      assert.deepEqual([anonymous.connected, !anonymous.connected && anonymous.code], [false, 5]);

      // Key rotation: the file changes, the new key is in force without a restart.
      const rotated = ecKeys();
      writeFileSync(keyFile, pem(rotated.publicKey));
      await waitFor(() => keyed.logs.some((l) => l.msg === 'JWT keys reloaded'), 10000, 'key reload');
      const fresh = await connectOrThrow({ port: keyed.port, version: 5, username: 'device', password: signJwt(claims, { es256: rotated.privateKey }) });
      await fresh.endAsync();
      const retired = await tryConnect({ port: keyed.port, version: 5, username: 'device', password: signJwt(claims, { es256: ec.privateKey }), localAddress: freshAddress() });
      assert.equal(retired.connected, false, 'a token of the retired key is refused');
      // A broken key file is refused; the keys in force stay.
      writeFileSync(keyFile, 'not a key\n');
      await waitFor(() => keyed.logs.some((l) => l.msg === 'JWT keys not reloaded: keeping the previous keys'), 10000, 'refused key reload');
      const still = await connectOrThrow({ port: keyed.port, version: 5, username: 'device', password: signJwt(claims, { es256: rotated.privateKey }) });
      await still.endAsync();
    } finally {
      await keyed.stop();
    }
  });
});

describe('mosquitto_pub with a password', () => {
  const pub = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve) => {
      execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(proxy.port), ...args], { timeout: 15000 }, (error, _stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr });
      });
    });

  test('MQTT 3.1.1 and 5: the right password publishes to Kafka, a wrong one is refused with the reason mosquitto reports', async () => {
    for (const version of ['mqttv311', 'mqttv5'] as const) {
      const ok = await pub(['-V', version, '-q', '1', '-u', 'alice', '-P', ALICE_PASSWORD, '-t', `devices/alice/mosquitto-${version}`, '-m', version]);
      assert.equal(ok.code, 0, ok.stderr);
      const refused = await pub(['-V', version, '-q', '1', '-u', 'alice', '-P', 'wrong', '-t', 'devices/alice/refused', '-m', 'x']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /bad user name or password/i);
    }
    const records = await readRecords(topic, 1000, { timeoutMs: 3000, settleMs: 0 });
    const topics = records.map((r) => headerText(r.headers, 'mqtt.topic'));
    assert.ok(topics.includes('devices/alice/mosquitto-mqttv311') && topics.includes('devices/alice/mosquitto-mqttv5'));
    assert.ok(!topics.includes('devices/alice/refused'));
  });
});
