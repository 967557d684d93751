import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableMemoryBytes, inflightDefaults } from '../../src/config/memory.js';
import { InflightBudget, type InflightLimits } from '../../src/pipeline/inflight-budget.js';

const MIB = 1024 * 1024;

/** A budget whose pause/resume calls are recorded, and whose paused set is checked for consistency. */
function budget(limits: Partial<InflightLimits> = {}) {
  const events: string[] = [];
  const paused = new Set<string>();
  const b = new InflightBudget<string>(
    { maxMessages: 10, maxBytes: 1000, maxPerConnection: 4, lowWaterFraction: 0.5, globalPause: 'all', ...limits },
    {
      pause(c) {
        assert.ok(!paused.has(c), `${c} paused twice`);
        paused.add(c);
        events.push(`pause ${c}`);
      },
      resume(c) {
        assert.ok(paused.has(c), `${c} resumed while not paused`);
        paused.delete(c);
        events.push(`resume ${c}`);
      },
    },
  );
  const drain = (): string[] => events.splice(0);
  return { b, paused, drain };
}

describe('InflightBudget', () => {
  it('refuses nonsense limits', () => {
    const ok: InflightLimits = { maxMessages: 1, maxBytes: 1, maxPerConnection: 1, lowWaterFraction: 0, globalPause: 'all' };
    const reads = { pause() {}, resume() {} };
    assert.doesNotThrow(() => new InflightBudget(ok, reads));
    for (const bad of [
      { maxMessages: 0 },
      { maxBytes: 0 },
      { maxPerConnection: 0 },
      { maxMessages: 1.5 },
      { lowWaterFraction: 1 },
      { lowWaterFraction: -0.1 },
      { lowWaterFraction: Number.NaN },
    ]) {
      assert.throws(() => new InflightBudget({ ...ok, ...bad }, reads), RangeError, JSON.stringify(bad));
    }
  });

  it('counts messages and bytes taken and released', () => {
    const { b, drain } = budget();
    b.take('a', 10);
    b.take('a', 20);
    b.take('b', 5);
    assert.equal(b.messages, 3);
    assert.equal(b.bytes, 35);
    b.release('a', 10);
    b.release('b', 5);
    assert.equal(b.messages, 1);
    assert.equal(b.bytes, 20);
    assert.deepEqual(drain(), []);
    assert.throws(() => b.release('b', 5), /without a matching take/);
    assert.throws(() => b.release('nobody', 5), /without a matching take/);
  });

  it('pauses one connection at its own bound and resumes it at its low-water mark', () => {
    const { b, drain } = budget();
    b.attach('a');
    b.attach('b');
    for (let i = 0; i < 3; i++) b.take('a', 1);
    assert.deepEqual(drain(), []);
    b.take('a', 1); // 4 = maxPerConnection
    assert.deepEqual(drain(), ['pause a']);
    assert.equal(b.pausedConnections, 1);
    b.take('b', 1); // others unaffected
    assert.deepEqual(drain(), []);
    b.release('a', 1); // 3
    b.release('a', 1); // 2 = floor(4 * 0.5): resume
    assert.deepEqual(drain(), ['resume a']);
    assert.equal(b.pausedConnections, 0);
  });

  it('stops reading every connection at the global message bound, new ones too, and resumes all at the low-water mark', () => {
    const { b, paused, drain } = budget({ maxPerConnection: 100 });
    for (const c of ['a', 'b', 'c']) b.attach(c);
    for (let i = 0; i < 9; i++) b.take(i % 2 === 0 ? 'a' : 'b', 1);
    assert.deepEqual(drain(), []);
    b.take('a', 1); // 10
    assert.ok(b.isOverloaded);
    assert.deepEqual([...paused].sort(), ['a', 'b', 'c']);
    drain();
    b.attach('d');
    assert.deepEqual(drain(), ['pause d'], 'a client connecting at the bound is not read either');
    // Records already read still count (the bound is soft by what was read).
    b.take('c', 1);
    assert.deepEqual(drain(), []);
    for (let i = 0; i < 5; i++) b.release(i % 2 === 0 ? 'a' : 'b', 1); // 11 -> 6
    assert.ok(b.isOverloaded);
    assert.deepEqual(drain(), []);
    b.release('a', 1); // 5 = floor(10 * 0.5)
    assert.ok(!b.isOverloaded);
    assert.deepEqual(drain().sort(), ['resume a', 'resume b', 'resume c', 'resume d']);
    assert.equal(b.pausedConnections, 0);
  });

  it('applies the byte bound like the message bound; both must be at low water to resume', () => {
    const { b, drain } = budget({ maxPerConnection: 100 });
    b.attach('a');
    b.attach('b');
    b.take('a', 999);
    assert.deepEqual(drain(), []);
    b.take('b', 1); // 1000 bytes
    assert.deepEqual(drain().sort(), ['pause a', 'pause b']);
    for (let i = 0; i < 8; i++) b.take('b', 0); // 10 messages as well
    b.release('a', 999); // bytes 1, messages 9: messages still above 5
    assert.deepEqual(drain(), []);
    for (let i = 0; i < 3; i++) b.release('b', 0); // messages 6
    assert.deepEqual(drain(), []);
    b.release('b', 0); // messages 5, bytes 1
    assert.deepEqual(drain().sort(), ['resume a', 'resume b']);
  });

  it('keeps a connection over its own bound paused when the global bound clears, and vice versa', () => {
    const { b, drain } = budget({ maxMessages: 6, maxPerConnection: 4 });
    b.attach('a');
    b.attach('b');
    for (let i = 0; i < 4; i++) b.take('a', 1);
    assert.deepEqual(drain(), ['pause a']);
    b.take('b', 1);
    b.take('b', 1); // 6: global
    assert.deepEqual(drain(), ['pause b'], 'a is already paused: no second pause');
    b.release('b', 1);
    b.release('b', 1); // total 4; global low water = 3: not yet
    assert.deepEqual(drain(), []);
    b.release('a', 1); // total 3: global clears; a has 3 > own low water 2: stays paused
    assert.deepEqual(drain(), ['resume b']);
    b.release('a', 1); // a: 2
    assert.deepEqual(drain(), ['resume a']);
  });

  it('in offender mode pauses only the connections that take over the global bound', () => {
    const { b, drain } = budget({ globalPause: 'offender', maxPerConnection: 100 });
    b.attach('a');
    b.attach('quiet');
    for (let i = 0; i < 10; i++) b.take('a', 1);
    assert.deepEqual(drain(), ['pause a']);
    b.attach('new');
    assert.deepEqual(drain(), [], 'new connections are read');
    b.attach('b');
    b.take('b', 1);
    assert.deepEqual(drain(), ['pause b']);
    for (let i = 0; i < 6; i++) b.release('a', 1); // 5 left
    assert.deepEqual(drain().sort(), ['resume a', 'resume b']);
    assert.ok(!b.isOverloaded);
  });

  it('forgets a connection that went away, keeping its records counted until released', () => {
    const { b, drain } = budget({ maxMessages: 3, maxPerConnection: 2 });
    b.attach('a');
    b.take('a', 100);
    b.take('a', 100);
    assert.deepEqual(drain(), ['pause a']);
    assert.equal(b.pausedConnections, 1);
    b.detach('a');
    assert.equal(b.pausedConnections, 0);
    assert.equal(b.messages, 2);
    b.attach('b');
    b.take('b', 1); // 3: global bound; a is gone and not paused again
    assert.deepEqual(drain(), ['pause b']);
    b.release('a', 100);
    b.release('a', 100); // total 1 = floor(3 * 0.5)
    assert.deepEqual(drain(), ['resume b'], 'a gone: no resume for it');
    assert.equal(b.bytes, 1);
    b.detach('never-attached');
    b.detach('a'); // twice: nothing
    assert.equal(b.pausedConnections, 0);
  });

  it('counts records of a connection that is not attached (a will after its close) without pausing or keeping it', () => {
    const { b, drain } = budget({ maxPerConnection: 1, maxMessages: 2 });
    b.take('will', 1);
    assert.deepEqual(drain(), []);
    assert.equal(b.messages, 1);
    b.attach('a');
    b.take('will', 1); // 2: global bound pauses the attached connections only
    assert.deepEqual(drain(), ['pause a']);
    b.release('will', 1);
    b.release('will', 1);
    assert.deepEqual(drain(), ['resume a']);
    assert.equal(b.messages, 0);
    assert.throws(() => b.release('will', 1), /without a matching take/);
  });

  it('attaches a connection whose records were taken before it was attached', () => {
    const { b, drain } = budget({ maxPerConnection: 2 });
    b.take('early', 1);
    b.take('early', 1);
    assert.deepEqual(drain(), []);
    b.attach('early'); // already at its own bound
    assert.deepEqual(drain(), ['pause early']);
    b.release('early', 1); // 1 = floor(2 * 0.5)
    assert.deepEqual(drain(), ['resume early']);
  });

  it('with a low-water fraction of 0 resumes only when empty', () => {
    const { b, drain } = budget({ lowWaterFraction: 0, maxPerConnection: 2 });
    b.attach('a');
    b.take('a', 1);
    b.take('a', 1);
    assert.deepEqual(drain(), ['pause a']);
    b.release('a', 1);
    assert.deepEqual(drain(), []);
    b.release('a', 1);
    assert.deepEqual(drain(), ['resume a']);
  });

  it('agrees with a reference model over random operations', () => {
    // mulberry32: seeded, so a failure reproduces.
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    for (const globalPause of ['all', 'offender'] as const) {
      const limits = { maxMessages: 14, maxBytes: 400, maxPerConnection: 5, lowWaterFraction: 0.75, globalPause };
      const { b, paused } = budget(limits);
      const held = new Map<string, number[]>(); // records in flight per connection (their bytes)
      const attached = new Set<string>();
      const ownOver = new Set<string>();
      const global = new Set<string>();
      let overloaded = false;
      const trace: string[] = [];
      let overloads = 0;
      let ownPauses = 0;
      for (let step = 0; step < 60000; step++) {
        const c = `c${random(8)}`;
        const op = random(10);
        if (op === 0 && !attached.has(c)) {
          b.attach(c);
          attached.add(c);
          if ((held.get(c)?.length ?? 0) >= limits.maxPerConnection) ownOver.add(c);
          if (overloaded && globalPause === 'all') global.add(c);
        } else if (op === 1 && attached.has(c)) {
          b.detach(c);
          paused.delete(c); // a connection that went away is neither read nor resumed
          attached.delete(c);
          ownOver.delete(c);
          global.delete(c);
        } else if (op < 5) {
          const bytes = random(60);
          b.take(c, bytes);
          const list = held.get(c) ?? [];
          list.push(bytes);
          held.set(c, list);
          if (attached.has(c) && list.length >= limits.maxPerConnection && !ownOver.has(c)) {
            ownOver.add(c);
            ownPauses++;
          }
          const total = [...held.values()].reduce((n, l) => n + l.length, 0);
          const totalBytes = [...held.values()].flat().reduce((n, x) => n + x, 0);
          if (!overloaded && (total >= limits.maxMessages || totalBytes >= limits.maxBytes)) {
            overloaded = true;
            overloads++;
            if (globalPause === 'all') for (const a of attached) global.add(a);
          }
          if (overloaded && globalPause === 'offender' && attached.has(c)) global.add(c);
        } else {
          const list = held.get(c);
          if (list === undefined || list.length === 0) continue;
          const bytes = list.shift()!;
          if (list.length === 0) held.delete(c);
          b.release(c, bytes);
          if ((list.length) <= Math.floor(limits.maxPerConnection * limits.lowWaterFraction)) ownOver.delete(c);
          const total = [...held.values()].reduce((n, l) => n + l.length, 0);
          const totalBytes = [...held.values()].flat().reduce((n, x) => n + x, 0);
          if (
            overloaded &&
            total <= Math.floor(limits.maxMessages * limits.lowWaterFraction) &&
            totalBytes <= Math.floor(limits.maxBytes * limits.lowWaterFraction)
          ) {
            overloaded = false;
            global.clear();
          }
        }
        trace.push(`${step} op${op} ${c}`);
        if (trace.length > 12) trace.shift();
        const expected = new Set([...ownOver, ...global].filter((x) => attached.has(x)));
        assert.deepEqual([...paused].sort(), [...expected].sort(), `${globalPause} step ${step}: ${trace.join(' | ')}`);
        assert.equal(b.pausedConnections, expected.size);
        assert.equal(b.isOverloaded, overloaded);
        assert.equal(b.messages, [...held.values()].reduce((n, l) => n + l.length, 0));
        assert.equal(b.bytes, [...held.values()].flat().reduce((n, x) => n + x, 0));
      }
      // The walk must have crossed both kinds of bound many times to prove anything.
      assert.ok(overloads > 25 && ownPauses > 300, `${globalPause}: ${overloads} overloads, ${ownPauses} own pauses`);
    }
  });
});

describe('memory-derived in-flight defaults', () => {
  const files = (entries: Record<string, string>) => (path: string) => entries[path];

  it('reads the cgroup v2 limit, then v1, else the machine', () => {
    const total = 16 * 1024 * MIB;
    assert.equal(availableMemoryBytes(files({ '/sys/fs/cgroup/memory.max': '536870912\n' }), total), 512 * MIB);
    assert.equal(availableMemoryBytes(files({ '/sys/fs/cgroup/memory.max': 'max\n' }), total), total);
    assert.equal(
      availableMemoryBytes(files({ '/sys/fs/cgroup/memory.max': 'max\n', '/sys/fs/cgroup/memory/memory.limit_in_bytes': '1073741824' }), total),
      1024 * MIB,
    );
    assert.equal(availableMemoryBytes(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712' }), total), total);
    assert.equal(availableMemoryBytes(files({}), total), total);
    assert.equal(availableMemoryBytes(files({ '/sys/fs/cgroup/memory.max': '0' }), total), total);
    assert.equal(availableMemoryBytes(files({ '/sys/fs/cgroup/memory.max': '64000000000' }), total), total, 'never above the machine');
  });

  it('derives the bounds: a quarter of memory within [16 MiB, 1 GiB], 2 KiB per message within [1000, 100000]', () => {
    assert.deepEqual(inflightDefaults(512 * MIB), { maxInflightBytes: 128 * MIB, maxInflightMessages: 65536 });
    assert.deepEqual(inflightDefaults(32 * MIB), { maxInflightBytes: 16 * MIB, maxInflightMessages: 8192 });
    assert.deepEqual(inflightDefaults(16 * 1024 * MIB), { maxInflightBytes: 1024 * MIB, maxInflightMessages: 100000 });
    assert.deepEqual(inflightDefaults(1), { maxInflightBytes: 16 * MIB, maxInflightMessages: 8192 });
    assert.deepEqual(inflightDefaults(100 * MIB), { maxInflightBytes: 25 * MIB, maxInflightMessages: 12800 });
  });
});
