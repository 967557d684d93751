import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Secret } from '../../src/config/types.js';
import { saslOptions } from '../../src/kafka/platformatic-client.js';
import { describeConnectFailure, tlsOptions } from '../../src/kafka/security.js';

const dir = mkdtempSync(join(tmpdir(), 'mkp-kafka-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('Kafka client security options', () => {
  it('none when not configured', () => {
    assert.equal(tlsOptions(null), undefined);
    assert.equal(saslOptions(null), undefined);
  });
  it('TLS options carry the PEM contents and the settings', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'CA-PEM');
    assert.deepEqual(tlsOptions({ ca, cert: null, key: null, rejectUnauthorized: true, servername: 'kafka.example' }), {
      rejectUnauthorized: true,
      ca: ['CA-PEM'],
      servername: 'kafka.example',
    });
    assert.deepEqual(tlsOptions({ ca: null, cert: null, key: null, rejectUnauthorized: false, servername: null }), { rejectUnauthorized: false });
  });
  it('SASL options reveal the password to the client only', () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      assert.deepEqual(saslOptions({ mechanism, username: 'u', password: new Secret('p') }), { mechanism: mechanism.toUpperCase(), username: 'u', password: 'p' });
    }
  });
  it('connection failures say what to check', () => {
    const sasl = new Error('SASL SCRAM SHA512 authentication failed: Authentication failed');
    assert.deepEqual(describeConnectFailure(sasl), {
      reason: "Kafka refused the proxy's SASL credentials (check kafka.sasl): SASL SCRAM SHA512 authentication failed: Authentication failed",
      misconfigured: true,
    });
    assert.equal(describeConnectFailure(new Error('self-signed certificate in certificate chain')).misconfigured, true);
    assert.match(describeConnectFailure(new Error('unable to verify the first certificate')).reason, /^TLS with Kafka failed \(check kafka\.ssl\)/);
    assert.deepEqual(describeConnectFailure(new Error('connect ECONNREFUSED 127.0.0.1:9092')), { reason: 'connect ECONNREFUSED 127.0.0.1:9092', misconfigured: false });
  });
});
