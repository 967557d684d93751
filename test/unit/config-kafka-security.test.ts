import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import { ConfigError, type ProxyConfig } from '../../src/config/index.js';
import { parseConfig } from '../../src/server/load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'mkp-kafka-security-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const CERT = file('cert.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const KEY = file('key.pem', '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
const NOT_PEM = file('notes.txt', 'hello\n');
const PASSWORD_FILE = file('password', 's3cret-from-file\n');

function parse(kafka: string): ProxyConfig {
  return parseConfig(`mappings: [{ name: all, match: '.', topic: t }]\nauth: { anonymous: true }\nkafka:\n${kafka}\n`, 'test.yaml');
}

function problems(kafka: string): string[] {
  try {
    parse(kafka);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems.map((p) => `${p.path}: ${p.problem}`);
  }
  assert.fail('expected a ConfigError');
}

describe('config: kafka.ssl', () => {
  it('is off by default', () => {
    const config = parse('  clientId: x');
    assert.equal(config.kafka.ssl, null);
    assert.equal(config.kafka.sasl, null);
    assert.equal(config.kafka.requireTopics, false);
  });
  it('true means TLS with the built-in CAs, verified', () => {
    assert.deepEqual(parse('  ssl: true').kafka.ssl, { ca: null, cert: null, key: null, rejectUnauthorized: true, servername: null });
    assert.equal(parse('  ssl: false').kafka.ssl, null);
  });
  it('takes PEM files, a server name and rejectUnauthorized', () => {
    const ssl = parse(`  ssl: { ca: ${CERT}, cert: ${CERT}, key: ${KEY}, rejectUnauthorized: false, servername: kafka.example }`).kafka.ssl;
    assert.deepEqual(ssl, { ca: CERT, cert: CERT, key: KEY, rejectUnauthorized: false, servername: 'kafka.example' });
  });
  it('names missing, unreadable and non-PEM files, and a cert without key', () => {
    assert.deepEqual(problems(`  ssl: { ca: ${join(dir, 'absent.pem')}, cert: ${NOT_PEM}, rejectUnauthorized: 'no' }`), [
      `kafka.ssl.ca: cannot read ${join(dir, 'absent.pem')}: no such file`,
      `kafka.ssl.cert: ${NOT_PEM} is not a PEM file with a CERTIFICATE block (expected a line "-----BEGIN ...CERTIFICATE-----")`,
      'kafka.ssl.key: is required with kafka.ssl.cert (the private key of the client certificate)',
      'kafka.ssl.rejectUnauthorized: expected true or false, got the string "no"',
    ]);
    assert.deepEqual(problems(`  ssl: { key: ${KEY} }`), ['kafka.ssl.cert: is required with kafka.ssl.key (the client certificate of that key)']);
  });
  it('refuses unknown keys and other types', () => {
    assert.match(problems('  ssl: { caFile: x }')[0]!, /^kafka\.ssl\.caFile: unknown key/);
    assert.match(problems('  ssl: yes please')[0]!, /^kafka\.ssl: expected a mapping/);
  });
});

describe('config: kafka.sasl', () => {
  it('reads the password inline, from a file (trailing newline dropped) or from the environment', () => {
    assert.equal(parse('  sasl: { mechanism: plain, username: u, password: p }').kafka.sasl?.password.reveal(), 'p');
    const fromFile = parse(`  sasl: { mechanism: scram-sha-256, username: u, passwordFile: ${PASSWORD_FILE} }`).kafka.sasl;
    assert.equal(fromFile?.mechanism, 'scram-sha-256');
    assert.equal(fromFile?.password.reveal(), 's3cret-from-file');
    assert.equal(parse('  sasl: { mechanism: SCRAM-SHA-512, username: u, password: p }').kafka.sasl?.mechanism, 'scram-sha-512');
    process.env.MKP_UNIT_SASL_PASSWORD = 'from-env';
    assert.equal(parse('  sasl: { mechanism: scram-sha-512, username: u, passwordEnv: MKP_UNIT_SASL_PASSWORD }').kafka.sasl?.password.reveal(), 'from-env');
  });
  it('never shows the password when the config is printed', () => {
    const config = parse('  sasl: { mechanism: plain, username: u, password: hunter2 }');
    assert.ok(!JSON.stringify(config).includes('hunter2'));
    assert.ok(!inspect(config, { depth: 10 }).includes('hunter2'));
    assert.ok(!String(config.kafka.sasl?.password).includes('hunter2'));
    assert.match(JSON.stringify(config.kafka.sasl), /"password":"\[redacted\]"/);
  });
  it('names every problem, without quoting the password', () => {
    assert.deepEqual(problems('  sasl: { username: u }'), [
      'kafka.sasl.mechanism: is required (one of plain, scram-sha-256, scram-sha-512)',
      'kafka.sasl.password: is required: give password, passwordFile (a file holding it) or passwordEnv (an environment variable holding it)',
    ]);
    assert.deepEqual(problems('  sasl: { mechanism: gssapi, username: u, password: topsecret, passwordEnv: X }'), [
      'kafka.sasl.mechanism: expected one of plain, scram-sha-256, scram-sha-512, got the string "gssapi"',
      'kafka.sasl: give only one of password, passwordEnv',
    ]);
    delete process.env.MKP_UNIT_ABSENT;
    assert.deepEqual(problems('  sasl: { mechanism: plain, password: x, passwordEnv: MKP_UNIT_ABSENT, user: u }').length, 3);
    assert.deepEqual(problems('  sasl: { mechanism: plain, username: u, passwordEnv: MKP_UNIT_ABSENT }'), [
      'kafka.sasl.passwordEnv: environment variable MKP_UNIT_ABSENT is not set or empty',
    ]);
    assert.deepEqual(problems(`  sasl: { mechanism: plain, username: u, passwordFile: ${join(dir, 'nope')} }`), [
      `kafka.sasl.passwordFile: cannot read ${join(dir, 'nope')}: no such file`,
    ]);
    assert.deepEqual(problems('  sasl: { mechanism: plain, username: u, password: 42 }'), ['kafka.sasl.password: expected a non-empty string']);
  });
});

describe('config: kafka.requireTopics', () => {
  it('is a boolean', () => {
    assert.equal(parse('  requireTopics: true').kafka.requireTopics, true);
    assert.deepEqual(problems('  requireTopics: 1'), ['kafka.requireTopics: expected true or false, got the number 1']);
  });
});
