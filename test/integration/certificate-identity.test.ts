// The certificate identity a TLS listener puts on the connection, through the engine and the access
// control, with a real MQTT client. (The TLS handshake itself is the TLS listener's test.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createAccessControl, type AccessControl } from '../../src/auth/access-control.js';
import { hashPassword } from '../../src/auth/password-hash.js';
import { parseConfig } from '../../src/server/load-config.js';
import { createMqttEngine, type MqttEngine } from '../../src/mqtt/engine.js';
import type { MqttSession } from '../../src/mqtt/types.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { connectOrThrow, tryConnect } from '../helpers/mqtt-connect.js';

const dir = mkdtempSync(join(tmpdir(), 'mkp-cert-'));
const usersFile = join(dir, 'users.yaml');
let server: net.Server;
let engine: MqttEngine;
let access: AccessControl;
const sessions: MqttSession[] = [];
const verdicts: string[] = [];
let port = 0;
/** The identity the next connection's "TLS listener" verified, as ConnectionInfo.certificateIdentity. */
let nextIdentity: string | undefined;

before(async () => {
  writeFileSync(
    usersFile,
    `users:\n  - username: dev-cert-1\n    password: '${await hashPassword('second-factor', { N: 1024, r: 8, p: 1 })}'\nacl:\n  authenticated: [{ allow: 'certs/%u/#' }]\n`,
  );
  const config = parseConfig(
    `mappings: [{ name: all, match: '.*', topic: t }]\nauth: { certificate: required, usersFile: ${usersFile} }\nhttp: { port: 0 }\n`,
    'test.yaml',
  );
  const logger = pino({ level: 'silent' });
  const metrics = createMetrics({ collectDefault: false });
  access = createAccessControl({ auth: config.auth, source: 'test.yaml', logger, metrics });
  engine = createMqttEngine({
    limits: config.limits,
    logger,
    metrics,
    hooks: {
      authenticate: async (request) => {
        const result = await access.authenticate(request);
        return result.accepted ? { accepted: true, username: result.username } : { accepted: false, code: result.code, reason: result.reason };
      },
      onPublish: (session, message, reply) => {
        sessions.push(session);
        verdicts.push(`${message.topic} ${access.authorizePublish(session, message.topic)}`);
        reply.accept();
      },
    },
  });
  await engine.start();
  server = net.createServer((socket) => {
    engine.handle(socket, { remoteAddress: socket.remoteAddress ?? '', listener: 'test', ...(nextIdentity !== undefined && { certificateIdentity: nextIdentity }) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  server.close();
  await engine.close();
  access.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('client certificate identity (auth.certificate: required)', () => {
  test('a client with a certificate and no password is known by the certificate identity: session username, %u in ACLs', async () => {
    nextIdentity = 'dev-cert-1';
    const client = await connectOrThrow({ port, version: 5, clientId: 'c1' });
    await client.publishAsync('certs/dev-cert-1/t', 'x', { qos: 1 });
    await client.publishAsync('certs/other/t', 'x', { qos: 1 });
    await client.endAsync();
    assert.equal(sessions.at(-1)?.username, 'dev-cert-1');
    assert.equal(sessions.at(-1)?.certificateIdentity, 'dev-cert-1');
    assert.deepEqual(verdicts.slice(-2), ['certs/dev-cert-1/t allow', 'certs/other/t deny']);
  });

  test('with a password as a second factor: it must be right and belong to the certificate identity', async () => {
    nextIdentity = 'dev-cert-1';
    const good = await connectOrThrow({ port, version: 4, username: 'dev-cert-1', password: 'second-factor' });
    await good.endAsync();
    const wrong = await tryConnect({ port, version: 5, username: 'dev-cert-1', password: 'nope', localAddress: '127.0.0.80' });
    assert.deepEqual([wrong.connected, !wrong.connected && wrong.code], [false, 0x86]);
    const other = await tryConnect({ port, version: 5, username: 'someone-else', password: 'second-factor', localAddress: '127.0.0.81' });
    assert.equal(other.connected, false);
  });

  test('a client without a certificate is refused: 0x87 (MQTT 5) / 5 (3.1.1), even with a good password', async () => {
    nextIdentity = undefined;
    const v5 = await tryConnect({ port, version: 5, username: 'dev-cert-1', password: 'second-factor', localAddress: '127.0.0.82' });
    assert.deepEqual([v5.connected, !v5.connected && v5.code], [false, 0x87]);
    const v4 = await tryConnect({ port, version: 4, localAddress: '127.0.0.83' });
    assert.deepEqual([v4.connected, !v4.connected && v4.code], [false, 5]);
  });
});
