import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddressFromForwardedFor } from '../../src/listeners/forwarded-for.js';
import { CidrSet } from '../../src/common/ip-address.js';

const trusted = CidrSet.parse(['10.0.0.0/8', 'fd00::/8']);
const from = (peer: string, header: string | string[] | undefined): string => clientAddressFromForwardedFor(peer, header, trusted);

describe('X-Forwarded-For', () => {
  it('is ignored from a peer that is not a trusted proxy', () => {
    assert.equal(from('203.0.113.1', '198.51.100.7'), '203.0.113.1');
    assert.equal(from('::ffff:203.0.113.1', '198.51.100.7'), '203.0.113.1');
  });
  it('gives the peer when a trusted proxy sends none', () => {
    assert.equal(from('10.0.0.1', undefined), '10.0.0.1');
    assert.equal(from('10.0.0.1', ''), '10.0.0.1');
  });
  it('takes the rightmost untrusted entry (left of it may be forged by the client)', () => {
    assert.equal(from('10.0.0.1', '198.51.100.7'), '198.51.100.7');
    assert.equal(from('10.0.0.1', '6.6.6.6, 198.51.100.7'), '198.51.100.7');
    assert.equal(from('10.0.0.1', '6.6.6.6, 198.51.100.7, 10.0.0.2'), '198.51.100.7');
    assert.equal(from('10.0.0.1', ['6.6.6.6', '198.51.100.7, 10.0.0.9']), '198.51.100.7', 'repeated headers');
  });
  it('gives the leftmost when every hop is trusted', () => {
    assert.equal(from('10.0.0.1', '10.0.0.3, 10.0.0.2'), '10.0.0.3');
  });
  it('reads IPv6 and ports', () => {
    assert.equal(from('fd00::1', '2001:DB8::7'), '2001:db8::7');
    assert.equal(from('10.0.0.1', '[2001:db8::7]:4711'), '2001:db8::7');
    assert.equal(from('10.0.0.1', '198.51.100.7:4711'), '198.51.100.7');
    assert.equal(from('10.0.0.1', '::ffff:198.51.100.7'), '198.51.100.7');
  });
  it('stops at garbage: the last hop that could be named is the answer', () => {
    assert.equal(from('10.0.0.1', 'unknown'), '10.0.0.1');
    assert.equal(from('10.0.0.1', '198.51.100.7, _hidden'), '10.0.0.1');
    assert.equal(from('10.0.0.1', 'garbage, 10.0.0.2'), '10.0.0.2');
    assert.equal(from('10.0.0.1', '[2001:db8::7'), '10.0.0.1');
    assert.equal(from('10.0.0.1', '[2001:db8::7]x'), '10.0.0.1');
    assert.equal(from('10.0.0.1', '1.2.3.4:port'), '10.0.0.1');
    assert.equal(from('10.0.0.1', ' , ,198.51.100.7'), '198.51.100.7', 'empty entries are skipped');
  });
});
