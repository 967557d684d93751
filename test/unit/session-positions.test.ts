// A persistent session's positions: what live records it is due, what it stores, what it had in flight.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionPositions } from '../../src/delivery/session-positions.js';

const noLive = (): undefined => undefined;
const none = (): number[] => [];

describe('SessionPositions', () => {
  it('a partition with no stored position takes every live record; one caught up takes those from its next offset', () => {
    const p = new SessionPositions();
    assert.equal(p.accepts('t', 0, 5n), true);
    p.delivered('t', 0, 5n, 1);
    assert.equal(p.accepts('t', 0, 5n), false, 'seen once');
    assert.equal(p.accepts('t', 0, 6n), true);
  });

  it('a stored partition is caught up first: live records wait until caughtUp, then those below the handover are not taken again', () => {
    const p = new SessionPositions({ t: { '0': '10' } });
    assert.deepEqual(p.catchUps(), [{ topic: 't', partition: 0, from: 10n }]);
    assert.equal(p.accepts('t', 0, 12n), false, 'while catching up');
    p.caughtUp('t', 0, 15n);
    assert.equal(p.accepts('t', 0, 14n), false, 'the catch-up had it');
    assert.equal(p.accepts('t', 0, 15n), true);
    assert.deepEqual(p.catchUps(), []);
  });

  it('stores the lowest unacknowledged offset, then the next one once everything is acknowledged', () => {
    const p = new SessionPositions();
    const a = p.delivered('t', 1, 3n, 1)!;
    const b = p.delivered('t', 1, 4n, 2)!;
    p.delivered('t', 1, 5n, 0);
    assert.deepEqual(p.stored(noLive, [], none), { t: { '1': '3' } });
    p.acknowledged(b);
    assert.deepEqual(p.stored(noLive, [], none), { t: { '1': '3' } }, 'in order: 3 is still open');
    p.acknowledged(a);
    assert.deepEqual(p.stored(noLive, [], none), { t: { '1': '6' } });
  });

  it('stores the live reader\'s position where it is further and nothing is pending, also for partitions never delivered from', () => {
    const p = new SessionPositions();
    p.delivered('t', 0, 3n, 0);
    const live = (topic: string, partition: number): bigint | undefined => (topic === 't' ? BigInt(100 + partition) : undefined);
    assert.deepEqual(p.stored(live, ['t', 'u'], () => [0, 1]), { t: { '0': '100', '1': '101' } });
  });

  it('a partition still catching up keeps its own position, whatever the live reader says', () => {
    const p = new SessionPositions({ t: { '0': '7' } });
    assert.deepEqual(p.stored(() => 50n, ['t'], () => [0]), { t: { '0': '7' } });
  });

  it('QoS 0 gives no token; passed records move the position without being pending', () => {
    const p = new SessionPositions();
    assert.equal(p.delivered('t', 0, 1n, 0), undefined);
    p.passed('t', 0, 9n);
    assert.deepEqual(p.stored(noLive, [], none), { t: { '0': '10' } });
  });

  it('lists what is pending with the window\'s packet identifier and state; what the window does not hold is queued', () => {
    const p = new SessionPositions();
    const a = p.delivered('t', 0, 1n, 1)!;
    const b = p.delivered('t', 0, 2n, 2)!;
    p.delivered('t', 0, 3n, 1);
    const window = new Map([[a, { packetId: 7, state: 'sent' as const }], [b, { packetId: 8, state: 'released' as const }]]);
    assert.deepEqual(p.inflight(window), [
      { topic: 't', partition: 0, offset: '1', qos: 1, state: 'sent', packetId: 7 },
      { topic: 't', partition: 0, offset: '2', qos: 2, state: 'released', packetId: 8 },
      { topic: 't', partition: 0, offset: '3', qos: 1, state: 'queued' },
    ]);
    assert.equal(p.pending('t', 0, 2n), b);
  });
});
