import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { parsePublicKeys } from '../../src/auth/jwt-keys.js';
import { JwtVerifier, looksLikeJwt, type JwtFailureReason, type JwtVerifierOptions } from '../../src/auth/jwt.js';
import { ecKeys, rsaKeys, signJwt } from '../helpers/jwt.js';

const SECRET = Buffer.from('a-test-secret-that-is-32-bytes-long!!');
const NOW = 1_700_000_000_000;
const T = NOW / 1000;
const rsa = rsaKeys();
const ec = ecKeys();
const base: Omit<JwtVerifierOptions, 'secret' | 'publicKeys'> = { usernameClaim: 'sub', clockToleranceSeconds: 0, requireExpiry: true };
const good = { sub: 'dev-1', exp: T + 60 };

function failure(verifier: JwtVerifier, token: string): JwtFailureReason | 'valid' {
  const result = verifier.verify(token, NOW);
  return result.valid ? 'valid' : result.reason;
}

describe('JWT verifier: valid tokens', () => {
  it('HS256 with the secret: username from sub, expiry from exp', () => {
    const verifier = new JwtVerifier({ ...base, secret: SECRET });
    const result = verifier.verify(signJwt(good, { hs256: SECRET }), NOW);
    assert.ok(result.valid);
    assert.equal(result.username, 'dev-1');
    assert.equal(result.expiresAt, (T + 60) * 1000);
  });

  it('RS256 and ES256 with public keys; several keys (rotation) each verify', () => {
    const other = rsaKeys();
    const verifier = new JwtVerifier({ ...base, publicKeys: [other.publicKey, rsa.publicKey, ec.publicKey] });
    assert.deepEqual(verifier.algorithms, ['RS256', 'ES256']);
    assert.equal(failure(verifier, signJwt(good, { rs256: rsa.privateKey })), 'valid');
    assert.equal(failure(verifier, signJwt(good, { rs256: other.privateKey })), 'valid');
    assert.equal(failure(verifier, signJwt(good, { es256: ec.privateKey })), 'valid');
  });

  it('another username claim; issuer and audience (string or list) when configured', () => {
    const verifier = new JwtVerifier({ ...base, secret: SECRET, usernameClaim: 'device', issuer: 'https://idp', audience: 'mqtt' });
    const claims = { device: 'd-7', iss: 'https://idp', aud: ['other', 'mqtt'], exp: T + 10 };
    const result = verifier.verify(signJwt(claims, { hs256: SECRET }), NOW);
    assert.ok(result.valid);
    assert.equal(result.username, 'd-7');
    assert.equal(failure(verifier, signJwt({ ...claims, aud: 'mqtt' }, { hs256: SECRET })), 'valid');
  });

  it('clock tolerance applies to exp and nbf, and extends expiresAt', () => {
    const verifier = new JwtVerifier({ ...base, secret: SECRET, clockToleranceSeconds: 30 });
    const result = verifier.verify(signJwt({ sub: 'a', exp: T - 10, nbf: T + 20 }, { hs256: SECRET }), NOW);
    assert.ok(result.valid);
    assert.equal(result.expiresAt, (T + 20) * 1000);
  });

  it('without exp only when requireExpiry is false', () => {
    const lenient = new JwtVerifier({ ...base, secret: SECRET, requireExpiry: false });
    const result = lenient.verify(signJwt({ sub: 'a' }, { hs256: SECRET }), NOW);
    assert.ok(result.valid);
    assert.equal(result.expiresAt, undefined);
    assert.equal(failure(new JwtVerifier({ ...base, secret: SECRET }), signJwt({ sub: 'a' }, { hs256: SECRET })), 'missing-expiry');
  });
});

describe('JWT verifier: refused tokens', () => {
  const hs = new JwtVerifier({ ...base, secret: SECRET });
  const pk = new JwtVerifier({ ...base, publicKeys: [rsa.publicKey, ec.publicKey] });

  it('bad signatures: wrong secret, wrong key, altered payload, truncated or empty signature', () => {
    assert.equal(failure(hs, signJwt(good, { hs256: 'another-secret-of-32-bytes-or-more!!' })), 'bad-signature');
    assert.equal(failure(pk, signJwt(good, { rs256: rsaKeys().privateKey })), 'bad-signature');
    assert.equal(failure(pk, signJwt(good, { es256: ecKeys().privateKey })), 'bad-signature');
    const token = signJwt(good, { hs256: SECRET });
    const [h, , s] = token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ sub: 'admin', exp: T + 60 })).toString('base64url');
    assert.equal(failure(hs, `${h}.${forgedPayload}.${s}`), 'bad-signature');
    assert.equal(failure(hs, token.slice(0, -4)), 'bad-signature');
    assert.equal(failure(hs, `${h}.${token.split('.')[1]}.`), 'bad-signature');
    // ES256 in DER form (what sign() gives by default) is not JWS.
    const input = token.split('.').slice(0, 2).join('.').replace(h!, Buffer.from('{"alg":"ES256"}').toString('base64url'));
    const der = sign('sha256', Buffer.from(input), ec.privateKey).toString('base64url');
    assert.equal(failure(pk, `${input}.${der}`), 'bad-signature');
  });

  it('alg none is refused, signed or not', () => {
    assert.equal(failure(hs, signJwt(good, { none: true })), 'unsupported-algorithm');
    assert.equal(failure(pk, signJwt(good, { none: true })), 'unsupported-algorithm');
    assert.equal(failure(hs, signJwt(good, { hs256: SECRET }, { alg: 'none' })), 'unsupported-algorithm');
    assert.equal(failure(hs, signJwt(good, { hs256: SECRET }, { alg: 'NONE' })), 'unsupported-algorithm');
  });

  it('algorithm confusion: HS256 signed with the public key PEM as secret is refused', () => {
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
    assert.equal(failure(pk, signJwt(good, { hs256: pem })), 'unsupported-algorithm');
    const ecPem = ec.publicKey.export({ type: 'spki', format: 'pem' });
    assert.equal(failure(pk, signJwt(good, { hs256: ecPem })), 'unsupported-algorithm');
  });

  it('algorithm confusion: a token claiming RS256 is not checked with an EC key, nor ES256 with an RSA key', () => {
    const rsaOnly = new JwtVerifier({ ...base, publicKeys: [rsa.publicKey] });
    assert.equal(failure(rsaOnly, signJwt(good, { es256: ec.privateKey })), 'unsupported-algorithm');
    const ecOnly = new JwtVerifier({ ...base, publicKeys: [ec.publicKey] });
    assert.equal(failure(ecOnly, signJwt(good, { rs256: rsa.privateKey })), 'unsupported-algorithm');
    // An RSA signature presented as ES256 to a verifier with both keys.
    const token = signJwt(good, { rs256: rsa.privateKey });
    const [, p, s] = token.split('.');
    assert.equal(failure(pk, `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${p}.${s}`), 'bad-signature');
  });

  it('other algorithms (HS384, RS512, PS256, ES384, EdDSA) and crit headers are refused', () => {
    for (const alg of ['HS384', 'HS512', 'RS384', 'RS512', 'PS256', 'ES384', 'EdDSA', 'hs256']) {
      assert.equal(failure(hs, signJwt(good, { hs256: SECRET }, { alg })), 'unsupported-algorithm', alg);
    }
    assert.equal(failure(hs, signJwt(good, { hs256: SECRET }, { crit: ['exp'] })), 'unsupported-algorithm');
  });

  it('expired, and not yet valid', () => {
    assert.equal(failure(hs, signJwt({ sub: 'a', exp: T }, { hs256: SECRET })), 'expired');
    assert.equal(failure(hs, signJwt({ sub: 'a', exp: T - 1 }, { hs256: SECRET })), 'expired');
    assert.equal(failure(hs, signJwt({ sub: 'a', exp: T + 1, nbf: T + 1 }, { hs256: SECRET })), 'not-yet-valid');
    assert.equal(failure(hs, signJwt({ sub: 'a', exp: T + 1, nbf: T }, { hs256: SECRET })), 'valid');
  });

  it('wrong or missing issuer and audience', () => {
    const strict = new JwtVerifier({ ...base, secret: SECRET, issuer: 'idp', audience: 'mqtt' });
    assert.equal(failure(strict, signJwt({ ...good, iss: 'idp', aud: 'web' }, { hs256: SECRET })), 'wrong-audience');
    assert.equal(failure(strict, signJwt({ ...good, iss: 'idp', aud: ['web', 'api'] }, { hs256: SECRET })), 'wrong-audience');
    assert.equal(failure(strict, signJwt({ ...good, iss: 'idp' }, { hs256: SECRET })), 'wrong-audience');
    assert.equal(failure(strict, signJwt({ ...good, iss: 'evil', aud: 'mqtt' }, { hs256: SECRET })), 'wrong-issuer');
    assert.equal(failure(strict, signJwt({ ...good, aud: 'mqtt' }, { hs256: SECRET })), 'wrong-issuer');
  });

  it('missing or unusable username claim', () => {
    assert.equal(failure(hs, signJwt({ exp: T + 1 }, { hs256: SECRET })), 'missing-username');
    assert.equal(failure(hs, signJwt({ sub: '', exp: T + 1 }, { hs256: SECRET })), 'missing-username');
    assert.equal(failure(hs, signJwt({ sub: 42, exp: T + 1 }, { hs256: SECRET })), 'missing-username');
  });

  it('malformed: parts, encoding, JSON, claim types, size', () => {
    const mac = (input: string): string => `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    const b64 = (text: string): string => Buffer.from(text).toString('base64url');
    const cases = [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      '.e30.',
      `${b64('{"alg":"HS256"}')}..sig`,
      `${b64('{"alg":"HS256"}')}.e30=.sig`,
      `${b64('{"alg":"HS256"}')}.${b64('{}')}.si+g`,
      mac(`${b64('not json')}.${b64('{}')}`),
      mac(`${b64('[1]')}.${b64('{}')}`),
      mac(`${b64('{"alg":"HS256"}')}.${b64('"string"')}`),
      mac(`${b64('{"alg":"HS256"}')}.${b64('null')}`),
      mac(`${b64('{}')}.${b64('{}')}`),
      mac(`${b64('{"alg":"HS256"}')}.${b64(JSON.stringify({ sub: 'a', exp: 'tomorrow' }))}`),
      mac(`${b64('{"alg":"HS256"}')}.${b64(JSON.stringify({ sub: 'a', exp: T + 9, nbf: 'now' }))}`),
      mac(`${b64('{"alg":"HS256"}')}.${b64(JSON.stringify({ sub: 'a'.repeat(20000), exp: T + 9 }))}`),
    ];
    for (const token of cases) assert.equal(failure(hs, token), 'malformed', token.slice(0, 60));
  });

  it('looksLikeJwt tells tokens from passwords', () => {
    assert.ok(looksLikeJwt(signJwt(good, { hs256: SECRET })));
    assert.ok(looksLikeJwt(signJwt(good, { none: true })));
    for (const text of ['password', 'pass.word', 'a.b.c.d', 'a b.c.d', 'ab..cd', '']) assert.equal(looksLikeJwt(text), false, text);
  });

  it('a verifier cannot be built without a key, with a private key, or with another key type', () => {
    assert.throws(() => new JwtVerifier(base), /needs a secret or a public key/);
    assert.throws(() => new JwtVerifier({ ...base, secret: Buffer.alloc(0) }), /empty/);
    assert.throws(() => new JwtVerifier({ ...base, publicKeys: [rsa.privateKey] }), /public keys/);
    const ed = generateKeyPairSync('ed25519');
    assert.throws(() => new JwtVerifier({ ...base, publicKeys: [ed.publicKey] }), /RSA \(RS256\) or EC P-256/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    assert.throws(() => new JwtVerifier({ ...base, publicKeys: [p384.publicKey] }), /RSA \(RS256\) or EC P-256/);
  });
});

describe('JWT public key files', () => {
  const pem = (key: import('node:crypto').KeyObject): string => key.export({ type: 'spki', format: 'pem' }) as string;

  it('reads every PEM public key in a file', () => {
    const keys = parsePublicKeys(`# comment\n${pem(rsa.publicKey)}\n${pem(ec.publicKey)}`);
    assert.ok(Array.isArray(keys));
    assert.deepEqual(keys.map((k) => k.asymmetricKeyType), ['rsa', 'ec']);
  });

  it('refuses private keys, other key types and files without keys', () => {
    const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    assert.match((parsePublicKeys(privatePem) as { problem: string }).problem, /PRIVATE KEY: give the public key only/);
    assert.match((parsePublicKeys(pem(generateKeyPairSync('ed25519').publicKey)) as { problem: string }).problem, /only RSA/);
    assert.match((parsePublicKeys('nothing here') as { problem: string }).problem, /no PEM public key/);
    assert.match((parsePublicKeys('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----') as { problem: string }).problem, /cannot read/);
  });
});
