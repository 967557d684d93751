import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { certificateIdentity, firstSubjectAltName } from '../../src/listeners/certificate-identity.js';

describe('client certificate identity', () => {
  it('is the subject CN', () => {
    assert.equal(certificateIdentity({ subject: { CN: 'device-1' }, subjectaltname: 'DNS:other' }), 'device-1');
    assert.equal(certificateIdentity({ subject: { CN: ['first', 'second'] } }), 'first');
  });
  it('falls back to the first SAN without a CN', () => {
    assert.equal(certificateIdentity({ subject: {}, subjectaltname: 'DNS:gw.example, IP Address:10.0.0.1' }), 'gw.example');
    assert.equal(certificateIdentity({ subject: { CN: '' }, subjectaltname: 'IP Address:10.0.0.1' }), '10.0.0.1');
    assert.equal(certificateIdentity({ subject: null, subjectaltname: 'URI:spiffe://org/device/7' }), 'spiffe://org/device/7');
    assert.equal(certificateIdentity({ subjectaltname: 'email:ops@example.org, DNS:x' }), 'ops@example.org');
  });
  it('reads values Node quotes', () => {
    assert.equal(firstSubjectAltName('DNS:"a,b.example", DNS:c'), 'a,b.example');
    assert.equal(firstSubjectAltName('URI:"http://x/\\"q\\"", DNS:c'), 'http://x/"q"');
    assert.equal(firstSubjectAltName('DNS:"broken'), undefined);
  });
  it('is undefined without either', () => {
    assert.equal(certificateIdentity(undefined), undefined);
    assert.equal(certificateIdentity(null), undefined);
    assert.equal(certificateIdentity({}), undefined);
    assert.equal(certificateIdentity({ subject: {}, subjectaltname: '' }), undefined);
    assert.equal(firstSubjectAltName('nocolon'), undefined);
    assert.equal(firstSubjectAltName('DNS:'), undefined);
  });
});
