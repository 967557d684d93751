import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableMemoryBytes, cgroupMemoryLimitFiles, inflightDefaults, memorySharingProcesses } from '../../src/config/memory.js';
import { InflightBudget, type InflightLimits } from '../../src/pipeline/inflight-budget.js';

const MIB = 1024 * 1024;

/** A budget whose pause/resume calls are recorded, and whose paused set is checked for consistency. */
function budget(limits: Partial<InflightLimits> = {}) {
  const events: string[] = [];
  const paused = new Set<string>();
  const b = new InflightBudget<string>(
    { maxMessages: 10, maxBytes: 1000, maxPerConnection: 4, maxBytesPerConnection: 1_000_000, lowWaterFraction: 0.5, globalPause: 'all', ...limits },
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
    const ok: InflightLimits = { maxMessages: 1, maxBytes: 1, maxPerConnection: 1, maxBytesPerConnection: 1, lowWaterFraction: 0, globalPause: 'all' };
    const reads = { pause() {}, resume() {} };
    assert.doesNotThrow(() => new InflightBudget(ok, reads));
    for (const bad of [
      { maxMessages: 0 },
      { maxBytes: 0 },
      { maxPerConnection: 0 },
      { maxBytesPerConnection: 0 },
      { maxBytesPerConnection: 2.5 },
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

  it('pauses one connection at its own byte bound; it resumes when both its bytes and records are at low water', () => {
    const { b, drain } = budget({ maxMessages: 100, maxBytes: 100_000, maxPerConnection: 10, maxBytesPerConnection: 1000 });
    b.attach('large');
    b.attach('small');
    b.take('large', 600);
    assert.deepEqual(drain(), []);
    b.take('large', 400); // 1000 bytes in 2 records: its byte bound, far below its record bound
    assert.deepEqual(drain(), ['pause large']);
    assert.ok(!b.isOverloaded, 'the global bound is far away');
    for (let i = 0; i < 8; i++) b.take('small', 10); // another connection keeps being read
    assert.deepEqual(drain(), []);
    b.release('large', 400); // 600 > floor(1000 * 0.5)
    assert.deepEqual(drain(), []);
    b.take('large', 1); // read before the pause took effect: counted, no second pause
    b.release('large', 600); // 1 byte, 1 record
    assert.deepEqual(drain(), ['resume large']);
    // Records at low water but bytes not: stays paused until the bytes follow.
    for (let i = 0; i < 3; i++) b.take('large', 400);
    assert.deepEqual(drain(), ['pause large']);
    b.release('large', 1);
    b.release('large', 400); // 2 records (<= 5) but 800 bytes (> 500)
    assert.deepEqual(drain(), []);
    b.release('large', 400); // 400 bytes
    assert.deepEqual(drain(), ['resume large']);
  });

  it('pauses a single record larger than the per-connection byte bound until Kafka answers it', () => {
    const { b, drain } = budget({ maxBytes: 1_000_000, maxBytesPerConnection: 1000 });
    b.attach('a');
    b.take('a', 5000);
    assert.deepEqual(drain(), ['pause a']);
    b.release('a', 5000);
    assert.deepEqual(drain(), ['resume a']);
  });

  it('pauses a connection attached after its bytes were taken when they are at its byte bound', () => {
    const { b, drain } = budget({ maxBytes: 1_000_000, maxBytesPerConnection: 1000 });
    b.take('early', 1000);
    assert.deepEqual(drain(), []);
    b.attach('early');
    assert.deepEqual(drain(), ['pause early']);
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
      const limits = { maxMessages: 14, maxBytes: 400, maxPerConnection: 5, maxBytesPerConnection: 120, lowWaterFraction: 0.75, globalPause };
      const sum = (list: readonly number[] | undefined): number => (list ?? []).reduce((n, x) => n + x, 0);
      const atOwnBound = (list: readonly number[] | undefined): boolean =>
        (list?.length ?? 0) >= limits.maxPerConnection || sum(list) >= limits.maxBytesPerConnection;
      const { b, paused } = budget(limits);
      const held = new Map<string, number[]>(); // records in flight per connection (their bytes)
      const attached = new Set<string>();
      const ownOver = new Set<string>();
      const global = new Set<string>();
      let overloaded = false;
      const trace: string[] = [];
      let overloads = 0;
      let ownPauses = 0;
      let ownBytePauses = 0;
      for (let step = 0; step < 60000; step++) {
        const c = `c${random(8)}`;
        const op = random(10);
        if (op === 0 && !attached.has(c)) {
          b.attach(c);
          attached.add(c);
          if (atOwnBound(held.get(c))) ownOver.add(c);
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
          if (attached.has(c) && atOwnBound(list) && !ownOver.has(c)) {
            ownOver.add(c);
            ownPauses++;
            if (list.length < limits.maxPerConnection) ownBytePauses++;
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
          if (
            list.length <= Math.floor(limits.maxPerConnection * limits.lowWaterFraction) &&
            sum(list) <= Math.floor(limits.maxBytesPerConnection * limits.lowWaterFraction)
          ) {
            ownOver.delete(c);
          }
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
      assert.ok(
        overloads > 25 && ownPauses > 300 && ownBytePauses > 100 && ownPauses - ownBytePauses > 100,
        `${globalPause}: ${overloads} overloads, ${ownPauses} own pauses (${ownBytePauses} by bytes)`,
      );
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

  it('follows the process\'s own cgroup v2 and its ancestors; the smallest limit wins', () => {
    const total = 16 * 1024 * MIB;
    const self = '0::/kubepods.slice/pod-1.slice/cri-abc.scope\n';
    assert.equal(
      availableMemoryBytes(files({ '/proc/self/cgroup': self, '/sys/fs/cgroup/kubepods.slice/pod-1.slice/cri-abc.scope/memory.max': '268435456\n' }), total),
      256 * MIB,
    );
    // The pod's limit, one level up, is smaller than the container's own (which is "max").
    assert.equal(
      availableMemoryBytes(
        files({
          '/proc/self/cgroup': self,
          '/sys/fs/cgroup/kubepods.slice/pod-1.slice/cri-abc.scope/memory.max': 'max\n',
          '/sys/fs/cgroup/kubepods.slice/pod-1.slice/memory.max': '536870912\n',
          '/sys/fs/cgroup/kubepods.slice/memory.max': '8589934592\n',
        }),
        total,
      ),
      512 * MIB,
    );
    // In a cgroup namespace the path is "/": the mount's root is the container's cgroup.
    assert.equal(availableMemoryBytes(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': '1073741824' }), total), 1024 * MIB);
  });

  it('follows the process\'s own cgroup v1 memory controller, also when listed with others', () => {
    const total = 16 * 1024 * MIB;
    const self = ['12:pids:/docker/abc', '4:cpu,memory:/docker/abc', '1:name=systemd:/docker/abc', ''].join('\n');
    assert.equal(
      availableMemoryBytes(files({ '/proc/self/cgroup': self, '/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': '805306368\n' }), total),
      768 * MIB,
    );
    // The host's path does not exist under the container's mount: its root is the container's cgroup.
    assert.equal(
      availableMemoryBytes(files({ '/proc/self/cgroup': self, '/sys/fs/cgroup/memory/memory.limit_in_bytes': '805306368\n' }), total),
      768 * MIB,
    );
    // "No limit" everywhere: the machine.
    assert.equal(
      availableMemoryBytes(
        files({ '/proc/self/cgroup': self, '/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': '9223372036854771712', '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712' }),
        total,
      ),
      total,
    );
  });

  it('lists the limit files of the own cgroup, its ancestors and the mount roots; ignores paths that climb out', () => {
    assert.deepEqual(cgroupMemoryLimitFiles('0::/a/b\n'), [
      '/sys/fs/cgroup/a/b/memory.max',
      '/sys/fs/cgroup/a/memory.max',
      '/sys/fs/cgroup/memory.max',
      '/sys/fs/cgroup/memory/memory.limit_in_bytes',
    ]);
    assert.deepEqual(cgroupMemoryLimitFiles('7:memory:/x\n0::/\n'), [
      '/sys/fs/cgroup/memory/x/memory.limit_in_bytes',
      '/sys/fs/cgroup/memory/memory.limit_in_bytes',
      '/sys/fs/cgroup/memory.max',
    ]);
    assert.deepEqual(cgroupMemoryLimitFiles(undefined), ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']);
    assert.deepEqual(cgroupMemoryLimitFiles('0::/../../etc\ngarbage\n'), ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']);
  });

  it('divides the memory among the processes sharing it (--workers N)', () => {
    // 4 GiB for 4 workers: each gets the defaults of 1 GiB, together a quarter of the memory as one process would.
    assert.deepEqual(inflightDefaults(4096 * MIB, 4), inflightDefaults(1024 * MIB));
    assert.deepEqual(inflightDefaults(4096 * MIB, 4), { maxInflightBytes: 256 * MIB, maxInflightMessages: 100000 });
    assert.deepEqual(inflightDefaults(4096 * MIB, 1), { maxInflightBytes: 1024 * MIB, maxInflightMessages: 100000 });
    assert.deepEqual(inflightDefaults(512 * MIB, 2), { maxInflightBytes: 64 * MIB, maxInflightMessages: 32768 });
    // 16 GiB for 4: each a quarter of its 4 GiB share, at the 1 GiB cap.
    assert.deepEqual(inflightDefaults(16 * 1024 * MIB, 4), { maxInflightBytes: 1024 * MIB, maxInflightMessages: 100000 });
    // The 16 MiB floor still holds per process.
    assert.deepEqual(inflightDefaults(64 * MIB, 8), { maxInflightBytes: 16 * MIB, maxInflightMessages: 8192 });
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => inflightDefaults(512 * MIB, bad), RangeError);
  });

  it('reads how many processes share the memory from the variable the --workers primary sets', () => {
    assert.equal(memorySharingProcesses({}), 1);
    assert.equal(memorySharingProcesses({ MKP_WORKER_COUNT: '4' }), 4);
    for (const unreadable of ['0', '-2', 'two', '1.5', '']) assert.equal(memorySharingProcesses({ MKP_WORKER_COUNT: unreadable }), 1, unreadable);
  });
});
