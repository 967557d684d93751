import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { Authenticator, type Credentials } from '../../src/auth/authenticator.js';
import { FailureDelay } from '../../src/auth/failure-delay.js';
import { JwtVerifier } from '../../src/auth/jwt.js';
import { hashPassword, isParsedHash, parsePasswordHash, verifyPassword } from '../../src/auth/password-hash.js';
import { parseUsersFile, type UsersDatabase } from '../../src/auth/users-file.js';
import { UsersStore } from '../../src/auth/users-store.js';
import { ConfigError } from '../../src/config/errors.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { signJwt } from '../helpers/jwt.js';

const FAST = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  it('hash then verify; a wrong password does not verify; salts differ', async () => {
    const hash = await hashPassword('correct horse', FAST);
    assert.match(hash, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    const parsed = parsePasswordHash(hash);
    assert.ok(isParsedHash(parsed));
    assert.equal(await verifyPassword('correct horse', parsed), true);
    assert.equal(await verifyPassword(Buffer.from('correct horse'), parsed), true);
    assert.equal(await verifyPassword('correct horsE', parsed), false);
    assert.equal(await verifyPassword('', parsed), false);
    assert.notEqual(await hashPassword('correct horse', FAST), hash);
  });

  it('the default parameters are self-described', async () => {
    assert.match(await hashPassword('x'), /^scrypt\$32768\$8\$1\$/);
  });

  it('refuses malformed or dangerous hashes with a reason', () => {
    const salt = Buffer.alloc(16, 1).toString('base64');
    const key = Buffer.alloc(32, 2).toString('base64');
    const problems: Array<[string, RegExp]> = [
      ['plain-password', /expected scrypt\$N\$r\$p\$SALT\$HASH/],
      [`bcrypt$1024$8$1$${salt}$${key}`, /expected scrypt/],
      [`scrypt$1000$8$1$${salt}$${key}`, /power of two/],
      [`scrypt$${2 ** 21}$8$1$${salt}$${key}`, /power of two from 2 to 1048576/],
      [`scrypt$1024$0$1$${salt}$${key}`, /r must be/],
      [`scrypt$1024$8$99$${salt}$${key}`, /p must be/],
      [`scrypt$1048576$32$1$${salt}$${key}`, /would need more than/],
      [`scrypt$1024$8$1$${salt}$not base64!`, /base64/],
      [`scrypt$1024$8$1$AAAA$${key}`, /salt must be at least 8 bytes/],
      [`scrypt$1024$8$1$${salt}$AAAA`, /hash must be 16 to 128 bytes/],
      [`scrypt$1024$8$1$${salt}`, /expected scrypt/],
    ];
    for (const [text, problem] of problems) {
      const parsed = parsePasswordHash(text);
      assert.ok(!isParsedHash(parsed), text);
      assert.match(parsed.problem, problem, text);
    }
  });
});

describe('users file', () => {
  it('reads users, hashes and ACLs', async () => {
    const hash = await hashPassword('pw', FAST);
    const db = parseUsersFile(
      `users:
  - username: alice
    password: '${hash}'
    acl:
      - allow: devices/%u/#
      - deny: '#'
  - username: jwt-only
acl:
  authenticated: [{ allow: 'shared/%c' }]
  anonymous: [{ allow: public/# }]
`,
      'users.yaml',
    );
    assert.deepEqual([...db.users.keys()], ['alice', 'jwt-only']);
    assert.equal(db.users.get('jwt-only')!.password, undefined);
    assert.ok(db.users.get('alice')!.password);
    assert.deepEqual(db.acl!.users.get('alice'), [
      { effect: 'allow', filter: 'devices/%u/#' },
      { effect: 'deny', filter: '#' },
    ]);
    assert.deepEqual(db.acl!.authenticated, [{ effect: 'allow', filter: 'shared/%c' }]);
    assert.deepEqual(db.acl!.anonymous, [{ effect: 'allow', filter: 'public/#' }]);
  });

  it('no rule anywhere: no ACL (every publish allowed); an empty file is an empty database', () => {
    assert.equal(parseUsersFile('users:\n  - username: a\n', 'u.yaml').acl, undefined);
    assert.equal(parseUsersFile('', 'u.yaml').users.size, 0);
    // A user with an empty acl list turns ACLs on (and so denies that user everything).
    assert.ok(parseUsersFile('users:\n  - username: a\n    acl: []\n', 'u.yaml').acl);
  });

  it('reports every problem with file and path', () => {
    const text = `users:
  - username: a
    password: nope
  - username: a
  - password: x
  - { username: b, acl: [{ allow: 'a/#/b' }, { permit: x }, { allow: x, deny: y }, { deny: }] }
  - { username: c, role: admin }
acl:
  everyone: []
extra: 1
`;
    assert.throws(
      () => parseUsersFile(text, 'users.yaml'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(
          error.problems.map((p) => `${p.file}: ${p.path}`),
          [
            'users.yaml: extra',
            'users.yaml: users[0].password',
            'users.yaml: users[1].username',
            'users.yaml: users[2].username',
            'users.yaml: users[3].acl[0].allow',
            'users.yaml: users[3].acl[1]',
            'users.yaml: users[3].acl[2]',
            'users.yaml: users[3].acl[3].deny',
            'users.yaml: users[4].role',
            'users.yaml: acl.everyone',
          ],
        );
        assert.match(error.message, /users\.yaml: users\[1\]\.username: "a" is listed twice/);
        assert.match(error.message, /quote # in YAML/);
        return true;
      },
    );
    assert.throws(() => parseUsersFile('users: [', 'u.yaml'), /u\.yaml: line 1, column \d+: YAML syntax error/);
    assert.throws(() => parseUsersFile('- a\n', 'u.yaml'), /u\.yaml: expected a mapping with users and acl/);
  });
});

describe('users store: reload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mkp-users-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });

  it('a missing or bad file at start is a ConfigError naming it', () => {
    assert.throws(() => new UsersStore({ file: join(dir, 'absent.yaml'), logger }), /absent\.yaml: cannot read the users file: no such file/);
    writeFileSync(join(dir, 'bad.yaml'), 'users: 3\n');
    assert.throws(() => new UsersStore({ file: join(dir, 'bad.yaml'), logger }), /bad\.yaml: users: expected a list/);
  });

  it('reload() applies a good file and keeps the previous one when the new one is bad', () => {
    const file = join(dir, 'users.yaml');
    writeFileSync(file, 'users:\n  - username: a\n');
    const metrics = createMetrics({ collectDefault: false });
    const store = new UsersStore({ file, logger, metrics });
    writeFileSync(file, 'users:\n  - username: a\n  - username: b\n');
    assert.equal(store.reload(), true);
    assert.deepEqual([...store.current.users.keys()], ['a', 'b']);
    writeFileSync(file, 'users:\n  - username: c\n    password: plain\n');
    assert.equal(store.reload(), false);
    assert.deepEqual([...store.current.users.keys()], ['a', 'b']);
    const refused = logs.find((l) => l.msg === 'users file not reloaded: keeping the previous users and ACLs');
    assert.ok(refused);
    assert.match(String(refused.problems), /users\[0\]\.password: expected scrypt/);
    store.close();
  });

  it('watch() picks up a change by itself', async () => {
    const file = join(dir, 'watched.yaml');
    writeFileSync(file, 'users:\n  - username: a\n');
    const store = new UsersStore({ file, logger, pollIntervalMs: 50, debounceMs: 20 });
    store.watch();
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      writeFileSync(file, 'users:\n  - username: a\n  - username: z\n');
      const deadline = Date.now() + 5000;
      while (!store.current.users.has('z') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      assert.ok(store.current.users.has('z'));
    } finally {
      store.close();
    }
  });
});

describe('failure delay', () => {
  const options = { initialMs: 100, maxMs: 700, forgetAfterMs: 1000, maxAddresses: 3 };

  it('doubles per failure up to the cap; other addresses unaffected', () => {
    const delay = new FailureDelay(options);
    assert.equal(delay.delayFor('a', 0), 0);
    assert.deepEqual([1, 2, 3, 4, 5].map((t) => delay.recordFailure('a', t)), [100, 200, 400, 700, 700]);
    assert.equal(delay.delayFor('a', 10), 700);
    assert.equal(delay.delayFor('b', 10), 0);
  });

  it('forgets an address after forgetAfterMs without failures', () => {
    const delay = new FailureDelay(options);
    delay.recordFailure('a', 0);
    delay.recordFailure('a', 500);
    assert.equal(delay.delayFor('a', 1499), 200);
    assert.equal(delay.delayFor('a', 1500), 0);
    assert.equal(delay.recordFailure('a', 1600), 100);
  });

  it('remembers at most maxAddresses, forgetting the least recently failing', () => {
    const delay = new FailureDelay(options);
    for (const [i, address] of ['a', 'b', 'c'].entries()) delay.recordFailure(address, i);
    delay.recordFailure('a', 10);
    delay.recordFailure('d', 11);
    assert.equal(delay.size, 3);
    assert.equal(delay.delayFor('b', 12), 0);
    assert.equal(delay.delayFor('a', 12), 200);
    assert.equal(delay.delayFor('c', 12), 100);
  });
});

describe('authenticator', async () => {
  const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
  const db: UsersDatabase = parseUsersFile(
    `users:
  - { username: alice, password: '${await hashPassword('alice-pw', FAST)}' }
  - { username: dev-cert, password: '${await hashPassword('cert-pw', FAST)}' }
  - { username: nopass }
`,
    'u.yaml',
  );
  const jwt = new JwtVerifier({ secret: SECRET, usernameClaim: 'sub', clockToleranceSeconds: 0, requireExpiry: true });
  const exp = Math.floor(Date.now() / 1000) + 60;
  const creds = (c: Partial<Credentials>): Credentials => ({
    clientId: 'c',
    username: undefined,
    password: undefined,
    remoteAddress: '10.0.0.1',
    certificateIdentity: undefined,
    ...c,
  });
  const pw = (text: string): Buffer => Buffer.from(text);
  const make = (o: Partial<ConstructorParameters<typeof Authenticator>[0]> = {}) =>
    new Authenticator({ anonymous: false, certificate: 'ignore', users: () => db, jwt: () => jwt, ...o });
  const outcome = async (a: Authenticator, c: Partial<Credentials>): Promise<string> => {
    const r = await a.authenticate(creds(c));
    return r.accepted ? `ok ${r.method} ${r.username ?? '-'}${r.expiresAt !== undefined ? ' expiring' : ''}` : `${r.code} ${r.reason}`;
  };

  it('passwords from the users file', async () => {
    const a = make();
    assert.equal(await outcome(a, { username: 'alice', password: pw('alice-pw') }), 'ok password alice');
    assert.equal(await outcome(a, { username: 'alice', password: pw('wrong') }), 'bad-credentials bad-password');
    assert.equal(await outcome(a, { username: 'mallory', password: pw('x') }), 'bad-credentials unknown-user');
    assert.equal(await outcome(a, { username: 'alice' }), 'bad-credentials no-password');
    assert.equal(await outcome(a, { username: 'nopass', password: pw('') }), 'bad-credentials no-password');
    assert.equal(await outcome(a, { password: pw('alice-pw') }), 'bad-credentials unknown-user');
  });

  it('JWTs as the password: identity from the token, not the MQTT username', async () => {
    const a = make();
    assert.equal(await outcome(a, { username: 'ignored', password: pw(signJwt({ sub: 'dev-9', exp }, { hs256: SECRET })) }), 'ok jwt dev-9 expiring');
    assert.equal(await outcome(a, { password: pw(signJwt({ sub: 'dev-9', exp: exp - 120 }, { hs256: SECRET })) }), 'bad-credentials expired-token');
    assert.equal(await outcome(a, { password: pw(signJwt({ sub: 'dev-9', exp }, { none: true })) }), 'bad-credentials invalid-token');
    // Without a users file, a password that is not a JWT is refused.
    const jwtOnly = make({ users: undefined });
    assert.equal(await outcome(jwtOnly, { username: 'alice', password: pw('alice-pw') }), 'bad-credentials invalid-token');
  });

  it('anonymous: only with anonymous true; with nothing configured everyone is let in as they say', async () => {
    assert.equal(await outcome(make(), {}), 'not-authorized anonymous-refused');
    assert.equal(await outcome(make({ anonymous: true }), {}), 'ok anonymous -');
    const open = new Authenticator({ anonymous: true, certificate: 'ignore' });
    assert.equal(await outcome(open, { username: 'whoever', password: pw('x') }), 'ok anonymous whoever');
  });

  it('certificates: identity alone, with a matching password or JWT, refused when mismatched or missing', async () => {
    const optional = make({ certificate: 'optional' });
    assert.equal(await outcome(optional, { certificateIdentity: 'dev-cert' }), 'ok certificate dev-cert');
    assert.equal(await outcome(optional, { certificateIdentity: 'dev-cert', password: pw('cert-pw') }), 'ok certificate dev-cert');
    assert.equal(await outcome(optional, { certificateIdentity: 'dev-cert', username: 'dev-cert', password: pw('cert-pw') }), 'ok certificate dev-cert');
    assert.equal(await outcome(optional, { certificateIdentity: 'dev-cert', password: pw('wrong') }), 'bad-credentials bad-password');
    assert.equal(await outcome(optional, { certificateIdentity: 'dev-cert', username: 'alice', password: pw('alice-pw') }), 'not-authorized certificate-mismatch');
    assert.equal(
      await outcome(optional, { certificateIdentity: 'dev-cert', password: pw(signJwt({ sub: 'other', exp }, { hs256: SECRET })) }),
      'not-authorized certificate-mismatch',
    );
    assert.equal(await outcome(optional, { certificateIdentity: 'dev-cert', password: pw(signJwt({ sub: 'dev-cert', exp }, { hs256: SECRET })) }), 'ok certificate dev-cert expiring');
    assert.equal(await outcome(optional, { username: 'alice', password: pw('alice-pw') }), 'ok password alice');
    const required = make({ certificate: 'required' });
    assert.equal(await outcome(required, { username: 'alice', password: pw('alice-pw') }), 'not-authorized no-certificate');
    assert.equal(await outcome(required, { certificateIdentity: 'x' }), 'ok certificate x');
    const ignored = make({ certificate: 'ignore' });
    assert.equal(await outcome(ignored, { certificateIdentity: 'dev-cert' }), 'not-authorized anonymous-refused');
  });

  it('repeated failures from one address wait longer and longer before being checked', async () => {
    const waits: number[] = [];
    const a = make({
      failureDelay: new FailureDelay({ initialMs: 100, maxMs: 400, forgetAfterMs: 60000, maxAddresses: 10 }),
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    for (let i = 0; i < 5; i++) await a.authenticate(creds({ username: 'alice', password: pw('bad') }));
    await a.authenticate(creds({ username: 'alice', password: pw('alice-pw'), remoteAddress: '10.0.0.2' }));
    const good = await a.authenticate(creds({ username: 'alice', password: pw('alice-pw') }));
    assert.ok(good.accepted);
    assert.deepEqual(waits, [100, 200, 400, 400, 400]);
  });
});
