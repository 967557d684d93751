import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AckSequencer } from '../../src/pipeline/ack-sequencer.js';

/** Small deterministic PRNG (mulberry32) so randomized tests replay identically. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

/** White-box: the length of the internal slot array, to prove compaction bounds memory. */
function slotCount(sequencer: AckSequencer): number {
  return (sequencer as unknown as { slots: unknown[] }).slots.length;
}

function reserveMany(sequencer: AckSequencer, n: number): number[] {
  return range(n).map(() => sequencer.reserve());
}

describe('AckSequencer: tickets', () => {
  test('reserve hands out consecutive tickets starting at 0', () => {
    const seq = new AckSequencer();
    assert.deepEqual(reserveMany(seq, 5), [0, 1, 2, 3, 4]);
  });

  test('ticket numbers keep increasing after the queue drained (never reused)', () => {
    const seq = new AckSequencer();
    const first = reserveMany(seq, 3);
    for (const t of first) seq.settle(t, () => undefined);
    assert.equal(seq.pending, 0);
    assert.deepEqual(reserveMany(seq, 3), [3, 4, 5]);
  });
});

describe('AckSequencer: in-order release', () => {
  test('settling the head releases it at once, synchronously', () => {
    const seq = new AckSequencer();
    const t = seq.reserve();
    let released = false;
    seq.settle(t, () => {
      released = true;
    });
    assert.equal(released, true);
    assert.equal(seq.pending, 0);
  });

  test('a later ticket waits for every earlier one', () => {
    const seq = new AckSequencer();
    const [a, b, c] = reserveMany(seq, 3) as [number, number, number];
    const order: string[] = [];
    seq.settle(c, () => order.push('c'));
    seq.settle(b, () => order.push('b'));
    assert.equal(order.length, 0);
    assert.equal(seq.pending, 3);
    seq.settle(a, () => order.push('a'));
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.equal(seq.pending, 0);
  });

  test('settling the head releases only the contiguous settled run behind it', () => {
    const seq = new AckSequencer();
    const t = reserveMany(seq, 5);
    const order: number[] = [];
    seq.settle(t[1]!, () => order.push(1));
    seq.settle(t[3]!, () => order.push(3));
    seq.settle(t[4]!, () => order.push(4));
    seq.settle(t[0]!, () => order.push(0));
    assert.deepEqual(order, [0, 1]);
    assert.equal(seq.pending, 3);
    seq.settle(t[2]!, () => order.push(2));
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    assert.equal(seq.pending, 0);
  });

  test('reverse settle order releases everything at the last settle, in reserve order', () => {
    const seq = new AckSequencer();
    const tickets = reserveMany(seq, 50);
    const order: number[] = [];
    for (const t of [...tickets].reverse()) {
      seq.settle(t, () => order.push(t));
      if (t !== 0) assert.equal(order.length, 0);
    }
    assert.deepEqual(order, tickets);
  });

  for (const seed of [1, 42, 2024, 0xdeadbeef]) {
    test(`random permutation of 1000 settles (seed ${seed}) releases in reserve order, as early as possible`, () => {
      const random = prng(seed);
      const seq = new AckSequencer();
      const tickets = reserveMany(seq, 1000);
      const settled = new Set<number>();
      const order: number[] = [];
      for (const t of shuffled(tickets, random)) {
        seq.settle(t, () => order.push(t));
        settled.add(t);
        // Exactly the longest settled prefix has been released, no more, no less.
        let prefix = 0;
        while (settled.has(prefix)) prefix++;
        assert.equal(order.length, prefix, `after settling ${t}`);
        assert.equal(seq.pending, 1000 - prefix);
      }
      assert.deepEqual(order, tickets);
    });
  }

  test('random interleaving of reserve and settle (seeded) keeps arrival order', () => {
    const random = prng(7);
    const seq = new AckSequencer();
    const outstanding: number[] = [];
    const reserved: number[] = [];
    const order: number[] = [];
    while (reserved.length < 2000 || outstanding.length > 0) {
      if (reserved.length < 2000 && (outstanding.length === 0 || random() < 0.55)) {
        const t = seq.reserve();
        reserved.push(t);
        outstanding.push(t);
      } else {
        const [t] = outstanding.splice(Math.floor(random() * outstanding.length), 1);
        seq.settle(t!, () => order.push(t!));
      }
      assert.equal(seq.pending, reserved.length - order.length);
    }
    assert.deepEqual(order, reserved);
    assert.deepEqual(reserved, range(2000));
  });
});

describe('AckSequencer: re-entrancy', () => {
  test('a release that reserves and settles a new ticket: it leaves after the current run, in the same settle call', () => {
    const seq = new AckSequencer();
    const [a, b] = reserveMany(seq, 2) as [number, number];
    const order: string[] = [];
    seq.settle(b, () => order.push('b'));
    seq.settle(a, () => {
      order.push('a');
      // Sending the ack let the engine read the next PUBLISH, which is answered at once.
      const c = seq.reserve();
      assert.equal(c, 2);
      seq.settle(c, () => order.push('c'));
      // Not released from inside a release: 'b' is still ahead of it.
      assert.deepEqual(order, ['a']);
    });
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.equal(seq.pending, 0);
  });

  test('a release that settles an earlier-reserved ticket lets it out right after itself', () => {
    const seq = new AckSequencer();
    const [a, b, c] = reserveMany(seq, 3) as [number, number, number];
    const order: string[] = [];
    seq.settle(c, () => order.push('c'));
    seq.settle(a, () => {
      order.push('a');
      seq.settle(b, () => order.push('b'));
    });
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.equal(seq.pending, 0);
  });

  test('a release that reserves without settling leaves that ticket pending, and it releases later', () => {
    const seq = new AckSequencer();
    const a = seq.reserve();
    let inner = -1;
    const order: number[] = [];
    seq.settle(a, () => {
      order.push(a);
      inner = seq.reserve();
    });
    assert.equal(inner, 1);
    assert.equal(seq.pending, 1);
    const next = seq.reserve();
    assert.equal(next, 2);
    seq.settle(next, () => order.push(next));
    assert.deepEqual(order, [0]);
    seq.settle(inner, () => order.push(inner));
    assert.deepEqual(order, [0, 1, 2]);
    assert.equal(seq.pending, 0);
  });

  test('deeply chained re-entrancy (each release reserves and settles the next) neither recurses nor reorders', () => {
    const seq = new AckSequencer();
    const order: number[] = [];
    const total = 20_000; // deep enough that real recursion would overflow the stack
    const chain = (t: number) => () => {
      order.push(t);
      if (t + 1 < total) {
        const next = seq.reserve();
        seq.settle(next, chain(next));
      }
    };
    const first = seq.reserve();
    seq.settle(first, chain(first));
    assert.equal(order.length, total);
    assert.deepEqual(order, range(total));
    assert.equal(seq.pending, 0);
  });

  test('the queue is consistent before each release runs (pending already excludes the released ticket)', () => {
    const seq = new AckSequencer();
    const tickets = reserveMany(seq, 4);
    const seen: number[] = [];
    for (const t of [...tickets].reverse()) seq.settle(t, () => seen.push(seq.pending));
    assert.deepEqual(seen, [3, 2, 1, 0]);
  });

  test('an error from a re-entrant bad settle propagates, and the sequencer keeps working', () => {
    const seq = new AckSequencer();
    const a = seq.reserve();
    assert.throws(
      () =>
        seq.settle(a, () => {
          seq.settle(a, () => undefined); // already released: a programming error
        }),
      /ack ticket 0 is not pending/,
    );
    const b = seq.reserve();
    let released = false;
    seq.settle(b, () => {
      released = true;
    });
    assert.equal(released, true);
    assert.equal(seq.pending, 0);
  });
});

describe('AckSequencer: misuse is refused', () => {
  test('settling a ticket twice while it waits throws, and the first release still runs once', () => {
    const seq = new AckSequencer();
    const [a, b] = reserveMany(seq, 2) as [number, number];
    const calls: string[] = [];
    seq.settle(b, () => calls.push('first'));
    assert.throws(() => seq.settle(b, () => calls.push('second')), { message: 'ack ticket 1 is not pending' });
    seq.settle(a, () => calls.push('a'));
    assert.deepEqual(calls, ['a', 'first']);
  });

  test('settling a ticket again after it was released throws', () => {
    const seq = new AckSequencer();
    const [a] = reserveMany(seq, 2) as [number, number];
    seq.settle(a, () => undefined);
    assert.throws(() => seq.settle(a, () => undefined), { message: 'ack ticket 0 is not pending' });
  });

  test('settling a ticket again after the queue drained (and was reset) throws', () => {
    const seq = new AckSequencer();
    const a = seq.reserve();
    seq.settle(a, () => undefined);
    assert.throws(() => seq.settle(a, () => undefined), /not pending/);
    // And a fresh ticket is unaffected.
    const b = seq.reserve();
    assert.equal(b, 1);
    seq.settle(b, () => undefined);
  });

  test('a ticket never reserved throws', () => {
    const seq = new AckSequencer();
    assert.throws(() => seq.settle(0, () => undefined), { message: 'ack ticket 0 is not pending' });
    seq.reserve();
    assert.throws(() => seq.settle(1, () => undefined), { message: 'ack ticket 1 is not pending' });
    assert.throws(() => seq.settle(99, () => undefined), /ack ticket 99 is not pending/);
    assert.throws(() => seq.settle(-1, () => undefined), /ack ticket -1 is not pending/);
    assert.equal(seq.pending, 1);
  });

  test('a refused settle changes nothing', () => {
    const seq = new AckSequencer();
    const [a, b] = reserveMany(seq, 2) as [number, number];
    const order: number[] = [];
    assert.throws(() => seq.settle(7, () => order.push(7)));
    assert.equal(seq.pending, 2);
    seq.settle(b, () => order.push(b));
    seq.settle(a, () => order.push(a));
    assert.deepEqual(order, [0, 1]);
  });
});

describe('AckSequencer: pending', () => {
  test('counts reserved-and-not-yet-released answers', () => {
    const seq = new AckSequencer();
    assert.equal(seq.pending, 0);
    const [a, b, c] = reserveMany(seq, 3) as [number, number, number];
    assert.equal(seq.pending, 3);
    seq.settle(b, () => undefined); // settled but held back: still pending
    assert.equal(seq.pending, 3);
    seq.settle(a, () => undefined);
    assert.equal(seq.pending, 1);
    seq.reserve();
    assert.equal(seq.pending, 2);
    seq.settle(c, () => undefined);
    assert.equal(seq.pending, 1);
  });
});

describe('AckSequencer: compaction past 1024 released slots', () => {
  test('a long run that never drains keeps releasing in order and its slot array stays bounded', () => {
    const seq = new AckSequencer();
    const order: number[] = [];
    const window: number[] = reserveMany(seq, 5);
    let maxSlots = 0;
    for (let i = 0; i < 10_000; i++) {
      // Always at least 4 tickets outstanding, so the "fully drained" reset never happens.
      const head = window.shift()!;
      seq.settle(head, () => order.push(head));
      window.push(seq.reserve());
      maxSlots = Math.max(maxSlots, slotCount(seq));
    }
    assert.deepEqual(order, range(10_000));
    assert.equal(seq.pending, 5);
    assert.ok(maxSlots <= 2 * 1025 + 10, `slot array grew to ${maxSlots}`);
    for (const t of [...window].reverse()) seq.settle(t, () => order.push(t));
    assert.deepEqual(order, range(10_005));
    assert.equal(seq.pending, 0);
  });

  test('tickets settled ahead of the head survive compaction and release once, in place', () => {
    const seq = new AckSequencer();
    const tickets = reserveMany(seq, 3000);
    const counts = new Map<number, number>();
    const order: number[] = [];
    const release = (t: number) => () => {
      order.push(t);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    };
    // Settled early: these sit in slots beyond the compaction point.
    for (const t of [2500, 2999, 1999, 1600]) seq.settle(t, release(t));
    for (let t = 0; t < 1600; t++) seq.settle(t, release(t));
    // Released 0..1600, so compaction (start > 1024 and more than half the array) has happened.
    assert.equal(order.length, 1601);
    assert.ok(slotCount(seq) < 3000, `expected compaction, slot array is ${slotCount(seq)}`);
    assert.equal(seq.pending, 3000 - 1601);
    // Old tickets are still refused, new ones still map to the right place.
    assert.throws(() => seq.settle(1000, () => undefined), /not pending/);
    assert.throws(() => seq.settle(2500, () => undefined), /not pending/);
    assert.equal(seq.reserve(), 3000);
    for (const t of shuffled(range(1399, 1601), prng(3))) {
      if (t === 1999 || t === 2500 || t === 2999) continue;
      seq.settle(t, release(t));
    }
    assert.equal(order.length, 3000);
    assert.equal(seq.pending, 1);
    seq.settle(3000, release(3000));
    assert.deepEqual(order, [...tickets, 3000]);
    assert.ok([...counts.values()].every((n) => n === 1));
    assert.equal(seq.pending, 0);
  });

  test('compaction in the middle of a settle with re-entrant reserves keeps the mapping right', () => {
    const seq = new AckSequencer();
    const tickets = reserveMany(seq, 2100);
    const order: number[] = [];
    const extra: number[] = [];
    // Settle 1..2099 first (held), then 0: one settle call releases 2100 tickets; each of the first
    // 50 releases reserves a new ticket and leaves it unsettled, so the queue does not drain.
    for (const t of tickets.slice(1)) {
      seq.settle(t, () => {
        order.push(t);
        if (t <= 50) extra.push(seq.reserve());
      });
    }
    seq.settle(0, () => order.push(0));
    assert.deepEqual(order, tickets);
    assert.equal(seq.pending, 50);
    assert.deepEqual(extra, range(50, 2100));
    // Compacted down to the 50 outstanding slots.
    assert.ok(slotCount(seq) <= 50, `slot array is ${slotCount(seq)}`);
    for (const t of shuffled(extra, prng(11))) seq.settle(t, () => order.push(t));
    assert.deepEqual(order, range(2150));
    assert.equal(seq.pending, 0);
  });
});
