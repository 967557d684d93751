// auth.jwt.secretFile: the HS256 secret comes from the file (one trailing line break is not part
// of it), and a reload reads the file again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { createAccessControl } from '../../src/auth/access-control.js';
import { loadConfig } from '../../src/server/load-config.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { nowSeconds, signJwt } from '../helpers/jwt.js';

const dir = mkdtempSync(join(tmpdir(), 'mkp-jwt-secret-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FIRST = 'first-secret-from-a-file-of-at-least-32-bytes';
const SECOND = 'second-secret-after-rotation-at-least-32-bytes';

test('the secret is read from secretFile without its trailing newline; a changed file is in force after reload()', async () => {
  const secretFile = join(dir, 'jwt-secret');
  writeFileSync(secretFile, `${FIRST}\n`);
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, `mappings: [{ name: all, match: '^(.*)$', topic: t }]\nauth: { jwt: { secretFile: ./jwt-secret } }\n`);
  const config = loadConfig(configFile);
  assert.equal(config.auth.jwt?.secretFile, secretFile, 'relative to the configuration file');

  // A watch interval of an hour: only reload() can see the change.
  const access = createAccessControl({ auth: config.auth, source: config.source, logger: pino({ level: 'silent' }), metrics: createMetrics(), watchIntervalMs: 3_600_000 });
  try {
    const login = async (secret: string): Promise<boolean> => {
      const token = signJwt({ sub: 'device-9', exp: nowSeconds() + 60 }, { hs256: secret });
      const result = await access.authenticate({
        clientId: 'c',
        username: 'device-9',
        password: Buffer.from(token),
        protocolVersion: 5,
        remoteAddress: '127.0.0.1',
        listener: 'tcp:1883',
        certificateIdentity: undefined,
      });
      return result.accepted;
    };
    assert.equal(await login(FIRST), true, 'signed with the file content');
    assert.equal(await login(`${FIRST}\n`), false, 'the trailing newline is not part of the secret');

    writeFileSync(secretFile, `${SECOND}\r\n`);
    assert.equal(await login(SECOND), false, 'not before a reload');
    assert.equal(access.reload(), true);
    assert.equal(await login(SECOND), true, 'the new secret after reload');
    assert.equal(await login(FIRST), false, 'the old one no longer');

    // A secret file that became too short is refused; the secret in force stays.
    writeFileSync(secretFile, 'short\n');
    assert.equal(access.reload(), false);
    assert.equal(await login(SECOND), true);
  } finally {
    access.close();
  }
});
