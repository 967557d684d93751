// Taking over the sessions of a lost replica: who does it, when, and what becomes of the wills.
// The store is an in-memory stand-in with the session store's shape (the logic is under test here;
// the real store on Kafka is in test/integration/sessions-replicas.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplicaLeases, type LeaseStore } from '../../src/delivery/replica-leases.js';
import type { ReplicaLease, StoredSession } from '../../src/state/session-store.js';
import { quietLogger } from '../helpers/reader.js';

function memoryStore(sessions: Record<string, StoredSession>, leases: ReplicaLease[]): LeaseStore & { sessions: Map<string, StoredSession> } {
  const map = new Map(Object.entries(sessions));
  const leaseMap = new Map(leases.map((l) => [l.replica, l]));
  return {
    sessions: map,
    get: (id) => map.get(id),
    entries: () => map.entries(),
    leases: () => new Map(leaseMap),
    set: async (id, s) => void map.set(id, s),
    delete: async (id) => void map.delete(id),
    renewLease: async (l) => void leaseMap.set(l.replica, l),
    dropLease: async (r) => void leaseMap.delete(r),
  };
}

const session = (owner: string, extra: Partial<StoredSession> = {}): StoredSession => ({
  connectionId: `conn-${owner}`, epoch: 1, owner, connected: true, expirySeconds: 300, subscriptions: [], positions: {}, inflight: [], inboundQoS2: [], ...extra,
});
const will = { topic: 'status/dev', payload: Buffer.from('gone').toString('base64'), qos: 1 as const, retain: false, delaySeconds: 0 };
const NOW = 1_000_000;
const lease = (replica: string, renewedAt: number): ReplicaLease => ({ replica, renewedAt, leaseMs: 15_000 });
const tick = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function leasesFor(replicaId: string, store: LeaseStore, published: string[]): ReplicaLeases {
  return new ReplicaLeases({ store, replicaId, logger: quietLogger(), publishWill: (clientId, _user, w) => published.push(`${clientId}:${w.payload.toString()}`) });
}

describe('replica leases', () => {
  it('the first live replica marks a lapsed replica\'s sessions disconnected at the lapse and publishes their wills', async () => {
    const store = memoryStore({ dev: session('a', { will }), other: session('b') }, [lease('a', NOW - 20_000), lease('b', NOW), lease('c', NOW)]);
    const published: string[] = [];
    leasesFor('b', store, published).check(NOW);
    await tick();
    const adopted = store.sessions.get('dev')!;
    assert.equal(adopted.connected, false);
    assert.equal(adopted.disconnectedAt, NOW - 5_000, 'disconnected when the lease lapsed');
    assert.equal(adopted.owner, 'b', 'the session is the taker\'s now');
    assert.equal(adopted.will, undefined, 'once published, the will is no longer in the record');
    assert.deepEqual(published, ['dev:gone']);
    assert.equal(store.sessions.get('other')!.connected, true, 'a live replica\'s session is left alone');
  });

  it('only the first live replica by name takes over', async () => {
    const store = memoryStore({ dev: session('a', { will }) }, [lease('a', NOW - 20_000), lease('b', NOW), lease('c', NOW)]);
    const published: string[] = [];
    leasesFor('c', store, published).check(NOW);
    await tick();
    assert.equal(store.sessions.get('dev')!.connected, true);
    assert.deepEqual(published, []);
  });

  it('a will with a delay waits for it, and is not published when the client connected again meanwhile', async () => {
    const delayed = { ...will, delaySeconds: 0.05 };
    const store = memoryStore({ dev: session('a', { will: delayed }) }, [lease('a', Date.now() - 15_000), lease('b', Date.now())]);
    const published: string[] = [];
    leasesFor('b', store, published).check(Date.now());
    await tick();
    store.sessions.set('dev', session('c', { connectionId: 'conn-new' }));
    await tick(80);
    assert.deepEqual(published, []);
  });

  it('a session with expiry 0 is deleted; a replica with no lease at all is lost only after two leases', async () => {
    const now = Date.now();
    const store = memoryStore({ brief: session('a', { expirySeconds: 0 }), orphan: session('ghost') }, [lease('a', now - 20_000), lease('b', now)]);
    const leases = leasesFor('b', store, []);
    leases.check(now);
    await tick();
    assert.equal(store.sessions.has('brief'), false);
    assert.equal(store.sessions.get('orphan')!.connected, true, 'this replica has not run two leases yet');
    const later = now + 31_000;
    await store.renewLease(lease('b', later));
    leases.check(later);
    await tick();
    assert.equal(store.sessions.get('orphan')!.connected, false);
  });

  it('MQTT-3.1.3-9: a will already waiting out its delay when its replica was lost is taken over, kept in the record until due, published then and dropped', async () => {
    const now = Date.now();
    const waiting = session('a', { connected: false, disconnectedAt: now - 1000, will: { ...will, delaySeconds: 1 }, willAt: now + 60 });
    const store = memoryStore({ dev: waiting, alive: session('c', { connected: false, will, willAt: now + 60, connectionId: 'conn-alive' }) }, [lease('a', now - 20_000), lease('b', now), lease('c', now)]);
    const published: string[] = [];
    leasesFor('b', store, published).check(now);
    await tick();
    const adopted = store.sessions.get('dev')!;
    assert.equal(adopted.owner, 'b');
    assert.equal(adopted.willAt, now + 60, 'due when it was due');
    assert.ok(adopted.will !== undefined, 'kept until published: if this replica is lost too, the next one publishes it');
    assert.deepEqual(published, [], 'not before it is due');
    await tick(100);
    assert.deepEqual(published, ['dev:gone'], 'published once, when due; the live replica\'s waiting will is left to it');
    assert.equal(store.sessions.get('dev')!.will, undefined, 'dropped from the record once published');
    assert.equal(store.sessions.get('alive')!.owner, 'c');
  });

  it('a waiting will taken over is not published when the client connects again before it is due', async () => {
    const now = Date.now();
    const store = memoryStore({ dev: session('a', { connected: false, disconnectedAt: now, will, willAt: now + 50 }) }, [lease('a', now - 20_000), lease('b', now)]);
    const published: string[] = [];
    leasesFor('b', store, published).check(now);
    await tick();
    store.sessions.set('dev', session('b', { connectionId: 'conn-back' }));
    await tick(80);
    assert.deepEqual(published, []);
  });
});
