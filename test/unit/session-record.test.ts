// The session record codec: what it writes reads back; what is not a session record is refused by name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LEASE_KEY_PREFIX, sessionCodec, sessionExpiresAt, type StoredSession } from '../../src/state/session-record.js';

const session: StoredSession = {
  connectionId: 'c-1', epoch: 3, owner: 'replica-a', connected: false, expirySeconds: 60, disconnectedAt: 1_000_000,
  subscriptions: [{ filter: 'devices/+/commands', qos: 1, noLocal: false, retainAsPublished: true, subscriptionIdentifier: 4 }],
  positions: { 'iot.commands': { '0': '18446744073709551615', '3': '0' } },
  inflight: [{ topic: 'iot.commands', partition: 0, offset: '17', qos: 2, packetId: 9, state: 'released' }],
  inboundQoS2: [5, 6],
};

describe('session record', () => {
  it('reads back what it wrote, 64-bit offsets included', () => {
    assert.deepEqual(sessionCodec.decode(sessionCodec.encode({ kind: 'session', session }), 'dev-1'), { kind: 'session', session });
    const lease = { replica: 'r-1', renewedAt: 5, leaseMs: 15000 };
    assert.deepEqual(sessionCodec.decode(sessionCodec.encode({ kind: 'lease', lease }), `${LEASE_KEY_PREFIX}r-1`), { kind: 'lease', lease });
    assert.throws(() => sessionCodec.decode(Buffer.from('{"v":1,"lease":{}}'), `${LEASE_KEY_PREFIX}r-1`), /lease .* malformed/);
  });

  it('refuses another version, a broken shape and a non-numeric offset, naming the client id', () => {
    const bad = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
    assert.throws(() => sessionCodec.decode(bad({ ...session, v: 2 }), 'dev-1'), /session dev-1: not a version 1/);
    assert.throws(() => sessionCodec.decode(bad({ v: 1, ...session, epoch: 'x' }), 'dev-1'), /session dev-1: epoch missing/);
    assert.throws(() => sessionCodec.decode(bad({ v: 1, ...session, positions: { t: { '0': '-1' } } }), 'dev-1'), /positions malformed/);
    assert.throws(() => sessionCodec.decode(bad({ v: 1, ...session, inflight: [{ topic: 't', offset: 1 }] }), 'dev-1'), /inflight malformed/);
    assert.throws(() => sessionCodec.decode(Buffer.from('{'), 'dev-1'));
  });

  it('expires Session Expiry Interval seconds after the connection ended; never while connected', () => {
    assert.equal(sessionExpiresAt(session), 1_060_000);
    assert.equal(sessionExpiresAt({ ...session, connected: true }), undefined);
  });
});
