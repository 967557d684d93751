/**
 * Secure defaults for an exposed proxy: the login bounds' config keys, TLS cipher lists, the
 * per-public-address connection cap, and the warning for anonymous access off loopback.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { anonymousExposure, isLoopbackHost, warnIfAnonymousExposed } from '../../src/auth/exposure.js';
import { ConfigError, DEFAULTS, type ProxyConfig } from '../../src/config/index.js';
import { DEFAULT_TLS_CIPHERS } from '../../src/config/listener-tls.js';
import { parseConfig } from '../../src/server/load-config.js';
import { isPublicAddress } from '../../src/listeners/address-scope.js';
import { createConnectionAdmission } from '../../src/listeners/connection-admission.js';
import { TestCertificates } from '../helpers/certs.js';

const BASE = `mappings: [{ name: all, match: '^(.*)$', topic: iot.all }]\n`;
const parse = (text: string): ProxyConfig => parseConfig(`${BASE}${text}`, 'test.yaml');

function problemsOf(text: string): string[] {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems.map((p) => `${p.path}: ${p.problem}`);
  }
  return [];
}

describe('config: auth.logins', () => {
  it('defaults: a bounded number of hashes at once from the cores, a queue of 32, 8 per address, a reserve of 1', () => {
    const { logins } = parse('auth: { anonymous: true }\n').auth;
    assert.deepEqual(logins, DEFAULTS.auth.logins);
    assert.ok(logins.maxConcurrentHashes >= 1 && logins.maxConcurrentHashes <= 3, String(logins.maxConcurrentHashes));
    assert.deepEqual(
      { ...logins, maxConcurrentHashes: 0 },
      { maxConcurrentHashes: 0, maxQueuedHashes: 32, maxPendingPerAddress: 8, knownGoodReserve: 1, knownGoodSeconds: 86400, maxKnownGood: 100000 },
    );
  });

  it('reads every key and refuses values out of range, naming the key', () => {
    const config = parse(
      'auth:\n  anonymous: true\n  logins: { maxConcurrentHashes: 4, maxQueuedHashes: 0, maxPendingPerAddress: 2, knownGoodReserve: 0, knownGoodSeconds: 60, maxKnownGood: 5 }\n',
    );
    assert.deepEqual(config.auth.logins, { maxConcurrentHashes: 4, maxQueuedHashes: 0, maxPendingPerAddress: 2, knownGoodReserve: 0, knownGoodSeconds: 60, maxKnownGood: 5 });
    assert.deepEqual(problemsOf('auth:\n  anonymous: true\n  logins: { maxConcurrentHashes: 0, maxPendingPerAddress: -1, queue: 3 }\n'), [
      'auth.logins.queue: unknown key (known keys here: maxConcurrentHashes, maxQueuedHashes, maxPendingPerAddress, knownGoodReserve, knownGoodSeconds, maxKnownGood)',
      'auth.logins.maxConcurrentHashes: expected an integer from 1 to 64, got the number 0',
      'auth.logins.maxPendingPerAddress: expected an integer from 1 to 100000, got the number -1',
    ]);
  });
});

describe('config: listeners[].tls.ciphers', () => {
  const certs = new TestCertificates();
  after(() => certs.remove());
  const ca = certs.createCa('ciphers-ca');
  const server = certs.issueServer(ca, 'ciphers-server');
  const tlsListener = (extra: string): string => `listeners:\n  - { protocol: tls, port: 8883, tls: { cert: ${server.certFile}, key: ${server.keyFile}${extra} } }\nauth: { anonymous: true }\n`;

  it('defaults to ECDHE with AEAD for TLS 1.2 and the TLS 1.3 suites: no CBC, no SHA-1, no RSA key exchange', () => {
    const config = parse(tlsListener(''));
    assert.equal(config.listeners[0]!.tls!.ciphers, DEFAULT_TLS_CIPHERS);
    for (const suite of DEFAULT_TLS_CIPHERS.split(':')) {
      assert.match(suite, /^(ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)|TLS_(AES_(128_GCM_SHA256|256_GCM_SHA384)|CHACHA20_POLY1305_SHA256))$/, suite);
    }
  });

  it('is configurable per listener; an unknown suite or a list without TLS 1.3 suites is refused', () => {
    const custom = 'ECDHE-ECDSA-AES256-GCM-SHA384:TLS_AES_256_GCM_SHA384';
    assert.equal(parse(tlsListener(`, ciphers: '${custom}'`)).listeners[0]!.tls!.ciphers, custom);
    const [unknown] = problemsOf(tlsListener(", ciphers: 'NO-SUCH-CIPHER:TLS_AES_128_GCM_SHA256'"));
    assert.match(unknown!, /^listeners\[0\]\.tls: cannot use .*cipher/i);
    assert.deepEqual(problemsOf(tlsListener(", ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256'")), [
      'listeners[0].tls.ciphers: lists no TLS 1.3 suite (TLS_AES_128_GCM_SHA256, ...): TLS 1.3 would be off; add them',
    ]);
  });
});

/** What the admission uses of a socket: destroy() and its one 'close'. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    setImmediate(() => this.emit('close'));
  }
}

describe('limits.maxConnectionsPerPublicAddress', () => {
  it('public means outside the private, loopback, link-local and shared ranges load balancers use', () => {
    for (const address of ['203.0.113.7', '8.8.8.8', '2001:db8::1', '172.32.0.1', '100.128.0.1']) assert.equal(isPublicAddress(address), true, address);
    for (const address of ['10.1.2.3', '172.16.0.1', '192.168.1.1', '127.0.0.1', '169.254.1.1', '100.64.0.1', '::1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1', 'unknown']) {
      assert.equal(isPublicAddress(address), false, address);
    }
  });

  it('is 1000 by default, and caps public addresses only; maxConnectionsPerAddress still caps every address', () => {
    assert.equal(parse('auth: { anonymous: true }\n').limits.maxConnectionsPerPublicAddress, 1000);
    const hits: string[] = [];
    const admission = createConnectionAdmission({ maxConnections: 0, maxConnectionsPerAddress: 0, maxConnectionsPerPublicAddress: 2 }, (limit) => hits.push(limit));
    const admit = (address: string) => admission.admit(new FakeSocket() as unknown as net.Socket, { listener: 'test', address, deadlineMs: 0 });
    assert.ok(admit('203.0.113.7') && admit('203.0.113.7'));
    assert.equal(admit('203.0.113.7'), undefined, 'a third from one public address');
    for (let i = 0; i < 10; i++) assert.ok(admit('10.0.0.5'), 'a load balancer on a private address is not capped');
    assert.deepEqual(hits, ['max-connections-per-address']);
    const both = createConnectionAdmission({ maxConnections: 0, maxConnectionsPerAddress: 3, maxConnectionsPerPublicAddress: 1 }, () => undefined);
    const admitBoth = (address: string) => both.admit(new FakeSocket() as unknown as net.Socket, { listener: 'test', address, deadlineMs: 0 });
    assert.ok(admitBoth('203.0.113.8'));
    assert.equal(admitBoth('203.0.113.8'), undefined, 'the smaller cap applies');
    assert.ok(admitBoth('10.0.0.6') && admitBoth('10.0.0.6') && admitBoth('10.0.0.6'));
    assert.equal(admitBoth('10.0.0.6'), undefined, 'maxConnectionsPerAddress applies to private addresses');
  });
});

describe('auth.anonymous: true off loopback', () => {
  const config = (anonymous: boolean, hosts: string[]): Pick<ProxyConfig, 'auth' | 'listeners'> => ({
    auth: { ...DEFAULTS.auth, anonymous },
    listeners: hosts.map((host, index) => ({ protocol: 'tcp', host, port: 1883 + index })),
  });

  it('loopback is 127.0.0.0/8, ::1 and localhost; everything else can be reached from elsewhere', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'mqtt.example.com', '128.0.0.1']) assert.equal(isLoopbackHost(host), false, host);
  });

  it('one warning at start names the listeners not on loopback; none with anonymous off or on loopback only', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    warnIfAnonymousExposed(config(true, ['127.0.0.1', '0.0.0.0', '::']), logger);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 40);
    assert.deepEqual(lines[0]!.listeners, ['tcp://0.0.0.0:1884', 'tcp://:::1885']);
    assert.match(String(lines[0]!.msg), /^auth\.anonymous is true and tcp:\/\/0\.0\.0\.0:1884, tcp:\/\/:::1885 are not on loopback/);
    warnIfAnonymousExposed(config(true, ['127.0.0.1', 'localhost']), logger);
    warnIfAnonymousExposed(config(false, ['0.0.0.0']), logger);
    assert.equal(lines.length, 1);
    assert.deepEqual(anonymousExposure(config(true, ['10.0.0.1'])).map((l) => l.host), ['10.0.0.1']);
  });
});
